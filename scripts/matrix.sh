#!/usr/bin/env bash
# The workload matrix sweep of docs/BENCHMARKS.md §9: every registered policy on each workload family, several loads
# and seeds, one simulate run per (workload, seed) so policies are compared side by side. Writes one CSV per run
# into docs/results/matrix/ and prints tempo's ratio to the best non-oracle baseline (scripts/matrix_ratios.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/matrix
mkdir -p "$out"
dotnet build src/Tempo.Cli -c Release -v q >/dev/null
tempo() { dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll "$@"; }
policies=tempo,jitserve,vllm,sarathi,priority,edf,sjf,autellix,vtc,slos-serve,oracle-sjf,tempo-oracle
n=${REQUESTS:-1500}
for seed in ${SEEDS:-11 43}; do
  tempo simulate --workload mixed --policies $policies --rates 2,4,6,8,12 --requests $n --seed $seed --format csv > $out/mixed-s$seed.csv
  tempo simulate --workload azure-conv --policies $policies --rates 2,4,6,8 --requests $n --seed $seed --format csv > $out/azure-s$seed.csv
  tempo simulate --workload mixed --arrival gamma --cv 4 --policies $policies --rates 2,4,8 --requests $n --seed $seed --format csv > $out/bursty-s$seed.csv
  tempo simulate --workload mixed --slo-scale 0.5 --policies $policies --rates 2,4,8 --requests $n --seed $seed --format csv > $out/tight-s$seed.csv
  tempo simulate --workload mixed --slo-scale 2 --policies $policies --rates 2,4,8 --requests $n --seed $seed --format csv > $out/loose-s$seed.csv
done
python3 scripts/matrix_ratios.py $out/*.csv
