#!/usr/bin/env bash
# Side by side, alternating: ProxylessNAS's reference weight step
# (bench_proxyless.py over mit-han-lab/proxylessnas `search/`) vs naskit's
# `nas search --strategy proxyless` on the same chain (chain_proxyless at
# WIDTH, batch 32, 28x28x1, THREADS threads; weight steps only: naskit's first
# epoch after the warm-up has no alpha steps, as the reference's). Per-step
# time over all steps including the first, peak RSS, then the ratios
# (reference / naskit: > 1 = naskit faster).
#
#   bench/ref/proxyless_side_by_side.sh NAS REF_SEARCH_DIR [rounds] [width] [threads] [steps]
#
# REF_SEARCH_DIR: the reference's `search/` folder (e.g. `git -C GIT_DIR
# archive HEAD search | tar x`); Debian's python3-torch (1.13) runs it.
set -u
NAS=${1:?nas binary}; REF=${2:?reference search/ dir}; ROUNDS=${3:-3}; W=${4:-0.25}; T=${5:-2}
STEPS=${6:-10}
HERE=$(cd "$(dirname "$0")" && pwd); PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$tmp/all.jsonl
for r in $(seq "$ROUNDS"); do
  $PY "$HERE/bench_proxyless.py" --ref "$REF" --threads "$T" --width "$W" --warmup 1 \
    --iters $((STEPS - 1)) 2>/dev/null | $PY -c "
import json,sys; d=json.loads(sys.stdin.read()); s=[d['first_warmup_ms']]+d['all_ms']
print(json.dumps(dict(who='reference', round=$r, ms_per_step=round(sum(s)/len(s),1), peak_rss_mib=round(d['peak_rss_MiB'],1))))" >>"$out"
  rm -rf "$tmp/run"
  "$NAS" search --space chain_proxyless --strategy proxyless --width-mult "$W" --batch 32 \
    --train-subset $((32 * STEPS)) --val-subset $((32 * STEPS)) --epochs 1 --threads "$T" \
    --set strategy.options.eval_every=0 --out "$tmp/run" -q >/dev/null 2>&1 ||
    { echo "nas search failed"; exit 1; }
  $PY -c "
import json; r=[json.loads(l) for l in open('$tmp/run/log.jsonl')][0]
print(json.dumps(dict(who='naskit', round=$r, ms_per_step=round(r['seconds']*1000/$STEPS,1), peak_rss_mib=round(r['peak_rss_mib'],1))))" >>"$out"
done
cat "$out"
$PY - "$out" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = [r for r in rows if r['who'] == 'reference']; nas = [r for r in rows if r['who'] == 'naskit']
m = lambda rs, k: st.median(r[k] for r in rs)
print(f"proxyless weight step: speed-up reference/naskit {m(ref,'ms_per_step')/m(nas,'ms_per_step'):.2f}x, "
      f"memory naskit/reference {m(nas,'peak_rss_mib')/m(ref,'peak_rss_mib'):.2f}x "
      f"(ref {m(ref,'ms_per_step'):.0f} ms, naskit {m(nas,'ms_per_step'):.0f} ms per step)")
PY
