#!/usr/bin/env bash
# Tests of the `nas` command line: exit codes, messages, a tiny end-to-end
# search and train on synthetic data, determinism across processes.
set -u
nas="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN -- command...: exit code and a pattern in stdout+stderr.
expect() {
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [[ $rc -eq $code ]] || fail "'$*' exited $rc, expected $code: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "'$*' output lacks /$pattern/: $out"
}

expect 0 "LibTorch [0-9]+\.[0-9]+" -- "$nas" --version
expect 0 "one-shot strategies:" -- "$nas" list
expect 0 "trial strategies:" -- "$nas" list strategies
expect 0 "darts" -- "$nas" list spaces
expect 2 "error: unrecognised option '--no-such-flag'" -- "$nas" search --no-such-flag
expect 2 "unknown strategy 'dartz'; valid names: asap, darts" -- "$nas" search --strategy dartz
expect 2 "unknown command 'serch'" -- "$nas" serch
expect 2 "error: " -- "$nas" search --epochs ten
expect 2 "unknown option 'config.epoch'" -- "$nas" search --set epoch=3
expect 2 "unknown search preset 'fast'" -- "$nas" search --preset fast
expect 1 "no such file" -- "$nas" search --dataset mnist --data-dir "$tmp/none" --out "$tmp/r0"
expect 2 "unknown op 'sep_conv_9x9'" -- "$nas" show --arch "Genotype(normal=[('sep_conv_9x9', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])"
expect 2 "CUDA" -- "$nas" search --device cuda --out "$tmp/r1"
expect 2 "expected an even C" -- "$nas" show --supernet --C 3 --json
expect 2 "cells per stage >= 1" -- "$nas" show --space nb201 --supernet --cells-per-stage 0 --json
# Hostile input: clear errors with exit 2, never a crash or raw library text.
expect 2 "nested deeper than 8" -- "$nas" show --space darts --arch "Genotype(normal=$(printf '[%.0s' $(seq 40000)))"
expect 2 "layers <= 200" -- "$nas" show --supernet --layers 100000 --json
expect 2 "cells per stage <= 66" -- "$nas" show --space nb201 --supernet --cells-per-stage 100000 --json
expect 2 "cuda or cuda:N" -- "$nas" search --device cuda:99999999999
expect 2 "number overflow" -- "$nas" search --set seed=1e400
expect 2 "lists no input" -- "$nas" show --space nb201 --arch "|+|+|"
expect 2 "stem_multiplier 0" -- "$nas" search --set space.options.stem_multiplier=0 --out "$tmp/sm"
[[ ! -e "$tmp/sm" ]] || fail "a failed config left a run directory"
mkdir -p "$tmp/adir" && : >"$tmp/empty.txt"
expect 1 "is a directory" -- "$nas" show --arch-file "$tmp/adir"
expect 2 "the file is empty" -- "$nas" show --arch-file "$tmp/empty.txt"
printf '{"a": %s1%s}' "$(printf '[%.0s' $(seq 100))" "$(printf ']%.0s' $(seq 100))" >"$tmp/deep.json"
expect 2 "deep.json:1:.*nested deeper than 64" -- "$nas" search --config "$tmp/deep.json"

v2="Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
expect 0 '"params": 3349342' -- "$nas" show --space darts --arch "$v2" --json
expect 0 '"params_total": 3825768' -- "$nas" show --space darts --arch "$v2" --auxiliary --json
expect 0 '"params": 1929754' -- "$nas" show --space darts --supernet --in-channels 1 --json
expect 0 '"arch_params": 224' -- "$nas" show --space darts --supernet --json
"$nas" show --arch "$v2" --dot "$tmp/cell.dot" >/dev/null || fail "show --dot"
grep -q "digraph" "$tmp/cell.dot" || fail "no Graphviz output"

# A tiny search on synthetic data, twice with one seed and once with another.
search() {
  "$nas" search --dataset synthetic --epochs 2 --C 2 --layers 3 --batch 16 \
    --set data.synthetic.train_size=96 --set data.synthetic.size=8 \
    --set data.synthetic.channels=1 --threads 1 -q "$@"
}
search --seed 1 --out "$tmp/a" >/dev/null || fail "search a"
search --seed 1 --out "$tmp/b" >/dev/null || fail "search b"
search --seed 2 --out "$tmp/c" >/dev/null || fail "search c"
strip() { sed -E 's/"(seconds|peak_rss_mib)":[^,}]*//g' "$1"; }
[[ "$(strip "$tmp/a/log.jsonl")" == "$(strip "$tmp/b/log.jsonl")" ]] || fail "same seed, different log.jsonl"
[[ "$(strip "$tmp/a/log.jsonl")" != "$(strip "$tmp/c/log.jsonl")" ]] || fail "other seed, same log.jsonl"
for f in config.json env.json log.jsonl checkpoint.pt result.json; do
  [[ -f "$tmp/a/$f" ]] || fail "run directory lacks $f"
done
expect 2 "already holds a run" -- search --seed 1 --out "$tmp/a"
mkdir -p "$tmp/stray" && echo mine >"$tmp/stray/notes.txt"
expect 2 "not empty and holds no run" -- search --seed 1 --out "$tmp/stray"
[[ "$(cat "$tmp/stray/notes.txt")" == mine && ! -e "$tmp/stray/log.jsonl" ]] || fail "a stray directory was written to"
expect 2 "has finished" -- "$nas" search --resume "$tmp/a"
expect 2 "--epochs, --seed cannot be given with --resume|--seed, --epochs cannot be given with --resume" -- "$nas" search --resume "$tmp/a" --epochs 9 --seed 3
expect 2 "--set cannot be given with --resume" -- "$nas" train --resume "$tmp/a" --set train.epochs=2
arch=$(sed -nE 's/.*"arch": "(.*)",?$/\1/p' "$tmp/a/result.json")
expect 0 '"params"' -- "$nas" show --arch "$arch" --json
expect 0 "test accuracy" -- "$nas" train --from-run "$tmp/a" --epochs 1 --C 4 --layers 3 \
  --set data.synthetic.train_size=96 --set data.synthetic.size=8 \
  --set data.synthetic.channels=1 --threads 1 -q --out "$tmp/t"
[[ -f "$tmp/t/weights.pt" && -f "$tmp/t/result.json" ]] || fail "train run directory incomplete"

# Every strategy on every space runs to a result.json whose "arch" parses
# back with `nas show`.
for space in darts nb201; do
  for strategy in darts snas gdas proxyless fairnas random_ws; do
    dir="$tmp/$space-$strategy"
    extra=()
    [[ $strategy == fairnas || $strategy == random_ws ]] &&
      extra=(--set strategy.options.eval_archs=4 --set strategy.options.epoch_eval_archs=2)
    if ! "$nas" search --space "$space" --strategy "$strategy" --dataset synthetic \
        --epochs 2 --C 4 --layers 3 --cells-per-stage 1 --batch 16 \
        --set data.synthetic.train_size=64 --set data.synthetic.size=8 \
        --set data.synthetic.channels=1 "${extra[@]}" \
        --threads 1 -q --out "$dir" >/dev/null 2>"$dir.err"; then
      fail "search $space/$strategy: $(cat "$dir.err")"
      continue
    fi
    arch=$(sed -nE 's/.*"arch": "(.*)",?$/\1/p' "$dir/result.json")
    "$nas" show --space "$space" --arch "$arch" --json >/dev/null 2>"$dir.err" ||
      fail "show $space/$strategy '$arch': $(cat "$dir.err")"
  done
done
# The published chain networks paste in with their reference parameter
# counts (torchvision, pytorchcv's asserts, xiaomi-automl/FairNAS models/).
nets="$(dirname "$0")/../configs/nets"
imagenet=(--space chain_proxyless --classes 1000 --input-size 224 --in-channels 3 --json)
for pair in mobilenet_v2:3504872 mnasnet_b1:4383312 proxyless_mobile:4080512 \
    proxyless_cpu:4361648 proxyless_gpu:7119848 fairnas_a:4651352 fairnas_b:4506272 \
    fairnas_c:4397864; do
  expect 0 "\"params\": ${pair#*:}," -- "$nas" show "${imagenet[@]}" --arch-file "$nets/${pair%%:*}.txt"
done
expect 0 "multiply-adds: 300.77 M" -- "$nas" show --space chain_proxyless --classes 1000 \
  --input-size 224 --arch-file "$nets/mobilenet_v2.txt"
expect 2 "'zero' where the block has no residual" -- "$nas" show --space chain_proxyless \
  --arch "proxyless:zero$(printf ',mb6_k3%.0s' $(seq 20))"
# A chain search end to end, its answer shown.
"$nas" search --space chain_proxyless --strategy gdas --dataset synthetic --epochs 1 \
  --width-mult 0.05 --batch 16 --set data.synthetic.train_size=32 --set data.synthetic.size=8 \
  --set data.synthetic.channels=1 --threads 1 -q --out "$tmp/chain" >/dev/null 2>"$tmp/chain.err" ||
  fail "chain search: $(cat "$tmp/chain.err")"
expect 0 "block 20" -- "$nas" show --from-run "$tmp/chain"
expect 0 '"space": "nb201"' -- "$nas" show --from-run "$tmp/nb201-gdas" --json
expect 0 '"params": 1692826' -- "$nas" show --space nb201 --supernet --json
arch_nb201="|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
expect 0 '"params": 1531546' -- "$nas" show --space nb201 --arch "$arch_nb201" --json

# Latency: a profiled table, its validation, prediction and measurement of
# one network, a search with a latency term, a plot, and clear errors.
sizes=(--space nb201 --C 2 --cells-per-stage 1 --in-channels 1 --input-size 8)
expect 0 "latency table of the nb201 space" -- "$nas" profile "${sizes[@]}" --quick --out "$tmp/lat.json"
expect 0 "Spearman" -- "$nas" profile --space nb201 --table "$tmp/lat.json" --validate 3 --quick
expect 0 "latency table of the nb201 space" -- "$nas" profile "${sizes[@]}" --quick --method network --out "$tmp/latnet.json"
expect 2 "expected ops or network" -- "$nas" profile "${sizes[@]}" --quick --method guess --out "$tmp/latx.json"
grep -q '"validation"' "$tmp/lat.json" || fail "--validate did not write into the table"
expect 0 '"measured_latency_ms"' -- "$nas" show "${sizes[@]}" --arch "$arch_nb201" \
  --latency "$tmp/lat.json" --measure-latency --json
expect 0 '"latency_ms"' -- "$nas" show "${sizes[@]}" --arch "$arch_nb201" --latency "$tmp/lat.json" --json
expect 2 "no-such-table.json" -- "$nas" show --space nb201 --arch "$arch_nb201" --latency "$tmp/no-such-table.json"
expect 2 "objective.latency.lambda: expected a number >= 0" -- "$nas" search --space nb201 \
  --latency "$tmp/lat.json" --set objective.latency.lambda=-1
expect 2 "objective.latency.table is empty" -- "$nas" search --set objective.latency.lambda=1
expect 2 "a cost table of the 'nb201' space" -- "$nas" search --space darts --latency "$tmp/lat.json" --out "$tmp/wrong"
for lambda in 0 1; do
  "$nas" search --space nb201 --strategy darts --dataset synthetic --epochs 2 --C 2 \
    --cells-per-stage 1 --batch 16 --set data.synthetic.train_size=64 \
    --set data.synthetic.size=8 --set data.synthetic.channels=1 --threads 1 -q \
    --latency "$tmp/lat.json" --set objective.latency.lambda=$lambda --out "$tmp/lat$lambda" \
    >/dev/null 2>"$tmp/lat.err" || fail "latency search: $(cat "$tmp/lat.err")"
  grep -q '"expected_latency_ms"' "$tmp/lat$lambda/log.jsonl" || fail "log.jsonl lacks the expected latency"
  grep -q '"latency_ms"' "$tmp/lat$lambda/result.json" || fail "result.json lacks the latency"
done
expect 0 "darts" -- "$nas" plot --out "$tmp/plot.svg" "$tmp/lat0" "$tmp/lat1"
grep -q "<svg" "$tmp/plot.svg" || fail "nas plot wrote no SVG"
if "$nas" list objectives | grep -q "pixel3"; then
  expect 0 '"latency_ms": 3.6058' -- "$nas" show --space nb201 --json --latency published:pixel3 \
    --arch "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
  expect 0 "held_out" -- "$nas" profile --space nb201 --table published:pixel3
else
  echo "note: no published latency data here; the published checks are skipped"
fi

# Trial strategies: a benchmark table, random search and evolution, an
# interrupted run resumed, nas rank; and clear errors.
awk -f "$(dirname "$0")/nb201_table.awk" >"$tmp/table.csv"
table=(--space nb201 --estimator tabular --set "estimator.options.file=$tmp/table.csv" -q)
expect 2 "expected a benchmark file" -- "$nas" search --space nb201 --strategy random --estimator tabular --out "$tmp/t0"
expect 2 "no-such.csv" -- "$nas" search --space nb201 --strategy random --estimator tabular \
  --set estimator.options.file="$tmp/no-such.csv" --out "$tmp/t0"
expect 2 "strategy.evolution.population: expected 1" -- "$nas" search --strategy evolution --set strategy.options.population=0
expect 2 "budget.trials: expected 0 or more" -- "$nas" search --strategy random --trials -2
expect 0 "\|" -- "$nas" search --strategy evolution "${table[@]}" --trials 12 --out "$tmp/t1"
[[ $(wc -l <"$tmp/t1/trials.jsonl") -eq 12 ]] || fail "evolution: expected 12 lines in trials.jsonl"
grep -q '"trials": 12' "$tmp/t1/result.json" || fail "result.json lacks the trial count"
"$nas" search --strategy random "${table[@]}" --trials 10 --out "$tmp/t2" >/dev/null 2>&1 || fail "random search"
head -30 "$tmp/table.csv" >"$tmp/small.csv"
"$nas" search --strategy random --space nb201 --estimator tabular --set "estimator.options.file=$tmp/small.csv" \
  --trials 10 --out "$tmp/t3" --set budget.max_failures_in_a_row=3 >/dev/null 2>"$tmp/t3.err" || true
grep -q "in a row failed" "$tmp/t3.err" || fail "failures in a row: $(cat "$tmp/t3.err")"
expect 0 "Kendall tau" -- "$nas" rank --space nb201 --archs 8 --estimator tabular --vs tabular \
  --set "estimator.options.file=$tmp/table.csv" --set "vs.options.file=$tmp/table.csv" \
  --set budget.max_failures_in_a_row=0 -q --out "$tmp/rank"
expect 2 "expected --estimator A and --vs B" -- "$nas" rank --space nb201 --archs 3

# Studies: a study of two trial strategies over a benchmark table, its
# report, a resume with nothing left, and clear errors.
cat >"$tmp/study.json" <<EOF
{"search": {"space": {"name": "nb201"}, "budget": {"trials": 15},
            "estimator": {"name": "tabular", "options": {"file": "$tmp/table.csv"}}},
 "seeds": [0, 1, 2], "strategies": ["random", "evolution"], "recipes": "shared",
 "budget": {"rule": "none"},
 "evaluation": {"estimator": "tabular", "options": {"file": "$tmp/table.csv"}, "seeds": [0]}}
EOF
expect 0 "6 searches, 6 evaluated, 0 failed" -- "$nas" study run --config "$tmp/study.json" --out "$tmp/study"
expect 0 "evolution vs random" -- "$nas" study report "$tmp/study"
for f in report.md report.json figures/metric.svg figures/cost.svg figures/trials.svg; do
  [[ -s "$tmp/study/$f" ]] || fail "study report: $f missing"
done
expect 0 "6 searches, 6 evaluated" -- "$nas" study run --resume "$tmp/study"
[[ $(wc -l <"$tmp/study/study.jsonl") -eq 12 ]] || fail "study resume redid finished tasks"
expect 2 "not an empty directory" -- "$nas" study run --config "$tmp/study.json" --out "$tmp/study"
expect 2 "expected --out DIR" -- "$nas" study run --preset study-quick
expect 2 "not a study directory" -- "$nas" study report "$tmp/t1"
mkdir -p "$tmp/bad" && echo '{"seeds": "all"}' >"$tmp/bad/study.json"
expect 2 "study.json: not a study's config" -- "$nas" study report "$tmp/bad"
expect 2 "do not apply" -- "$nas" study run --resume "$tmp/study" --set seeds=[1]
expect 2 "unknown option 'study.sedes'" -- "$nas" study run --preset study-quick --set sedes=1 --print-config
expect 0 '"rule": "passes"' -- "$nas" study run --preset study-quick --print-config

if [[ $failures -gt 0 ]]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
