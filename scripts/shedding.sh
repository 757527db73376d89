#!/usr/bin/env bash
# What --shed-unattainable does to one replica (docs/BENCHMARKS.md §12): tempo with and without shedding on the
# workload families of the matrix, at the matrix's rates, seeds 11 and 43. A shed request counts as missed, so the
# comparison is over the same arrivals: attainment and total service gain (not per second: shedding shortens a run).
# Writes docs/results/shedding/<family>-s<seed>-{off,on}.csv and prints the table (scripts/shedding_table.py).
# Environment: REQUESTS (1000), SEEDS ("11 43"), NO_BUILD=1 to reuse the last Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/shedding
mkdir -p "$out"
[[ -n "${NO_BUILD:-}" ]] || dotnet build src/Tempo.Cli -c Release -v q >/dev/null
tempo() { dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll "$@"; }
n=${REQUESTS:-1000}
run() { # family seed args...
  local family=$1 seed=$2; shift 2
  echo "$family seed $seed" >&2
  tempo simulate "$@" --policies tempo --requests "$n" --seed "$seed" --format csv > "$out/$family-s$seed-off.csv" 2>/dev/null
  tempo simulate "$@" --policies tempo --requests "$n" --seed "$seed" --shed-unattainable --format csv > "$out/$family-s$seed-on.csv" 2>/dev/null
}
for seed in ${SEEDS:-11 43}; do
  run mixed "$seed" --workload mixed --rates 2,4,8,12
  run azure "$seed" --workload azure-conv --rates 2,4,8
  run prefill "$seed" --workload prefill-heavy --rates 1.5,3,6,12
  run decode "$seed" --workload decode-heavy --rates 0.4,0.75,1.5,3
  run agent "$seed" --workload agent-heavy --rates 0.6,1.2,2.4,4.8
done
python3 scripts/shedding_table.py "$out" | tee "$out/summary.md"
