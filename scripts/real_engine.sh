#!/usr/bin/env bash
# Tempo against sarathi, edf and llama.cpp's own llama-server on the real CPU engine (issue 12's real-engine target,
# docs/BENCHMARKS.md §12).
#
# The same random-weight model (27.8M parameters, q8_0, written by tempo make-model) is served four ways, each by a
# separate server on loopback, with the same limits: one compute thread, 8 sequences, 256 tokens per step, 16,384 KV
# cells split into 8 slices of 2,048. `tempo bench` replays the same workload against each (the mixed mix with
# lengths x0.25, open loop at RATE, token-id prompts so every server sees exactly the workload's prompt lengths).
# The tempo policies use a QRF length predictor trained on a held-out sample of the same scaled workload (another
# seed), as `tempo simulate` trains it.
#
# Usage: LLAMA_SERVER=/path/to/llama-server bash scripts/real_engine.sh [targets]
#   targets: any of tempo sarathi edf jitserve llama-server (default: tempo sarathi edf llama-server)
# llama-server is not part of this repository: scripts/build_llama_server.sh builds it from source beside the project
# (cmake, target llama-server) and prints the binary's path for LLAMA_SERVER. Without it that target is skipped with a
# message.
# Environment: RUNS (2; the order of the targets is reversed on every other run, so a slow drift of the shared machine
# does not favour one), RATE (3), REQUESTS (120), LENGTH_SCALE (0.25), SEED (42), TRAIN_SEED (7), OUT, PORT.
# Takes about 2 minutes per target and run on 2 cores. Every figure is a wall-clock measurement: run it on a quiet
# machine and compare targets within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(${1:-tempo sarathi edf llama-server})
runs=${RUNS:-2}
rate=${RATE:-3}
requests=${REQUESTS:-120}
length_scale=${LENGTH_SCALE:-0.25}
seed=${SEED:-42}
train_seed=${TRAIN_SEED:-7}
out=${OUT:-docs/results/real-engine}
base_port=${PORT:-8393}
llama_server=${LLAMA_SERVER:-}
threads=1
workload=(--workload mixed --requests "$requests" --length-scale "$length_scale")

dotnet build src/Tempo.Cli -c Release -o /tmp/tempo-real >/dev/null
tempo=/tmp/tempo-real/tempo
mkdir -p "$out"
model=/tmp/tempo-real-model.gguf

# shellcheck source=scripts/real_engine_lib.sh
source scripts/real_engine_lib.sh

port_of() { # target: each target has its own port, so one server's closing connections never block the next bind
  local i
  for i in "${!targets[@]}"; do [[ "${targets[$i]}" == "$1" ]] && echo $((base_port + i)) && return; done
}

serve() { # target log
  port=$(port_of "$1")
  if [[ "$1" == llama-server ]]; then
    start_llama_server "$llama_server" "$model" "$threads" "$port" "$2"
  else
    $tempo serve --model "$model" --policy "$1" --max-batch 8 --token-budget 256 --ctx-size 16384 --kv-layout per-sequence \
      --threads "$threads" --predictor qrf --predictor-model "$out/qrf.model" --port "$port" --stats-interval-s 0 > "$2" 2>&1 &
    server_pid=$!
  fi
  wait_healthy "$port"
}

echo "== model and predictor" >&2
$tempo make-model --out "$model" --layers 8 --embd 512 --vocab 2048 --ctx 16384 --type q8_0 --seed 1
$tempo predictor train --data mixed --requests 3000 --seed "$train_seed" --length-scale "$length_scale" --out "$out/qrf.model"

for run in $(seq 1 "$runs"); do
  order=("${targets[@]}")
  if (( run % 2 == 0 )); then
    order=()
    for (( i=${#targets[@]}-1; i>=0; i-- )); do order+=("${targets[$i]}"); done
  fi

  for target in "${order[@]}"; do
    if [[ "$target" == llama-server && ( -z "$llama_server" || ! -x "$llama_server" ) ]]; then
      echo "== run $run: llama-server skipped (set LLAMA_SERVER to a built llama-server binary)" >&2
      continue
    fi

    echo "== run $run: $target ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))" >&2
    serve "$target" "$out/serve-$target-run$run.log"
    $tempo bench --url "http://127.0.0.1:$port" "${workload[@]}" --seed "$seed" --rate "$rate" --prompt-ids --label "$target" \
      --records "$out/records-$target-run$run.csv" --format csv > "$out/summary-$target-run$run.csv"
    stop_server
  done
done

python3 scripts/real_engine_table.py "$out" > "$out/summary.md"
cat "$out/summary.md"
