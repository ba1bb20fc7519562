#!/usr/bin/env bash
# Install, build, and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
build_dir=${NAS_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs" --timeout 900
