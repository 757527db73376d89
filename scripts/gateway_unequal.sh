#!/usr/bin/env bash
# The routers behind `tempo gateway` on unequal replicas (docs/BENCHMARKS.md §19): three `tempo serve --engine sim`
# replicas, the third paced 3x slower (--sim-speed 0.333), and the same `tempo bench` run through a gateway with each
# router. Writes docs/results/gateway-unequal/ (or OUT). Environment: RATE (8), REQUESTS (240), SEED (42), ROUTERS (the
# order), NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/gateway-unequal}
mkdir -p "$out"
[[ -n "${NO_BUILD:-}" ]] || dotnet build src/Tempo.Cli -c Release -v q >/dev/null
dll=src/Tempo.Cli/bin/Release/net10.0/tempo.dll
rate=${RATE:-8}
n=${REQUESTS:-240}
seed=${SEED:-42}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
healthy() { for _ in $(seq 1 150); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.2; done; echo "$1 not healthy" >&2; return 1; }

port=8121
for speed in 1 1 0.333; do
  dotnet "$dll" serve --engine sim --sim-speed "$speed" --policy tempo --port "$port" --stats-interval-s 0 > "$out/replica-$port.log" 2>&1 &
  pids+=($!)
  healthy "http://127.0.0.1:$port"
  port=$((port + 1))
done

gport=8130
for router in ${ROUTERS:-round-robin least-loaded tempo}; do
  echo "== $router" >&2
  dotnet "$dll" gateway --backend http://127.0.0.1:8121 --backend http://127.0.0.1:8122 --backend http://127.0.0.1:8123 \
    --policy "$router" --port "$gport" > "$out/gateway-$router.log" 2>&1 &
  gpid=$!
  pids+=($gpid)
  healthy "http://127.0.0.1:$gport"
  dotnet "$dll" bench --url "http://127.0.0.1:$gport" --workload mixed --rate "$rate" --requests "$n" --seed "$seed" \
    --label "$router" --format csv > "$out/bench-$router.csv" 2> "$out/bench-$router.log"
  curl -s "http://127.0.0.1:$gport/metrics" > "$out/metrics-$router.txt"
  kill "$gpid"; wait "$gpid" 2>/dev/null || true
  gport=$((gport + 1))
done
rm -f "$out"/replica-*.log
echo "written to $out" >&2
