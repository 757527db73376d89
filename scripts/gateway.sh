#!/usr/bin/env bash
# Gateway evidence on loopback (docs/BENCHMARKS.md §14, docs/GATEWAY.md):
#   1. three `tempo serve --engine sim` replicas (policy tempo) behind `tempo gateway`, once per router, with the same
#      `tempo bench` run each time: attainment and goodputs per class;
#   2. the same with the tempo router and one replica killed (SIGKILL) mid-run: answered, failed and duplicated counts;
#   3. overhead: a light chat load straight to one replica and through a gateway in front of it (TTFT p50/p99), and
#      the most requests per second the gateway passes with tiny answers.
# Writes docs/results/gateway/ (or OUT). Environment: RATE (12), REQUESTS (240), SEED (42), OUT, NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/gateway}
source scripts/gateway_lib.sh
rate=${RATE:-12}
n=${REQUESTS:-240}
seed=${SEED:-42}

for p in 8101 8102 8103; do replica "$p"; done
port=8110
for router in round-robin least-loaded tempo; do
  echo "== $router" >&2
  gateway "$router" "$port" 8101 8102 8103
  tempo bench --url "http://127.0.0.1:$port" --workload mixed --rate "$rate" --requests "$n" --seed "$seed" --label "$router" \
    --format csv > "$out/bench-$router.csv" 2> "$out/bench-$router.log"
  curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-$router.txt"
  kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
  port=$((port + 1))
done

echo "== tempo router, replica 8103 killed mid-run" >&2
gateway tempo "$port" 8101 8102 8103
tempo bench --url "http://127.0.0.1:$port" --workload mixed --rate "$rate" --requests "$n" --seed "$seed" --label tempo-one-killed \
  --format csv --records "$out/records-killed.csv" > "$out/bench-killed.csv" 2> "$out/bench-killed.log" &
bench_pid=$!
sleep 12
kill -9 "${pids[2]}"
wait "$bench_pid" || true
curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-killed.txt"
kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
port=$((port + 1))

echo "== overhead" >&2
tempo bench --url "http://127.0.0.1:8101" --workload chat --rate 2 --requests 60 --seed "$seed" --label direct --format csv > "$out/overhead-direct.csv" 2>/dev/null
gateway tempo "$port" 8101
tempo bench --url "http://127.0.0.1:$port" --workload chat --rate 2 --requests 60 --seed "$seed" --label gateway --format csv > "$out/overhead-gateway.csv" 2>/dev/null
tempo bench --url "http://127.0.0.1:$port" --workload chat --rate 2 --requests 60 --seed "$seed" --label gateway-2 --format csv > "$out/overhead-gateway-2.csv" 2>/dev/null
tempo bench --url "http://127.0.0.1:8101" --workload chat --rate 2 --requests 60 --seed "$seed" --label direct-2 --format csv > "$out/overhead-direct-2.csv" 2>/dev/null
echo "gateway evidence written to $out" >&2
