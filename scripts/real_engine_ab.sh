#!/usr/bin/env bash
# A/B of two tempo builds on the real CPU engine, same setup as scripts/real_engine.sh (model, limits, workload, QRF),
# alternated A, B, B, A so a drift of the shared machine does not favour one.
# Usage: A=/path/to/tempo-build-a B=/path/to/tempo-build-b bash scripts/real_engine_ab.sh
# (each a folder with the tempo executable, e.g. from dotnet build src/Tempo.Cli -c Release -o DIR at two commits).
# A_ARGS and B_ARGS add server options to one side, so one build can be compared with itself under another setting,
# e.g. A=DIR B=DIR B_ARGS="--tempo-without gap-chunks". Each server writes its step trace (tempo replay reads it).
# RATE sets the arrival rate (default 3/s).
# Needs the model and QRF that scripts/real_engine.sh wrote (MODEL, QRF). Writes docs/results/real-engine-ab/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/results/real-engine-ab}
model=${MODEL:-/tmp/tempo-real-model.gguf}
qrf=${QRF:-docs/results/real-engine-2/qrf.model}
mkdir -p "$out"
port=${PORT:-8420}
for step in "A 1" "B 1" "B 2" "A 2"; do
  set -- $step
  build=${!1}
  extra_name="$1_ARGS"
  # shellcheck disable=SC2206 # the extra options are several words on purpose
  extra=(${!extra_name:-})
  echo "== $1 run $2 ($(date -u +%H:%M:%S))" >&2
  "$build/tempo" serve --model "$model" --policy tempo --max-batch 8 --token-budget 256 --ctx-size 16384 --kv-layout per-sequence \
    --threads 1 --predictor qrf --predictor-model "$qrf" --port "$port" --stats-interval-s 0 \
    --step-log "$out/trace-$1-run$2.jsonl" "${extra[@]}" > "$out/serve-$1-run$2.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  "$build/tempo" bench --url "http://127.0.0.1:$port" --workload mixed --requests 120 --length-scale 0.25 --seed 42 --rate "${RATE:-3}" --prompt-ids \
    --label "tempo-$1" --format csv > "$out/summary-tempo-$1-run$2.csv" 2>/dev/null
  kill -TERM "$pid"; wait "$pid" || true
  port=$((port + 1))
done
for f in "$out"/summary-*.csv; do tail -1 "$f" | cut -d, -f1,7,8,9,12,19; done
# Busy time and chunking of each run: how long the engine computed, in how many steps with a prefill chunk.
for f in "$out"/trace-*.jsonl; do
  python3 - "$f" <<'PY'
import json, sys
steps = [s for s in map(json.loads, open(sys.argv[1])) if s.get("work")]
chunks = [s for s in steps if any(w[2] == 0 for w in s["work"])]
tokens = sum(w[0] for s in chunks for w in s["work"] if w[2] == 0)
print(f"{sys.argv[1]}: busy {sum(s['ms'] for s in steps) / 1000:.1f} s over {len(steps)} steps; {len(chunks)} with a prefill chunk, {tokens / max(1, len(chunks)):.1f} prefill tokens each")
PY
done
