#!/usr/bin/env bash
# The CUDA compile-and-link check (CI runs it after the CPU suite): builds
# every target against PyPI's LibTorch 2.x with CUDA (scripts/build.sh --cuda,
# warnings as errors), then runs in that build the unit suites on the CPU
# (the same code under LibTorch 2.x) and the CUDA suite, which runs where a
# GPU is seen and skips with a message where none is.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
./scripts/build.sh --cuda
build_dir=${NAS_CUDA_BUILD_DIR:-build-cuda}
"$build_dir/tools/nas" --version
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs" --timeout 900 -L 'unit|cuda'
echo "naskit cuda check: passed in $(($(date +%s) - start)) s" >&2
