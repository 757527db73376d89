# Shared by the real-engine scripts (real_engine.sh, fidelity.sh, divergence.sh; sourced, not run): the one `tempo serve`
# a script runs at a time, waiting until it answers and stopping it, also when the script fails or is interrupted.
# Start a server in the background and set `server_pid=$!`; `stop_server` ends it and waits for it to exit.
# `start_llama_server` starts the peer the same way for every script.
server_pid=
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  server_pid=
}
trap stop_server EXIT

wait_healthy() { # port: up to 30 s for /health to answer (loading a model takes a few seconds)
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0
    sleep 0.2
  done
  echo "server on port $1 did not become healthy" >&2
  return 1
}

start_llama_server() { # binary model threads port log: 8 parallel slots over 16,384 cells (2,048 each, like tempo's
  # per-sequence layout); n_batch 256 = the token budget. Sets server_pid.
  "$1" -m "$2" -t "$3" -c 16384 -np 8 -b 256 -ub 256 --host 127.0.0.1 --port "$4" > "$5" 2>&1 &
  server_pid=$!
}
