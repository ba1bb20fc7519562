#!/usr/bin/env bash
# Faults a user can hand `nas`: bad study configs and directories, objective
# and latency inputs, estimator inputs, edited run files, binary files,
# and the environment (a full filesystem, a read-only run directory, two
# processes on one --out). Each must give a clear error — the expected exit
# code, a message naming what was expected or the file, no crash, no raw
# library text — and lose nothing that was already written.
set -u
nas="$1"
tmp=$(mktemp -d)
cleanup() {
  mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
  chmod -R u+w "$tmp" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Text that must never reach a user: a crash, an uncaught exception, a
# library's own exception text.
raw='terminate called|Segmentation|Aborted|core dumped|json\.exception|Exception raised from|what\(\)|std::|c10::|basic_string'

# clear CODE PATTERN -- command...: exit code, a pattern in stdout+stderr,
# and no raw text.
clear() {
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  checks=$((checks + 1))
  [[ $rc -eq $code ]] || fail "'$*' exited $rc, expected $code: ${out:0:400}"
  grep -qE -- "$pattern" <<<"$out" || fail "'$*' output lacks /$pattern/: ${out:0:400}"
  if grep -qE -- "$raw" <<<"$out"; then fail "'$*' printed raw text: ${out:0:400}"; fi
}

tiny=(--dataset synthetic --C 2 --layers 3 --cells-per-stage 1 --batch 16
      --set data.synthetic.train_size=64 --set data.synthetic.size=8
      --set data.synthetic.channels=1 --threads 1 -q)
nb="|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"

# A benchmark table of every NB201 architecture (synthetic accuracies).
awk -f "$(dirname "$0")/nb201_table.awk" >"$tmp/table.csv"
tab() { echo --set "estimator.options.file=$1" --set estimator.options.metric=acc; }

# --- study configs and directories -----------------------------------------
study_cfg() {  # study_cfg FILE STRATEGIES SEEDS [EXTRA]
  cat >"$1" <<EOF
{"search": {"space": {"name": "nb201"}, "budget": {"trials": 4},
            "estimator": {"name": "tabular", "options": {"file": "$tmp/table.csv", "metric": "acc"}}},
 "seeds": $3, "strategies": $2, "recipes": "shared", "budget": {"rule": "none"}${4:-},
 "evaluation": {"estimator": "tabular", "options": {"file": "$tmp/table.csv", "metric": "acc"}, "seeds": [0]}}
EOF
}
study_cfg "$tmp/s-types.json" '"random"' '[0]'
clear 2 "study.strategies.: expected array" -- "$nas" study run --config "$tmp/s-types.json" --out "$tmp/s0"
study_cfg "$tmp/s-empty.json" '[]' '[0]'
clear 2 "strategies: expected a non-empty list" -- "$nas" study run --config "$tmp/s-empty.json" --out "$tmp/s0"
study_cfg "$tmp/s-dup.json" '["random", "random"]' '[0]'
clear 2 "random.*(twice|duplicate|more than once)" -- "$nas" study run --config "$tmp/s-dup.json" --out "$tmp/s0"
study_cfg "$tmp/s-seeds.json" '["random"]' '[]'
clear 2 "seeds" -- "$nas" study run --config "$tmp/s-seeds.json" --out "$tmp/s0"
study_cfg "$tmp/s-seedtype.json" '["random"]' '["one"]'
clear 2 "seeds" -- "$nas" study run --config "$tmp/s-seedtype.json" --out "$tmp/s0"
study_cfg "$tmp/s-dupseed.json" '["random"]' '[1, 1]'
clear 2 "seeds" -- "$nas" study run --config "$tmp/s-dupseed.json" --out "$tmp/s0"
[[ ! -e "$tmp/s0" ]] || fail "a refused study config left a directory behind"

study_cfg "$tmp/s.json" '["random", "evolution"]' '[0, 1]'
"$nas" study run --config "$tmp/s.json" --out "$tmp/study" -q >/dev/null 2>&1 || fail "the reference study"
"$nas" study report "$tmp/study" >/dev/null 2>&1 || fail "the reference study report"
cp "$tmp/study/report.json" "$tmp/report.good.json"
# Corrupt study.json: refused on resume and report, naming the file.
cp -r "$tmp/study" "$tmp/study-cut"
head -c 40 "$tmp/study/study.json" >"$tmp/study-cut/study.json"
clear 2 "study-cut/study.json" -- "$nas" study run --resume "$tmp/study-cut"
clear 2 "study-cut/study.json" -- "$nas" study report "$tmp/study-cut"
printf '\x00\xff\x13binary' >"$tmp/study-cut/study.json"
clear 2 "study-cut/study.json" -- "$nas" study report "$tmp/study-cut"
# Corrupt or edited run records: the report names the run, keeps the others.
cp -r "$tmp/study" "$tmp/study-rec"
r0="$tmp/study-rec/runs/random/seed0"
echo '{"arch": 42}' >"$r0/result.json"
head -c 10 "$tmp/study/runs/random/seed1/evaluation.json" >"$tmp/study-rec/runs/random/seed1/evaluation.json"
echo '{"arch": "|nope~0|", "search_seconds": 1}' >"$tmp/study-rec/runs/evolution/seed0/result.json"
clear 0 "random seed 0: unreadable" -- "$nas" study report "$tmp/study-rec"
grep -q 'random seed 1: unreadable.*evaluation.json' "$tmp/study-rec/report.md" ||
  fail "report.md does not name the truncated evaluation.json: $(grep -i unreadable "$tmp/study-rec/report.md")"
grep -q 'evolution seed 0: unreadable.*unknown op' "$tmp/study-rec/report.md" ||
  fail "report.md does not name the bad architecture"
grep -q '"evolution seed 1' "$tmp/study-rec/report.json" &&
  fail "the intact run was reported as a problem"
# A half-written study (a run directory without a result): reported as
# unfinished, finished by --resume, nothing finished redone.
cp -r "$tmp/study" "$tmp/study-half"
rm "$tmp/study-half/runs/evolution/seed1/result.json" "$tmp/study-half/runs/evolution/seed1/evaluation.json"
clear 0 "evolution seed 1: unfinished" -- "$nas" study report "$tmp/study-half"
lines=$(wc -l <"$tmp/study-half/study.jsonl")
clear 0 "4 searches, 4 evaluated, 0 failed" -- "$nas" study run --resume "$tmp/study-half"
[[ $(($(wc -l <"$tmp/study-half/study.jsonl") - lines)) -eq 2 ]] ||
  fail "resuming a half-written study redid finished tasks (study.jsonl grew by $(($(wc -l <"$tmp/study-half/study.jsonl") - lines)), expected 2)"
for f in "$tmp"/study/runs/*/seed*/trials.jsonl; do
  rel=${f#"$tmp/study/"}
  [[ "$(cut -d, -f1-4 "$f")" == "$(cut -d, -f1-4 "$tmp/study-half/$rel")" ]] ||
    fail "the resumed study's $rel differs from the uninterrupted one"
done

# --- objective and latency inputs ------------------------------------------
lat=(search --space nb201 --strategy darts --epochs 1 "${tiny[@]}")
: >"$tmp/empty.json"
echo '{"format": "naskit-cost-table", "kind": "latency"' >"$tmp/trunc.json"
printf 'not json at all\n' >"$tmp/text.json"
clear 2 "no-such.json" -- "$nas" "${lat[@]}" --latency "$tmp/no-such.json" --out "$tmp/l0"
clear 2 "empty.json" -- "$nas" "${lat[@]}" --latency "$tmp/empty.json" --out "$tmp/l0"
clear 2 "trunc.json" -- "$nas" "${lat[@]}" --latency "$tmp/trunc.json" --out "$tmp/l0"
clear 2 "text.json" -- "$nas" "${lat[@]}" --latency "$tmp/text.json" --out "$tmp/l0"
"$nas" profile --space darts --C 2 --layers 3 --in-channels 1 --input-size 8 --quick \
  --out "$tmp/darts-lat.json" >/dev/null 2>&1 || fail "profile the darts space"
clear 2 "cost table of the 'darts' space" -- "$nas" "${lat[@]}" --latency "$tmp/darts-lat.json" --out "$tmp/l0"
"$nas" profile --space nb201 --C 2 --cells-per-stage 1 --in-channels 1 --input-size 8 --quick \
  --out "$tmp/nb-lat.json" >/dev/null 2>&1 || fail "profile the nb201 space"
clear 2 "sizes|C" -- "$nas" search --space nb201 --strategy darts --epochs 1 "${tiny[@]}" --C 4 \
  --latency "$tmp/nb-lat.json" --out "$tmp/l0"
printf 'nb201_idx,arch_str,lat_ms_pixel3\n0,%s,1.5\n' "$nb" >"$tmp/one.csv"
clear 2 "published:nosuchphone: unknown device; .*one.csv has: pixel3" -- "$nas" "${lat[@]}" \
  --latency published:nosuchphone --latency-data "$tmp/one.csv" --out "$tmp/l0"
printf '\x1f\x8b\x08\x00garbage-after-a-gzip-magic' >"$tmp/bad.csv.gz"
clear 2 "bad.csv.gz.*(corrupt gzip|header)" -- "$nas" "${lat[@]}" --latency published:pixel3 \
  --latency-data "$tmp/bad.csv.gz" --out "$tmp/l0"
printf 'nb201_idx,arch_str,lat_ms_pixel3\n0,%s\n' "$nb" >"$tmp/short.csv"
clear 2 "short.csv:2: 2 fields, expected 3" -- "$nas" "${lat[@]}" --latency published:pixel3 \
  --latency-data "$tmp/short.csv" --out "$tmp/l0"
printf 'nb201_idx,arch_str,lat_ms_pixel3\n0,%s,NaN\n' "$nb" >"$tmp/nan.csv"
clear 2 "nan.csv:2: column 3.*expected a number" -- "$nas" "${lat[@]}" --latency published:pixel3 \
  --latency-data "$tmp/nan.csv" --out "$tmp/l0"
printf 'nb201_idx,arch_str,lat_ms_pixel3\n0,|nope~0|,1.5\n' >"$tmp/badarch.csv"
clear 2 "badarch.csv:2.*unknown op" -- "$nas" "${lat[@]}" --latency published:pixel3 \
  --latency-data "$tmp/badarch.csv" --out "$tmp/l0"
for bad in lambda=-1 lambda=nan lambda=1e400 target_ms=-2 target_ms=0.5 beta=-1 mode=fastest max_ms=-1; do
  clear 2 "objective.latency.${bad%%=*}" -- "$nas" "${lat[@]}" --latency "$tmp/nb-lat.json" \
    --set "objective.latency.$bad" --out "$tmp/l0"
done
[[ ! -e "$tmp/l0" ]] || fail "a refused objective left a run directory behind"

# --- estimator inputs ---------------------------------------------------------
est=(search --space nb201 --strategy random --trials 3 --estimator tabular -q)
: >"$tmp/empty.csv"
printf 'name,acc\n%s,90\n' "$nb" >"$tmp/noarch.csv"
printf 'arch,acc\n%s,90\n%s,80\n' "$nb" "$nb" >"$tmp/dup.csv"
printf 'arch,acc\n%s,ninety\n' "$nb" >"$tmp/nonnum.csv"
printf 'arch,acc\n%s,90\n' "Genotype(normal=[('sep_conv_3x3', 0)])" >"$tmp/darts.csv"
printf '{"arch": "%s", "acc": 90}\n{"arch": "%s", "acc": \n' "$nb" "$nb" >"$tmp/bad.jsonl"
clear 2 "no-such.csv" -- "$nas" "${est[@]}" $(tab "$tmp/no-such.csv") --out "$tmp/e0"
clear 2 "empty.csv: expected at least one architecture" -- "$nas" "${est[@]}" $(tab "$tmp/empty.csv") --out "$tmp/e0"
clear 2 "noarch.csv.*arch" -- "$nas" "${est[@]}" $(tab "$tmp/noarch.csv") --out "$tmp/e0"
clear 2 "dup.csv: architecture .* is listed twice \\(lines 2 and 3\\)" -- "$nas" "${est[@]}" $(tab "$tmp/dup.csv") --out "$tmp/e0"
clear 2 "nonnum.csv:2: expected a finite number in column .acc." -- "$nas" "${est[@]}" $(tab "$tmp/nonnum.csv") --out "$tmp/e0"
clear 2 "darts.csv:2" -- "$nas" "${est[@]}" $(tab "$tmp/darts.csv") --out "$tmp/e0"
clear 2 "bad.jsonl:2" -- "$nas" "${est[@]}" $(tab "$tmp/bad.jsonl") --out "$tmp/e0"
clear 2 "metric.*accuracy.*acc|acc.*metric" -- "$nas" "${est[@]}" --set "estimator.options.file=$tmp/table.csv" \
  --set estimator.options.metric=accuracy --out "$tmp/e0"
# A large table (every NB201 architecture, 8 metric columns) reads fine.
awk -F, 'NR == 1 { print $0 ",m1,m2,m3,m4,m5,m6,m7"; next } { print $0 ",1,2,3,4,5,6,7" }' \
  "$tmp/table.csv" >"$tmp/wide.csv"
clear 0 "" -- "$nas" "${est[@]}" $(tab "$tmp/wide.csv") --out "$tmp/e-wide"
# The supernet estimator: missing, unfinished, other-space, other-size and corrupt runs.
sn=(search --space nb201 --strategy random --trials 2 --estimator supernet "${tiny[@]}")
clear 2 "estimator.supernet.run: expected a one-shot run directory" -- "$nas" "${sn[@]}" \
  --set "estimator.options.run=$tmp/no-run" --out "$tmp/e0"
"$nas" search --space nb201 --strategy random_ws --epochs 1 "${tiny[@]}" --out "$tmp/ws" >/dev/null 2>&1 ||
  fail "the one-shot run for the supernet estimator"
"$nas" search --space darts --strategy random_ws --epochs 1 "${tiny[@]}" --out "$tmp/ws-darts" >/dev/null 2>&1 ||
  fail "the darts one-shot run"
clear 0 "" -- "$nas" "${sn[@]}" --set "estimator.options.run=$tmp/ws" --out "$tmp/e-ws"
cp -r "$tmp/ws" "$tmp/ws-unfinished" && rm "$tmp/ws-unfinished/result.json"
clear 0 "has not finished" -- "$nas" search --space nb201 --strategy random --trials 2 --estimator supernet \
  "${tiny[@]:0:18}" --set "estimator.options.run=$tmp/ws-unfinished" --out "$tmp/e-unf"
clear 2 "searched the 'darts' space" -- "$nas" "${sn[@]}" --set "estimator.options.run=$tmp/ws-darts" --out "$tmp/e0"
cp -r "$tmp/ws" "$tmp/ws-size" && sed -i "s/^    \"C\": 2,/    \"C\": 4,/" "$tmp/ws-size/config.json"
clear 2 "checkpoint.pt: no supernet of this space and size" -- "$nas" "${sn[@]}" \
  --set "estimator.options.run=$tmp/ws-size" --out "$tmp/e0"
cp -r "$tmp/ws" "$tmp/ws-corrupt"
printf 'garbage' | dd of="$tmp/ws-corrupt/checkpoint.pt" bs=1 seek=100 conv=notrunc 2>/dev/null
clear 1 "ws-corrupt/checkpoint.pt.*(checksum|corrupt|CRC)" -- "$nas" "${sn[@]}" --set "estimator.options.run=$tmp/ws-corrupt" --out "$tmp/e0"
for opt in batches=0 batches=-1 batches=1e9; do
  clear 2 "estimator.synflow.batches" -- "$nas" search --space nb201 --strategy random --trials 2 \
    --estimator synflow --set "estimator.options.$opt" "${tiny[@]}" --out "$tmp/e0"
done
[[ ! -e "$tmp/e0" ]] || fail "a refused estimator left a run directory behind"

# --- trial runs: edited or truncated trials.jsonl / checkpoint ---------------
trial=(search --space nb201 --strategy evolution --estimator tabular $(tab "$tmp/table.csv") -q)
"$nas" "${trial[@]}" --trials 6 --out "$tmp/tr" --set budget.stop_after_trials=3 >/dev/null 2>&1 ||
  "$nas" "${trial[@]}" --trials 6 --out "$tmp/tr" >/dev/null 2>&1
if [[ -f "$tmp/tr/checkpoint.pt" ]]; then
  rm -f "$tmp/tr/result.json"
  cp -r "$tmp/tr" "$tmp/tr-cut"
  head -c 30 "$tmp/tr/trials.jsonl" >"$tmp/tr-cut/trials.jsonl"
  clear 2 "tr-cut/trials.jsonl" -- "$nas" search --resume "$tmp/tr-cut"
  cp -r "$tmp/tr" "$tmp/tr-edit"
  sed -i '1s/"value":[^,]*/"value":1e9/' "$tmp/tr-edit/trials.jsonl"
  clear 2 "tr-edit/trials.jsonl" -- "$nas" search --resume "$tmp/tr-edit"
  cp -r "$tmp/tr" "$tmp/tr-ckpt"
  head -c 100 "$tmp/tr/checkpoint.pt" >"$tmp/tr-ckpt/checkpoint.pt"
  clear 1 "tr-ckpt/checkpoint.pt" -- "$nas" search --resume "$tmp/tr-ckpt"
fi

# --- other commands -------------------------------------------------------------
head -c 3000 /dev/urandom >"$tmp/binary.bin"
printf '\x00\x01\x02Genotype(\xff\xfe' >>"$tmp/binary.bin"
clear 2 "binary.bin" -- "$nas" show --space darts --arch-file "$tmp/binary.bin"
clear 2 "binary.bin" -- "$nas" show --space nb201 --arch-file "$tmp/binary.bin"
clear 2 "binary.bin" -- "$nas" rank --space nb201 --arch-file "$tmp/binary.bin" --estimator tabular --vs tabular \
  $(tab "$tmp/table.csv") --set "vs.options.file=$tmp/table.csv" --set vs.options.metric=acc --out "$tmp/rk0"
clear 2 "archs" -- "$nas" rank --space nb201 --archs 0 --estimator tabular --vs tabular $(tab "$tmp/table.csv") \
  --set "vs.options.file=$tmp/table.csv" --set vs.options.metric=acc --out "$tmp/rk0"
clear 2 "text.json:1:2: invalid JSON" -- "$nas" profile --space nb201 --table "$tmp/text.json" --validate 2 --quick
clear 2 "validate" -- "$nas" profile --space nb201 --table "$tmp/nb-lat.json" --validate -3 --quick
clear 2 "no-such-run: not a run directory" -- "$nas" plot --out "$tmp/p.svg" "$tmp/no-such-run"
mkdir -p "$tmp/plotbad" && echo '{"arch": 1, "search_seconds": "x"}' >"$tmp/plotbad/result.json"
clear 2 "plotbad/result.json" -- "$nas" plot --out "$tmp/p.svg" "$tmp/plotbad"
clear 2 "no-such-run: not a run directory" -- "$nas" train --from-run "$tmp/no-such-run" --epochs 1 "${tiny[@]}" --out "$tmp/t0"
mkdir -p "$tmp/badrun" && echo '{"space": 3}' >"$tmp/badrun/config.json" && echo '{"arch": 5}' >"$tmp/badrun/result.json"
clear 2 "badrun/result.json: expected a string at .arch." -- "$nas" train --from-run "$tmp/badrun" --epochs 1 "${tiny[@]}" --out "$tmp/t0"
clear 2 "badrun/config.json: expected a string at .space/name." -- "$nas" show --from-run "$tmp/badrun"

# --- the environment -------------------------------------------------------------
# Two processes writing one --out: the second is refused, the first unharmed.
long=(search --space nb201 --strategy darts --epochs 30 "${tiny[@]}")
"$nas" "${long[@]}" --out "$tmp/twice" >/dev/null 2>"$tmp/twice.err" &
first=$!
for _ in $(seq 100); do [[ -f "$tmp/twice/config.json" ]] && break; sleep 0.1; done
clear 2 "another nas process \(pid $first\)" -- "$nas" search --resume "$tmp/twice"
mkdir -p "$tmp/twice2"
"$nas" "${long[@]}" --out "$tmp/twice2" >/dev/null 2>&1 &
second=$!
for _ in $(seq 100); do [[ -f "$tmp/twice2/config.json" ]] && break; sleep 0.1; done
clear 2 "(another nas process|already holds a run)" -- "$nas" "${long[@]}" --out "$tmp/twice2"
kill -INT "$first" "$second" 2>/dev/null
wait "$first" "$second" 2>/dev/null
[[ -f "$tmp/twice/config.json" ]] || fail "the first writer's run lost its config.json"
# A read-only run directory: a clear error, nothing changed.
mkdir -p "$tmp/ro"
chmod a-w "$tmp/ro"
if [[ $(id -u) -ne 0 ]]; then
  clear 1 "ro.*Permission denied" -- "$nas" "${lat[@]}" --out "$tmp/ro"
else
  # root writes anywhere; a read-only bind mount stands in.
  if mount --bind "$tmp/ro" "$tmp/ro" 2>/dev/null && mount -o remount,bind,ro "$tmp/ro" 2>/dev/null; then
    clear 1 "ro.*(Read-only file system|Permission denied)" -- "$nas" "${lat[@]}" --out "$tmp/ro"
    umount "$tmp/ro"
  else
    echo "note: no read-only mount here; the read-only check is skipped"
  fi
fi
chmod u+w "$tmp/ro"
# A full filesystem (a small tmpfs): a clear error, the previous checkpoint
# intact, and the run resumes once there is space again.
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=16m tmpfs "$tmp/full" 2>/dev/null; then
  run="$tmp/full/run"
  "$nas" search --space darts --strategy darts --epochs 20 "${tiny[@]}" --out "$run" >/dev/null 2>"$tmp/full.err" &
  pid=$!
  for _ in $(seq 300); do [[ -f "$run/checkpoint.pt" ]] && break; sleep 0.1; done
  kill -STOP "$pid" 2>/dev/null
  size=$(stat -c %s "$run/checkpoint.pt" 2>/dev/null || echo 0)
  cp "$run/checkpoint.pt" "$tmp/ckpt.before" 2>/dev/null
  # Fill what is left, so the next checkpoint cannot be written.
  dd if=/dev/zero of="$tmp/full/filler" bs=64k 2>/dev/null
  kill -CONT "$pid" 2>/dev/null
  wait "$pid"
  rc=$?
  out=$(cat "$tmp/full.err")
  checks=$((checks + 1))
  [[ $rc -eq 1 ]] || fail "full filesystem: exit $rc, expected 1: ${out:0:300}"
  grep -q "No space left on device" <<<"$out" || fail "full filesystem: no clear reason: ${out:0:300}"
  if grep -qE -- "$raw" <<<"$out"; then fail "full filesystem: raw text: ${out:0:300}"; fi
  [[ ! -e "$run/checkpoint.pt.tmp" ]] || fail "full filesystem: a temporary checkpoint was left behind"
  [[ -f "$run/checkpoint.pt" ]] && core_ok=1 || core_ok=0
  [[ $core_ok -eq 1 ]] || fail "full filesystem: the previous checkpoint is gone"
  rm -f "$tmp/full/filler"
  clear 0 "" -- "$nas" search --resume "$run" -q
  [[ -f "$run/result.json" ]] || fail "full filesystem: the resumed run did not finish"
  [[ $size -gt 0 ]] || fail "full filesystem: no checkpoint before the disk filled"
  umount "$tmp/full"
else
  echo "note: cannot mount a tmpfs here; the full-filesystem check is skipped"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures of $checks fault check(s) failed"
  exit 1
fi
echo "all $checks fault checks passed"
