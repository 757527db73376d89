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
# FAMILIES picks a subset (default: all); each family's rates run from about half its knee to 4x past it.
families=${FAMILIES:-mixed azure bursty tight loose prefill decode agent}
run() { # family seed args...
  local family=$1 seed=$2; shift 2
  [[ " $families " == *" $family "* ]] || return 0
  echo "$family seed $seed" >&2
  # shellcheck disable=SC2086 # EXTRA holds several options on purpose
  tempo simulate "$@" ${EXTRA:-} --policies $policies --requests $n --seed $seed --format csv > $out/$family-s$seed.csv
}
for seed in ${SEEDS:-11 43}; do
  run mixed $seed --workload mixed --rates 2,4,6,8,12
  run azure $seed --workload azure-conv --rates 2,4,6,8
  run bursty $seed --workload mixed --arrival gamma --cv 4 --rates 2,4,8
  run tight $seed --workload mixed --slo-scale 0.5 --rates 2,4,8
  run loose $seed --workload mixed --slo-scale 2 --rates 2,4,8
  run prefill $seed --workload prefill-heavy --rates 1.5,3,6,12
  run decode $seed --workload decode-heavy --rates 0.4,0.75,1.5,3
  run agent $seed --workload agent-heavy --rates 0.6,1.2,2.4,4.8
done
[[ -n ${POLICIES:-} ]] || python3 scripts/matrix_ratios.py "$out"/*.csv
