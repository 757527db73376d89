#!/usr/bin/env bash
# Where do the simulator and the real engine part? (issue 12, docs/BENCHMARKS.md §24)
#
# Serves the random-weight model on the real CPU engine exactly as scripts/real_engine.sh does (one compute thread,
# 8 sequences, 256 tokens per step, QRF trained on a held-out sample), with the server writing its step trace:
# every arrival, every step (plan time, measured duration, each sequence's request id) and every end. `tempo bench`
# replays the scaled mixed workload against it. Then, for each run:
#   1. `tempo replay` runs the same policy through the simulator's engine core on that trace: requests arrive when the
#      server took them, each step is planned when the server planned it and takes the time it measured. The first
#      step the replay plans differently is the first decision the real engine made with inputs the simulator does
#      not model. When every step matches, the replay's records are the run as the engine saw it (no HTTP, no client).
#   2. `tempo calibrate --from-steps` fits a profile to the run's own steps (in-sample costs, KV limits from the trace).
#   3. `tempo replay --profile` runs the trace's requests with only the step times modelled.
#   4. `tempo simulate` runs the workload as planned (arrival times from the generator) with that profile.
# The summary puts the four side by side with what the client measured.
#
# Usage: bash scripts/divergence.sh [policies]      (default: tempo sarathi edf)
# Environment: RUNS (2; the policy order is reversed on every other run), RATE (3), REQUESTS (120), LENGTH_SCALE (0.25),
# SEED (42), TRAIN_SEED (7), OUT, PORT. About 2 minutes per policy and run on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

policies=(${1:-tempo sarathi edf})
runs=${RUNS:-2}
rate=${RATE:-3}
requests=${REQUESTS:-120}
length_scale=${LENGTH_SCALE:-0.25}
seed=${SEED:-42}
train_seed=${TRAIN_SEED:-7}
out=${OUT:-docs/results/divergence}
port=${PORT:-8397}
workload=(--workload mixed --requests "$requests" --length-scale "$length_scale")

dotnet build src/Tempo.Cli -c Release -o /tmp/tempo-divergence >/dev/null
tempo=/tmp/tempo-divergence/tempo
mkdir -p "$out"
model=/tmp/tempo-divergence-model.gguf

# shellcheck source=scripts/real_engine_lib.sh
source scripts/real_engine_lib.sh

echo "== model and predictor" >&2
$tempo make-model --out "$model" --layers 8 --embd 512 --vocab 2048 --ctx 16384 --type q8_0 --seed 1
$tempo predictor train --data mixed --requests 3000 --seed "$train_seed" --length-scale "$length_scale" --out "$out/qrf.model"
predictor=(--predictor qrf --predictor-model "$out/qrf.model")

# The cost form and swap cost of this CPU and model, measured by `tempo calibrate --model` (docs/BENCHMARKS.md §8).
base_profile=docs/results/fidelity/profile.json

for run in $(seq 1 "$runs"); do
  order=("${policies[@]}")
  if (( run % 2 == 0 )); then
    order=()
    for (( i=${#policies[@]}-1; i>=0; i-- )); do order+=("${policies[$i]}"); done
  fi

  for policy in "${order[@]}"; do
    tag="$policy-run$run"
    echo "== $tag: real engine ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))" >&2
    $tempo serve --model "$model" --policy "$policy" --max-batch 8 --token-budget 256 --ctx-size 16384 --kv-layout per-sequence \
      --threads 1 "${predictor[@]}" --port "$port" --stats-interval-s 0 --step-log "$out/trace-$tag.jsonl" > "$out/serve-$tag.log" 2>&1 &
    server_pid=$!
    wait_healthy "$port"
    $tempo bench --url "http://127.0.0.1:$port" "${workload[@]}" --seed "$seed" --rate "$rate" --prompt-ids --label "$policy" \
      --records "$out/records-$tag.csv" --format csv > "$out/summary-$tag.csv"
    stop_server

    echo "== $tag: replay, in-sample profile, modelled replay, simulation" >&2
    $tempo replay --trace "$out/trace-$tag.jsonl" "${predictor[@]}" --records "$out/replay-$tag.csv" > "$out/replay-$tag.txt"
    head -3 "$out/replay-$tag.txt" >&2
    $tempo calibrate --from-steps "$out/trace-$tag.jsonl" --base "$base_profile" --name "insample-$tag" --out "$out/insample-$tag.json" > /dev/null
    $tempo replay --trace "$out/trace-$tag.jsonl" "${predictor[@]}" --profile "$out/insample-$tag.json" \
      --records "$out/modelled-$tag.csv" > "$out/modelled-$tag.txt"
    $tempo simulate "${workload[@]}" --seed "$seed" --rates "$rate" --policies "$policy" --profile "$out/insample-$tag.json" \
      --max-batch 8 --token-budget 256 "${predictor[@]}" --records "$out/sim-$tag.csv" --format csv > "$out/sim-summary-$tag.csv" 2>/dev/null
  done
done

python3 scripts/divergence_table.py "$out" | tee "$out/summary.md"
