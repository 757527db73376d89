#!/usr/bin/env bash
# Builds llama.cpp's own `llama-server` from source beside the project, the peer scripts/real_engine.sh measures tempo
# against (LLAMA_SERVER=...).
#
# Where the source comes from: the llama.cpp repository itself is too large for this machine's repository mirror, but
# the npm package node-llama-cpp ships a git bundle of the llama.cpp release it binds (llama/gitRelease.bundle, with
# llama.cpp.info.json naming the release). npm is reachable here, so the script packs that npm release, clones the
# bundle and builds the llama-server target with cmake: the same C++ sources upstream builds, nothing of
# node-llama-cpp's own code. llama.cpp is MIT licensed.
#
# Usage: bash scripts/build_llama_server.sh
# Environment: DEST (directory to build in; default ../peers/llama.cpp beside the project), NODE_LLAMA_CPP (npm version,
# default 3.22.1). Prints the binary's path last. About 10-15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${DEST:-$(cd .. && pwd)/peers/llama.cpp}
version=${NODE_LLAMA_CPP:-3.22.1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -d "$dest/.git" ]]; then
  echo "== llama.cpp source from node-llama-cpp@$version's bundle" >&2
  (cd "$work" && npm pack "node-llama-cpp@$version" >/dev/null 2>&1)
  tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  cat "$work/package/llama/llama.cpp.info.json" >&2
  mkdir -p "$(dirname "$dest")"
  git clone -q "$work/package/llama/gitRelease.bundle" "$dest"
fi

echo "== building llama-server in $dest/build (commit $(git -C "$dest" rev-parse --short HEAD))" >&2
# Not GGML_NATIVE: on one of this machine's virtual CPUs (a Xeon) a native build takes the AMX kernels, and the server
# dies with an illegal instruction in its warm-up run. AVX2, and AVX-512 where the CPU has it, are the kernels
# LLamaSharp's CPU backend picks too. The CPU under the same VM has changed between sessions (an AMD EPYC without
# AVX-512 also runs it), so AVX-512 is asked for only when /proc/cpuinfo lists it.
avx512=OFF
grep -qw avx512f /proc/cpuinfo && avx512=ON
echo "== AVX-512: $avx512" >&2
cmake -S "$dest" -B "$dest/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX512="$avx512" >/dev/null
cmake --build "$dest/build" --target llama-server -j "$(nproc)" >/dev/null
echo "$dest/build/bin/llama-server"
