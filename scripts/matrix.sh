#!/usr/bin/env bash
# The workload matrix sweep of docs/BENCHMARKS.md §9: every registered policy on each workload family, several loads
# and seeds, one simulate run per (workload, seed) so policies are compared side by side. Writes one CSV per run
# into docs/results/matrix/ and prints tempo's ratio to the best non-oracle baseline (scripts/matrix_ratios.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/matrix}
mkdir -p "$out"
dotnet build src/Tempo.Cli -c Release -v q >/dev/null
tempo() { dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll "$@"; }
# POLICIES narrows the run and EXTRA adds options (e.g. POLICIES=tempo OUT=/tmp/a EXTRA="--tempo-replan-steps 4" to
# compare two settings of one policy; baselines are deterministic, so their CSVs need not be rerun).
policies=${POLICIES:-tempo,jitserve,vllm,sarathi,priority,edf,sjf,autellix,vtc,slos-serve,oracle-sjf,tempo-oracle}
n=${REQUESTS:-1500}
# FAMILIES picks a subset (default: all) and SEEDS the seeds (default 11 43); the cells are in matrix_cells.sh.
source scripts/matrix_cells.sh
run() { # family seed args...
  local family=$1 seed=$2; shift 2
  echo "$family seed $seed" >&2
  # shellcheck disable=SC2086 # EXTRA holds several options on purpose
  tempo simulate "$@" ${EXTRA:-} --policies $policies --requests $n --seed $seed --format csv > $out/$family-s$seed.csv
}
each_cell run
[[ -n ${POLICIES:-} ]] || python3 scripts/matrix_ratios.py "$out"/*.csv
