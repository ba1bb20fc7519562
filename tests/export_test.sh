#!/usr/bin/env bash
# `nas export` checked by the clients users deploy with: onnx.checker and
# onnxruntime (PyPI, the cached environment of scripts/py_tools_env.sh) on
# the exported DARTS_V2, AmoebaNet (every DARTS op but dil_conv_5x5),
# ProxylessNAS (mobile) and FBNet-A, a trained NB201 network and a trained,
# searched DARTS cell (logits equal naskit's on the same inputs, batch 1 and
# the sample's: tests/onnx_check.py); the state_dict format loaded by
# Debian's python3-torch; clear errors.
set -u
nas="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect CODE PATTERN -- command...: exit code and a pattern in the output.
expect() {
  local code=$1 pattern=$2
  shift 3
  local out
  out=$("$@" 2>&1)
  local rc=$?
  [[ $rc -eq $code && "$out" =~ $pattern ]] || fail "$* -> exit $rc (expected $code), output: $out"
}

py=$("$root/scripts/py_tools_env.sh") || { echo "FAIL: no Python environment with onnxruntime"; exit 1; }
check() { "$py" "$root/tests/onnx_check.py" "$@" || failures=$((failures + 1)); }
tiny=(--dataset synthetic --set data.synthetic.train_size=128 --set data.synthetic.size=8
      --set data.synthetic.channels=1 --threads 1 -q --seed 5)

# Published genotypes with fresh weights, at Fashion-MNIST's and CIFAR-10's shapes.
"$nas" export --arch-file "$root/configs/nets/darts_v2.txt" --C 8 --layers 5 --in-channels 1 \
  --input-size 28 --out "$tmp/v2.onnx" --sample "$tmp/v2.json" >/dev/null || fail "export DARTS_V2"
check "$tmp/v2.onnx" "$tmp/v2.json"
cat >"$tmp/amoeba.txt" <<'GENOTYPE'
Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])
GENOTYPE
"$nas" export --arch-file "$tmp/amoeba.txt" --C 8 --layers 5 --out "$tmp/amoeba.onnx" \
  --sample "$tmp/amoeba.json" >/dev/null || fail "export AmoebaNet"
check "$tmp/amoeba.onnx" "$tmp/amoeba.json"

# The chains' published nets: MBConv with ReLU6 (ProxylessNAS), and FBNet's
# grouped 1x1 convs with channel shuffle, skip projections and conv biases.
for net in chain_proxyless:proxyless_mobile chain_fbnet:fbnet_a; do
  "$nas" export --space "${net%%:*}" --arch-file "$root/configs/nets/${net#*:}.txt" --input-size 32 \
    --out "$tmp/${net#*:}.onnx" --sample "$tmp/${net#*:}.json" --sample-batch 3 >/dev/null ||
    fail "export ${net#*:}"
  check "$tmp/${net#*:}.onnx" "$tmp/${net#*:}.json"
done

# Trained networks (BatchNorm on real running statistics): an NB201 cell,
# and the cell a DARTS search found.
nb201='|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'
"$nas" train --space nb201 --arch "$nb201" --C 4 --cells-per-stage 1 --epochs 2 "${tiny[@]}" \
  --out "$tmp/nb201" >/dev/null 2>&1 || fail "nas train nb201"
"$nas" export --from-run "$tmp/nb201" --out "$tmp/nb201.onnx" --sample "$tmp/nb201.json" \
  --sample-batch 7 >/dev/null || fail "export the nb201 run"
check "$tmp/nb201.onnx" "$tmp/nb201.json" "$nb201"
"$nas" search --epochs 2 --C 2 --layers 3 --batch 16 "${tiny[@]}" --out "$tmp/search" >/dev/null 2>&1 ||
  fail "the search"
"$nas" train --from-run "$tmp/search" --epochs 2 --C 4 --layers 3 "${tiny[@]}" --out "$tmp/train" \
  >/dev/null 2>&1 || fail "nas train --from-run"
"$nas" export --from-run "$tmp/train" --out "$tmp/found.onnx" --sample "$tmp/found.json" >/dev/null ||
  fail "export the trained DARTS run"
arch=$(sed -nE 's/.*"arch": "(.*)",?$/\1/p' "$tmp/train/result.json")
check "$tmp/found.onnx" "$tmp/found.json" "$arch"

# state_dict: Debian's python3-torch loads it; every weight is there.
"$nas" export --from-run "$tmp/train" --format state_dict --out "$tmp/found.pt" >/dev/null ||
  fail "export --format state_dict"
/usr/bin/python3 - "$tmp/found.pt" "$tmp/train/result.json" <<'PY' || fail "torch.load of the state_dict"
import json, sys
import torch
d = torch.load(sys.argv[1])
total = sum(v.numel() for k, v in d.items() if not k.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked"))
want = json.load(open(sys.argv[2]))["params_total"]
assert isinstance(d, dict) and "classifier.weight" in d, sorted(d)[:5]
assert total == want, f"{total} weights in the state_dict, {want} in result.json"
print(f"ok state_dict: {len(d)} tensors, {total} weights")
PY

# Clear errors, nothing written.
expect 2 "no weights.pt" -- "$nas" export --from-run "$tmp/search" --out "$tmp/x.onnx"
expect 2 "is a run of the nb201 space" -- "$nas" export --from-run "$tmp/nb201" --space darts --out "$tmp/x.onnx"
mkdir -p "$tmp/unfinished" && cp "$tmp/train/config.json" "$tmp/unfinished/"
expect 2 "has not finished" -- "$nas" export --from-run "$tmp/unfinished" --out "$tmp/x.onnx"
expect 2 "expected onnx or state_dict" -- "$nas" export --arch-file "$root/configs/nets/darts_v2.txt" --format tflite --out "$tmp/x"
[[ ! -e "$tmp/x.onnx" && ! -e "$tmp/x" ]] || fail "a failed export left a file behind"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "export: onnxruntime and torch.load agree with naskit"
