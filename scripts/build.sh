#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), configures and builds naskit.
#   scripts/build.sh          Debian's LibTorch 1.13 (CPU) into ./build (or $NAS_BUILD_DIR)
#   scripts/build.sh --cuda   PyPI's LibTorch 2.x with CUDA (scripts/cuda_env.sh) into
#                             ./build-cuda (or $NAS_CUDA_BUILD_DIR): every target, tests and
#                             benchmarks included, warnings in our code as errors
# Extra arguments go to CMake, e.g. scripts/build.sh -DNAS_LIBTORCH_DIR=/opt/libtorch
set -euo pipefail
cd "$(dirname "$0")/.."
cuda=0
if [[ "${1:-}" == "--cuda" ]]; then
  cuda=1
  shift
fi
./scripts/setup.sh
build_dir=${NAS_BUILD_DIR:-build}
args=("$@")
if [[ $cuda -eq 1 ]]; then
  if ! command -v nvcc >/dev/null; then
    [[ -x /usr/local/cuda/bin/nvcc ]] || {
      echo "error: the CUDA build needs the CUDA toolkit (nvcc); none on PATH or in /usr/local/cuda" >&2
      exit 1
    }
    export PATH=/usr/local/cuda/bin:$PATH
  fi
  torch_dir=$(./scripts/cuda_env.sh)
  build_dir=${NAS_CUDA_BUILD_DIR:-build-cuda}
  args=(-DNAS_LIBTORCH_DIR="$torch_dir" -DNAS_WERROR=ON "${args[@]}")
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${args[@]}" >/dev/null
elif [[ ${#args[@]} -gt 0 ]]; then
  cmake -S . -B "$build_dir" "${args[@]}" >/dev/null
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build_dir" --parallel "$jobs"
