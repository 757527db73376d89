#!/usr/bin/env bash
# Fleet evidence (docs/BENCHMARKS.md §13, docs/FLEET.md): for each workload,
#   1. a single replica's capacity: the highest rate of a sweep at which sarathi alone still meets the target;
#   2. tempo plan at 4x that rate: the fewest replicas per (policy, router) pair, and the saving;
#   3. tempo simulate on a fleet of the reference pair's size at that rate, every router, tempo and sarathi side by side.
# Writes docs/results/fleet/<workload>-{capacity.csv,plan.json,plan.txt,fleet-<router>.csv}.
# Environment: REQUESTS (1000), SEED (42), TARGET (0.9), WORKLOADS ("mixed azure-conv"), NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/fleet
mkdir -p "$out"
[[ -n "${NO_BUILD:-}" ]] || dotnet build src/Tempo.Cli -c Release -v q >/dev/null
tempo() { dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll "$@"; }
n=${REQUESTS:-1000}
seed=${SEED:-42}
target=${TARGET:-0.9}
for w in ${WORKLOADS:-mixed azure-conv}; do
  echo "== $w: single-replica capacity" >&2
  tempo simulate --workload "$w" --policies sarathi --rates 0.5,1,1.5,2,2.5,3,3.5,4,5,6 --requests "$n" --seed "$seed" --format csv \
    > "$out/$w-capacity.csv" 2>/dev/null
  capacity=$(python3 -c "
import csv, sys
rows = [r for r in csv.DictReader(open('$out/$w-capacity.csv')) if float(r['attainment']) >= $target]
print(max((float(r['rate']) for r in rows), default=0.5))")
  rate=$(python3 -c "print(4 * $capacity)")
  echo "== $w: capacity $capacity/s, planning at $rate/s" >&2
  tempo plan --workload "$w" --rate "$rate" --target-attainment "$target" --policies tempo,sarathi,edf \
    --requests "$n" --seed "$seed" --format json > "$out/$w-plan.json"
  tempo plan --workload "$w" --rate "$rate" --target-attainment "$target" --policies tempo,sarathi,edf \
    --requests "$n" --seed "$seed" > "$out/$w-plan.txt" 2>/dev/null
  replicas=$(python3 -c "
import json
print(next(r['replicas'] for r in json.load(open('$out/$w-plan.json')) if r['policy'] == 'sarathi' and r['router'] == 'round-robin') or 8)")
  for router in round-robin least-loaded tempo; do
    tempo simulate --workload "$w" --policies tempo,sarathi,edf --rates "$rate" --replicas "$replicas" --router "$router" \
      --requests "$n" --seed "$seed" --format csv > "$out/$w-fleet-$router.csv" 2>/dev/null
  done
  echo "$w: capacity $capacity/s, rate $rate/s, reference fleet $replicas replicas" > "$out/$w-summary.txt"
  cat "$out/$w-plan.txt"
done
