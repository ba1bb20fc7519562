#!/usr/bin/env bash
# Per-step time and peak RSS of every one-shot strategy's step on the DARTS
# and NB201 supernets (C=8 and C=16, batch 32, 28x28x1) and of DARTS 1st
# order at the paper search config, one process per configuration so each
# peak RSS is its own; prints one table. Usage: bench/steps.sh [NAS_BENCH] [FILTER]
set -euo pipefail
BENCH=${1:-./build/bench/nas_bench}; FILTER=${2:-BM_StrategyStep}
printf '%-44s %10s %10s\n' configuration ms/step peak_MiB
for name in $("$BENCH" --benchmark_list_tests --benchmark_filter="$FILTER"); do
  "$BENCH" --benchmark_filter="^${name}\$" --benchmark_format=json 2>/dev/null |
    python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print("%-44s %10.0f %10.0f" % (b["label"], b["real_time"], b["peak_MiB"]))'
done
