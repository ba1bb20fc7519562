#!/usr/bin/env bash
# The README's latency trade-off: one quick NB201 search per strategy
# without a latency term and with one that matters, latencies from the
# published Pixel 3 table (NAS-Bench-201 at C=16, N=5), then a table and an
# SVG scatter of published latency vs one-shot accuracy.
#
#   scripts/latency_tradeoff.sh [OUT_DIR] [DEVICE]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/latency-tradeoff}
device=${2:-pixel3}
nas=./build/tools/nas
mkdir -p "$out"
runs=()
for strategy in darts snas gdas proxyless fairnas random_ws; do
  # lambda: additive weight per ms; ProxylessNAS uses its multiplicative
  # form, where lambda 1 is the reference's (log E / log target)^0.3.
  lambdas="0 0.005"
  [[ $strategy == proxyless ]] && lambdas="0 1"
  for lambda in $lambdas; do
    dir="$out/$strategy-lambda$lambda"
    if [[ ! -f $dir/result.json ]]; then
      rm -rf "$dir"
      "$nas" search --preset quick --space nb201 --strategy "$strategy" --threads 2 -q \
        --latency "published:$device" --set "objective.latency.lambda=$lambda" --out "$dir"
    fi
    runs+=("$dir")
  done
done
"$nas" plot --x costs.latency_ms --y final.derived_acc --group strategy \
  --label objective.latency.lambda --title "NB201 quick searches: $device latency vs one-shot accuracy" \
  --out "$out/tradeoff.svg" "${runs[@]}"
