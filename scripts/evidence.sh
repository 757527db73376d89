#!/usr/bin/env bash
# Regenerates the simulator evidence of docs/BENCHMARKS.md into docs/results/.
# Usage: bash scripts/evidence.sh   (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Tempo.Cli -c Release -o /tmp/tempo-evidence >/dev/null
tempo=/tmp/tempo-evidence/tempo
out=docs/results
mkdir -p "$out"

# Main comparison: the default mixed workload, every policy, from light load to deep overload.
$tempo simulate --workload mixed --rates 1,2,3,4,6,8,10,12,16 --requests 2000 --seed 42 --out "$out/mixed" --format csv > /dev/null
# The same comparison on the Azure conversation trace replay (first 2,000 rows, rescaled).
$tempo simulate --workload azure-conv --rates 1,2,3,4,5,6,8,12 --requests 2000 --seed 42 --out "$out/azure" --format csv > /dev/null
# A second seed of the mixed workload at the interesting rates.
$tempo simulate --workload mixed --rates 4,6,8 --requests 2000 --seed 43 --out "$out/mixed-seed43" --format csv > /dev/null

# Ablations of the paper's policy on the mixed workload (each line: one variant at three rates; docs/BENCHMARKS.md §4).
# The flags are the paper policy's, so they run under its name, `jitserve` (it was called `tempo` when §4 was
# recorded). The ablation of this project's `tempo` is scripts/ablation.sh.
for variant in "default:" "jit:--jit" "topk2:--top-k 2" "p10:--penalty 10" "r10:--replan-interval 10" "s8:--max-swaps 8" "no-topup:--no-collective-top-up" "fixed-predictor:--predictor fixed"; do
  name=${variant%%:*}; flags=${variant#*:}
  # shellcheck disable=SC2086
  $tempo simulate --workload mixed --policies jitserve --rates 4,6,8 --requests 2000 --seed 42 $flags --format csv > "$out/ablation-$name.csv"
done
echo "evidence written to $out"
