#!/usr/bin/env bash
# Simulator-vs-real fidelity check (issue 5, docs/BENCHMARKS.md §8).
#
#   1. writes a 27.8M-parameter random-weight model (make-model, q8_0) and calibrates a cost profile on this CPU by
#      microbenchmark (tempo calibrate --model: profile.json);
#   2. serves it under a training run (sarathi, another seed) and fits a second profile to the steps the server logged
#      (tempo calibrate --from-steps: insitu.json), which sees the HTTP server and client sharing the machine;
#   3. for each policy: serves the model for real (tempo serve --model, step log on), replays the scaled mixed workload
#      against it (tempo bench --prompt-ids, per-request records), then simulates the same workload, policy and seed
#      with each profile (tempo simulate --profile, per-request records);
#   4. compares them (tempo fidelity): per-step latency error over the server's own steps, per-request TTFT and E2E
#      error, attainment per class.
#
# Usage: bash scripts/fidelity.sh [policies]     e.g. bash scripts/fidelity.sh "sarathi tempo"
# Takes about 15 minutes on 2 cores. Run it on a quiet machine: every figure is a wall-clock measurement.
# Environment overrides: RATE, REQUESTS, LENGTH_SCALE, SLO_SCALE, SEED, TRAIN_SEED, OUT, PORT; ANALYSE_ONLY=1 redoes
# the fits and comparisons from the files of an earlier run without measuring again.
set -euo pipefail
cd "$(dirname "$0")/.."

policies=${1:-"sarathi tempo"}
rate=${RATE:-3}
requests=${REQUESTS:-120}
length_scale=${LENGTH_SCALE:-0.25}
slo_scale=${SLO_SCALE:-1}
seed=${SEED:-42}
out=${OUT:-docs/results/fidelity}
port=${PORT:-8391}
# One llama.cpp thread: the other core is left to the HTTP server and the load generator, which otherwise preempt
# one of two compute threads mid-step and make a step wait at llama.cpp's thread barrier (measured: decode steps
# at batch 4-8 ran 2-3x slower than calibrated with 2 threads while the client streamed tokens).
engine=(--max-batch 8 --token-budget 256 --ctx-size 8192 --kv-layout per-sequence --threads 1)
workload=(--workload mixed --requests "$requests" --length-scale "$length_scale" --slo-scale "$slo_scale")

dotnet build src/Tempo.Cli -c Release -o /tmp/tempo-fidelity >/dev/null
tempo=/tmp/tempo-fidelity/tempo
mkdir -p "$out"
model=/tmp/tempo-fidelity-model.gguf

compare() { # policy profile-name: simulate the policy's run with docs/results/fidelity/<profile-name>.json and compare
  echo "== $1: simulator, $2.json" >&2
  # Same engine limits as the server: batch, budget, and the KV capacity written into the profile.
  $tempo simulate "${workload[@]}" --seed "$seed" --rates "$rate" --policies "$1" --profile "$out/$2.json" \
    --max-batch 8 --token-budget 256 --predictor fixed --records "$out/sim-$1-$2.csv" --format csv > "$out/sim-$1-$2-summary.csv"
  $tempo fidelity --profile "$out/$2.json" --steps "$out/steps-$1.jsonl" \
    --real "$out/real-$1.csv" --sim "$out/sim-$1-$2.csv" --json "$out/fidelity-$1-$2.json" | tee "$out/fidelity-$1-$2.txt"
}

train_seed=${TRAIN_SEED:-7}
# shellcheck source=scripts/real_engine_lib.sh
source scripts/real_engine_lib.sh

serve_and_bench() { # policy seed steps-file records-file summary-file
  $tempo serve --model "$model" "${engine[@]}" --policy "$1" --port "$port" --stats-interval-s 0 \
    --step-log "$3" > "$out/serve-$1-seed$2.log" 2>&1 &
  server_pid=$!
  wait_healthy "$port"
  $tempo bench --url "http://127.0.0.1:$port" "${workload[@]}" --seed "$2" --rate "$rate" --prompt-ids --label "$1" \
    --records "$4" --format csv > "$5"
  stop_server
}

if [[ -z "${ANALYSE_ONLY:-}" ]]; then
  echo "== model and calibration" >&2
  $tempo make-model --out "$model" --layers 8 --embd 512 --vocab 2048 --ctx 8192 --type q8_0 --seed 1
  $tempo calibrate --model "$model" "${engine[@]}" --out "$out/profile.json" --report "$out/calibration.csv" | tee "$out/calibration.txt"

  echo "== in-situ calibration: sarathi, seed $train_seed" >&2
  serve_and_bench sarathi "$train_seed" "$out/train-steps.jsonl" "$out/train-records.csv" "$out/train-summary.csv"

  for policy in $policies; do
    echo "== $policy: real engine" >&2
    serve_and_bench "$policy" "$seed" "$out/steps-$policy.jsonl" "$out/real-$policy.csv" "$out/real-$policy-summary.csv"
  done
fi

# Three profiles per policy: the microbenchmark (profile), one fitted to another run's steps (insitu: the honest
# prediction), and one fitted to the compared run's own steps (insample: step costs as right as this form gets them,
# so what is left is the simulator's queueing and scheduling).
$tempo calibrate --from-steps "$out/train-steps.jsonl" --base "$out/profile.json" --out "$out/insitu.json" | tee "$out/insitu.txt"
for policy in $policies; do
  $tempo calibrate --from-steps "$out/steps-$policy.jsonl" --base "$out/profile.json" --name "insample-$policy" \
    --out "$out/insample-$policy.json" > "$out/insample-$policy.txt"
  compare "$policy" profile
  compare "$policy" insitu
  compare "$policy" "insample-$policy"
done
echo "fidelity results written to $out" >&2
