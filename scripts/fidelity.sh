#!/usr/bin/env bash
# Simulator-vs-real fidelity check (issue 5, docs/BENCHMARKS.md §8).
#
#   1. writes a 27.8M-parameter random-weight model (make-model, q8_0) and calibrates a cost profile on this CPU;
#   2. for each policy: serves the model for real (tempo serve --model, step log on), replays a scaled mixed workload
#      against it (tempo bench --prompt-ids, per-request records), then simulates the same workload, policy and seed
#      with the calibrated profile (tempo simulate --profile, per-request records);
#   3. compares them (tempo fidelity): per-step latency error over the server's own steps, per-request TTFT and E2E
#      error, attainment per class.
#
# Usage: bash scripts/fidelity.sh [policies]     e.g. bash scripts/fidelity.sh "sarathi tempo"
# Takes about 15 minutes on 2 cores. Run it on a quiet machine: every figure is a wall-clock measurement.
# Environment overrides: RATE, REQUESTS, LENGTH_SCALE, SLO_SCALE, SEED, OUT, PORT.
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
workload=(--workload mixed --requests "$requests" --length-scale "$length_scale" --slo-scale "$slo_scale" --seed "$seed")

dotnet build src/Tempo.Cli -c Release -o /tmp/tempo-fidelity >/dev/null
tempo=/tmp/tempo-fidelity/tempo
mkdir -p "$out"
model=/tmp/tempo-fidelity-model.gguf

echo "== model and calibration" >&2
$tempo make-model --out "$model" --layers 8 --embd 512 --vocab 2048 --ctx 8192 --type q8_0 --seed 1
$tempo calibrate --model "$model" "${engine[@]}" --out "$out/profile.json" --report "$out/calibration.csv" | tee "$out/calibration.txt"

server_pid=
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  server_pid=
}
trap stop_server EXIT

for policy in $policies; do
  echo "== $policy: real engine" >&2
  $tempo serve --model "$model" "${engine[@]}" --policy "$policy" --port "$port" --stats-interval-s 0 \
    --step-log "$out/steps-$policy.jsonl" > "$out/serve-$policy.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
  done
  $tempo bench --url "http://127.0.0.1:$port" "${workload[@]}" --rate "$rate" --prompt-ids --label "$policy" \
    --records "$out/real-$policy.csv" --format csv > "$out/real-$policy-summary.csv"
  stop_server

  echo "== $policy: simulator" >&2
  # Same engine limits as the server: batch, budget, and the KV capacity written into the profile.
  $tempo simulate "${workload[@]}" --rates "$rate" --policies "$policy" --profile "$out/profile.json" \
    --max-batch 8 --token-budget 256 --predictor fixed --records "$out/sim-$policy.csv" --format csv > "$out/sim-$policy-summary.csv"

  $tempo fidelity --profile "$out/profile.json" --steps "$out/steps-$policy.jsonl" \
    --real "$out/real-$policy.csv" --sim "$out/sim-$policy.csv" --json "$out/fidelity-$policy.json" | tee "$out/fidelity-$policy.txt"
done
echo "fidelity results written to $out" >&2
