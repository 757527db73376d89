#!/usr/bin/env bash
# How fast an engine gets through the whole bench workload when the scheduler has no say: every arrival within about
# 2.4 s (--rate 50), so the window is the engine's compute time for all the calls. Compares tempo builds (sarathi
# policy, the setup scripts/real_engine.sh uses) with each other and with llama.cpp's llama-server, run after run in
# the order given, so alternate them (e.g. "A B L B A") on a shared machine.
#
# Usage: A=/path/to/tempo-build [B=/path/to/other-build] [LLAMA_SERVER=/path/to/llama-server] bash scripts/saturation.sh "A B L B A"
# (a build is a folder with the tempo executable, e.g. from dotnet build src/Tempo.Cli -c Release -o DIR at a commit;
# L runs LLAMA_SERVER). A_ENV / B_ENV put environment assignments in front of that side's server.
# Needs the model scripts/real_engine.sh writes (MODEL, default /tmp/tempo-real-model.gguf). Writes OUT (default
# /tmp/tempo-saturation): each run's bench summary, server log and, for tempo, its step trace.
# Prints per run: the window, the server's CPU seconds during the bench, and from tempo's step trace the median time of
# a decode-only step of 8 sequences.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/tempo-saturation}
model=${MODEL:-/tmp/tempo-real-model.gguf}
port=${PORT:-8470}
mkdir -p "$out"
source scripts/real_engine_lib.sh

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks

run=0
for side in ${1:-A L}; do
  run=$((run + 1))
  name="$out/$side-run$run"
  if [[ "$side" == L ]]; then
    start_llama_server "${LLAMA_SERVER:?set LLAMA_SERVER to run L}" "$model" 1 "$port" "$name.log"
    bench=${A:?set A to a tempo build}/tempo
  else
    build=${!side:?set $side to a tempo build}
    env_name="${side}_ENV"
    # shellcheck disable=SC2086 # the assignments are several words on purpose
    env ${!env_name:-} "$build/tempo" serve --model "$model" --policy sarathi --max-batch 8 --token-budget 256 --ctx-size 16384 \
      --kv-layout per-sequence --threads 1 --port "$port" --stats-interval-s 0 --step-log "$name.jsonl" > "$name.log" 2>&1 &
    server_pid=$!
    bench=$build/tempo
  fi
  wait_healthy "$port"
  before=$(cpu_ticks "$server_pid")
  "$bench" bench --url "http://127.0.0.1:$port" --workload mixed --requests 120 --length-scale 0.25 --seed 42 --rate 50 \
    --prompt-ids --format csv --label "$side" > "$name.csv" 2>/dev/null
  after=$(cpu_ticks "$server_pid")
  stop_server
  window=$(tail -1 "$name.csv" | cut -d, -f5)
  decode8=n/a
  [[ -f "$name.jsonl" ]] && decode8=$(python3 - "$name.jsonl" <<'PY'
import json, statistics, sys
steps = [s for s in map(json.loads, open(sys.argv[1])) if s.get("work")]
full = [s["ms"] for s in steps if len(s["work"]) == 8 and all(w[0] == 1 for w in s["work"])]
print(f"{statistics.median(full):.1f} ms over {len(full)} steps" if full else "none")
PY
  )
  printf '%s run %d: window %.1f s, server CPU %.1f s, decode step of 8: %s (load %s)\n' "$side" "$run" "$window" \
    "$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')" "$decode8" "$(cut -d' ' -f1 /proc/loadavg)"
  port=$((port + 1))
done
