#!/usr/bin/env bash
# What each mechanism of `tempo` adds (issue 12's ablation): the workload matrix (scripts/matrix_cells.sh) run with
# `tempo` as it ships and with each mechanism turned off (`--tempo-without X`), or on for the ones that ship off
# (`+preempt`), one variant at a time. Writes one directory of matrix CSVs per variant under OUT and prints, per
# variant, the variant's SLO and service goodput over the default's, over all cells and per family
# (scripts/tempo_cells.py).
#
# Usage: bash scripts/ablation.sh
# Environment: SEEDS (77, a seed no design step was tuned on), REQUESTS (1000), OUT (docs/results/ablation-tempo),
# VARIANTS (all). About 25 minutes on 2 cores for one seed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/ablation-tempo}
export SEEDS=${SEEDS:-77} REQUESTS=${REQUESTS:-1000} POLICIES=tempo
variants=${VARIANTS:-select urgency stream-band prefill bonus online lost-gain backlog keep-place gap-chunks prefill-order dead-longest dead-tail may-earn stage-mean long-jobs +preempt}
mkdir -p "$out"
echo "default" >&2
OUT="$out/default" EXTRA="" bash scripts/matrix.sh
for v in $variants; do
  echo "without $v" >&2
  OUT="$out/${v/+/with-}" EXTRA="--tempo-without $v" bash scripts/matrix.sh
done
{
  echo "| variant | SLO goodput vs default: mean (min–max) | service goodput vs default: mean (min–max) | family where SLO moves most |"
  echo "|---|---|---|---|"
  for v in $variants; do
    python3 scripts/tempo_cells.py --summary "$v" "$out/default" "$out/${v/+/with-}"
  done
} | tee "$out/summary.md"
