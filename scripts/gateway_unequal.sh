#!/usr/bin/env bash
# The routers behind `tempo gateway` on unequal replicas (docs/BENCHMARKS.md §19): three `tempo serve --engine sim`
# replicas, the third paced 3x slower (--sim-speed 0.333), and the same `tempo bench` run through a gateway with each
# router. Writes docs/results/gateway-unequal/ (or OUT). Environment: RATE (8), REQUESTS (240), SEED (42), ROUTERS (the
# order), NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/gateway-unequal}
source scripts/gateway_lib.sh
rate=${RATE:-8}
n=${REQUESTS:-240}
seed=${SEED:-42}

replica 8121 --sim-speed 1
replica 8122 --sim-speed 1
replica 8123 --sim-speed 0.333

gport=8130
for router in ${ROUTERS:-round-robin least-loaded tempo}; do
  echo "== $router" >&2
  gateway "$router" "$gport" 8121 8122 8123
  tempo bench --url "http://127.0.0.1:$gport" --workload mixed --rate "$rate" --requests "$n" --seed "$seed" \
    --label "$router" --format csv > "$out/bench-$router.csv" 2> "$out/bench-$router.log"
  curl -s "http://127.0.0.1:$gport/metrics" > "$out/metrics-$router.txt"
  kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
  gport=$((gport + 1))
done
rm -f "$out"/replica-*.log
echo "written to $out" >&2
