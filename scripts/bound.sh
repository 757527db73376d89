#!/usr/bin/env bash
# Upper bounds on what any scheduler can earn in each cell of the workload matrix (`tempo bound`, docs/BENCHMARKS.md
# §30), one CSV per (workload, seed) beside the matrix's, then each policy's share of the bound and the most the bound
# leaves `tempo` over the best baseline (scripts/bound_ratios.py). Same SEEDS, FAMILIES and REQUESTS as matrix.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/bound}
matrix=${MATRIX:-docs/results/matrix}
mkdir -p "$out"
dotnet build src/Tempo.Cli -c Release -v q >/dev/null
n=${REQUESTS:-1000}
source scripts/matrix_cells.sh
run() { # family seed args...
  local family=$1 seed=$2; shift 2
  echo "bound: $family seed $seed" >&2
  dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll bound "$@" --requests "$n" --seed "$seed" --format csv 2>/dev/null > "$out/$family-s$seed.csv"
}
each_cell run
python3 scripts/bound_ratios.py "$out" "$matrix" | tee "$out/ratios.md"
