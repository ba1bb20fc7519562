#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), configures and builds naskit
# into ./build (or $NAS_BUILD_DIR). Extra arguments go to CMake, e.g.
#   scripts/build.sh -DCMAKE_PREFIX_PATH=/opt/libtorch   # a CUDA LibTorch
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
build_dir=${NAS_BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif [[ $# -gt 0 ]]; then
  cmake -S . -B "$build_dir" "$@" >/dev/null
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build_dir" --parallel "$jobs"
