# Shared by scripts/gateway.sh and scripts/gateway_unequal.sh (sourced, not run): the results folder, the build,
# starting `tempo serve --engine sim` replicas and `tempo gateway` in front of them, and stopping whatever was started.
# The caller sets `out` first; afterwards `tempo`, `replica`, `gateway` and `gateway_pid` are defined.
mkdir -p "$out"
[[ -n "${NO_BUILD:-}" ]] || dotnet build src/Tempo.Cli -c Release -v q >/dev/null
dll=src/Tempo.Cli/bin/Release/net10.0/tempo.dll
tempo() { dotnet "$dll" "$@"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

healthy() { for _ in $(seq 1 150); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.2; done; echo "$1 not healthy" >&2; return 1; }

# replica PORT [serve options...]: started without the shell function, so that $! is the server itself and a SIGKILL
# reaches it; its pid is appended to `pids`.
replica() {
  local port=$1; shift
  dotnet "$dll" serve --engine sim --policy tempo --port "$port" --stats-interval-s 0 "$@" > "$out/replica-$port.log" 2>&1 &
  pids+=($!)
  healthy "http://127.0.0.1:$port"
}

# gateway ROUTER PORT BACKEND_PORT...: sets gateway_pid.
gateway() {
  local router=$1 port=$2; shift 2
  local args=()
  for b in "$@"; do args+=(--backend "http://127.0.0.1:$b"); done
  dotnet "$dll" gateway "${args[@]}" --policy "$router" --port "$port" > "$out/gateway-$router-$port.log" 2>&1 &
  gateway_pid=$!
  pids+=($gateway_pid)
  healthy "http://127.0.0.1:$port"
}
