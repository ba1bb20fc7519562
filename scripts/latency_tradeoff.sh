#!/usr/bin/env bash
# The latency trade-off: one quick search per strategy without a latency
# term and with one that matters, then a table of each answer's predicted
# and measured latency and one-shot accuracy, and an SVG scatter.
#
#   scripts/latency_tradeoff.sh [OUT_DIR] [LATENCY] [SPACE] [LAMBDA]
#
# LATENCY: published:DEVICE (NB201; default pixel3), a table FILE, or
# "profile" (profile this machine at the quick preset's sizes of SPACE into
# OUT_DIR/latency.json first, validated on 50 architectures). LAMBDA: the
# additive weight per ms (default 0.005); ProxylessNAS uses its
# multiplicative form, where lambda 1 is the reference's (log E / log
# target)^0.3, and FBNet its own, lambda 0.2 and beta 0.6 the paper's
# CE * 0.2 * (log LAT)^0.6; Single-Path NAS (chains) its CE + 20 log LAT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/latency-tradeoff}
latency=${2:-published:pixel3}
space=${3:-nb201}
lambda_on=${4:-0.005}
nas=./build/tools/nas
mkdir -p "$out"
if [[ $latency == profile ]]; then
  # The quick preset's network at 28x28x1 (Fashion-MNIST).
  sizes=$(python3 -c '
import json, sys
space = sys.argv[1]
for f in ["configs/search-quick.json", f"configs/search-{space}-quick.json"]:
    try: net = json.load(open(f)).get("network", {})
    except FileNotFoundError: continue
    for k, flag in [("C", "--C"), ("layers", "--layers"), ("width_mult", "--width-mult")]:
        if k in net: print(flag, net[k], end=" ")' "$space")
  latency="$out/latency.json"
  [[ -f $latency ]] || "$nas" profile --space "$space" $sizes --in-channels 1 --input-size 28 \
    --classes 10 --out "$latency" --validate 50
fi
runs=()
strategies="darts snas gdas proxyless fbnet fairnas random_ws"
[[ $space == chain_proxyless || $space == chain_fairnas ]] && strategies+=" single_path"
for strategy in $strategies; do
  lambdas="0 $lambda_on"
  extra=()
  [[ $strategy == proxyless ]] && lambdas="0 1"
  [[ $strategy == fbnet ]] && lambdas="0 0.2"
  # Single-Path NAS's CE + 20 log LAT; one warm-up epoch of the five (its
  # thresholds need steps to move; the recipe's 5/8 leaves two).
  [[ $strategy == single_path ]] && lambdas="0 20" &&
    extra=(--set strategy.options.warmup_epochs=1)
  for lambda in $lambdas; do
    dir="$out/$strategy-lambda$lambda"
    if [[ ! -f $dir/result.json ]]; then
      rm -rf "$dir"
      "$nas" search --preset quick --space "$space" --strategy "$strategy" --threads 2 -q \
        --latency "$latency" --set "objective.latency.lambda=$lambda" \
        --set objective.latency.beta="$([[ $strategy == fbnet ]] && echo 0.6 || echo 0.3)" \
        "${extra[@]}" --out "$dir"
    fi
    runs+=("$dir")
  done
done
# Each answer's whole network timed here (1 thread, batch 1), next to the
# table's prediction.
for dir in "${runs[@]}"; do
  [[ -f $dir/measured.json ]] ||
    "$nas" show --from-run "$dir" --latency "$latency" --measure-latency --json >"$dir/measured.json"
done
python3 - "${runs[@]}" <<'PY'
import json, sys
print("| strategy | lambda | answer | predicted ms | measured ms | one-shot acc |")
print("|---|---|---|---|---|---|")
for d in sys.argv[1:]:
    r, m = json.load(open(d + "/result.json")), json.load(open(d + "/measured.json"))
    lam = r["objective"]["latency"]["lambda"] if "objective" in r else 0
    acc = r.get("final", {}).get("derived_acc", float("nan"))
    meas = m.get("measured_latency_ms", float("nan"))
    print(f"| {r['strategy']} | {lam:g} | `{m['arch']}` | {m['latency_ms']:.3f} | {meas:.3f} | {100 * acc:.1f}% |")
PY
"$nas" plot --x costs.latency_ms --y final.derived_acc --group strategy \
  --label objective.latency.lambda --title "$space quick searches: latency vs one-shot accuracy" \
  --out "$out/tradeoff.svg" "${runs[@]}"
