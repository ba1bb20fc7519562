#!/usr/bin/env bash
# The README's baseline measurements on Fashion-MNIST (quick preset sizes,
# NB201 space): a one-shot DARTS search whose supernet the `supernet`
# estimator reuses; random search and regularized evolution over three
# estimators (scratch training, the supernet, synflow); an interrupted run
# resumed; and `nas rank` of supernet vs scratch. Prints a markdown table.
#
#   scripts/baselines.sh [OUT_DIR] [SCRATCH_EPOCHS] [SCRATCH_TRIALS]   (needs jq)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/baselines}
epochs=${2:-3}
trials=${3:-20}
nas=./build/tools/nas
common=(--preset quick --space nb201 --threads 2 -q)
mkdir -p "$out"

run() {  # run DIR ARGS...: a search unless DIR already holds its result
  local dir=$1
  shift
  if [[ ! -f $dir/result.json ]]; then
    rm -rf "$dir"
    "$nas" search "${common[@]}" --out "$dir" "$@" >/dev/null
  fi
}

run "$out/darts" --strategy darts
for strategy in random evolution; do
  run "$out/$strategy-scratch" --strategy "$strategy" --estimator scratch \
    --set "estimator.options.epochs=$epochs" --trials "$trials"
  run "$out/$strategy-supernet" --strategy "$strategy" --estimator supernet \
    --set "estimator.options.run=$out/darts" --trials 100
  run "$out/$strategy-synflow" --strategy "$strategy" --estimator synflow --trials 200
done

# An interrupted scratch search, resumed, must equal the uninterrupted one.
resumed="$out/evolution-scratch-resumed"
if [[ ! -f $resumed/result.json ]]; then
  rm -rf "$resumed"
  "$nas" search "${common[@]}" --out "$resumed" --strategy evolution --estimator scratch \
    --set "estimator.options.epochs=$epochs" --trials "$trials" >/dev/null &
  pid=$!
  sleep 25
  kill -INT "$pid"
  wait "$pid" || true
  "$nas" search --resume "$resumed" -q >/dev/null
fi
strip() { sed -E 's/"seconds":[0-9.e+-]+,?//g' "$1/trials.jsonl"; }
if cmp -s <(strip "$out/evolution-scratch") <(strip "$resumed"); then
  echo "resume: the interrupted evolution-scratch run equals the uninterrupted one"
else
  echo "resume: MISMATCH between $out/evolution-scratch and $resumed" >&2
  exit 1
fi

rank="$out/rank-supernet-vs-scratch"
if [[ ! -f $rank/result.json ]]; then
  rm -rf "$rank"
  "$nas" rank "${common[@]}" --archs "$trials" --estimator supernet \
    --set "estimator.options.run=$out/darts" --vs scratch --set "vs.options.epochs=$epochs" \
    --out "$rank" >/dev/null
fi

echo
echo "| strategy | estimator | trials | best estimate | best architecture | estimator s | search s |"
echo "|---|---|---:|---:|---|---:|---:|"
for strategy in random evolution; do
  for estimator in scratch supernet synflow; do
    f="$out/$strategy-$estimator/result.json"
    jq -r --arg s "$strategy" --arg e "$estimator" \
      '"| \($s) | \($e) | \(.trials) | \(.estimate.metric) \(.estimate.value | if fabs < 1000 then (. * 10000 | round / 10000) else tostring end) | `\(.arch)` | \(.estimator_seconds | round) | \(.search_seconds | round) |"' "$f"
  done
done
echo
jq -r '"darts one-shot (quick): derived_acc \(.final.derived_acc * 10000 | round / 10000), \(.search_seconds | round) s, `\(.arch)`"' "$out/darts/result.json"
jq -r '.rank | "nas rank: \(.estimator) vs \(.vs) over \(.n) architectures: Kendall tau \(.kendall_tau * 1000 | round / 1000), Spearman \(.spearman * 1000 | round / 1000)"' "$rank/result.json"
