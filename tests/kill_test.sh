#!/usr/bin/env bash
# Kills a tiny search, a trial run and a study at random points (SIGINT,
# SIGTERM, SIGKILL), resumes each, and checks that the result equals the
# uninterrupted run: the same log.jsonl / trials.jsonl numbers, the same
# architecture, a study's tasks each done once and its report's numbers. A SIGKILL before the first
# checkpoint must give a clear refusal to resume, never a silent restart.
set -u
nas="$1"
trials="${2:-6}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
RANDOM=42  # the same kill points every run
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

search() {
  "$nas" search --dataset synthetic --epochs 3 --C 2 --layers 3 --batch 16 \
    --set data.synthetic.train_size=128 --set data.synthetic.size=8 \
    --set data.synthetic.channels=1 --threads 1 -q --seed 5 "$@"
}
strip() { sed -E 's/"(seconds|peak_rss_mib)":[^,}]*//g' "$1"; }
arch() { sed -nE 's/.*"arch": "(.*)",?$/\1/p' "$1/result.json"; }

start=$(date +%s.%N)
search --out "$tmp/whole" >/dev/null 2>&1 || { echo "FAIL: the uninterrupted search"; exit 1; }
whole_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')

signals=(INT TERM KILL)
for ((t = 0; t < trials; t++)); do
  sig=${signals[$((t % 3))]}
  dir="$tmp/run$t"
  # A kill point anywhere in the run (start-up included).
  delay=$(awk -v w="$whole_s" -v r=$((RANDOM % 100)) 'BEGIN { printf "%.2f", w * r / 100 }')
  # exec: the signal must reach nas itself, not a bash subshell.
  (exec "$nas" search --dataset synthetic --epochs 3 --C 2 --layers 3 --batch 16 \
    --set data.synthetic.train_size=128 --set data.synthetic.size=8 \
    --set data.synthetic.channels=1 --threads 1 -q --seed 5 --out "$dir" >/dev/null 2>"$dir.err") &
  pid=$!
  sleep "$delay"
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  if [[ -f "$dir/result.json" ]]; then
    :  # finished before the signal (or it came before the handler existed)
  elif [[ ! -f "$dir/config.json" ]]; then
    # Stopped before the run began: nothing may have been written.
    [[ ! -e "$dir/log.jsonl" && ! -e "$dir/checkpoint.pt" ]] ||
      fail "SIG$sig at ${delay}s: files written before config.json"
    echo "SIG$sig at ${delay}s: stopped before the run began (exit $rc)"
    continue
  elif [[ $sig != KILL && $rc -ne 130 ]]; then
    fail "SIG$sig at ${delay}s: exit $rc, expected 130: $(cat "$dir.err")"
    continue
  elif [[ ! -f "$dir/checkpoint.pt" ]]; then
    # Killed before the first checkpoint: resuming must refuse clearly.
    out=$("$nas" search --resume "$dir" 2>&1)
    [[ $? -eq 2 && ( "$out" == *"no checkpoint.pt"* || "$out" == *"not a run directory"* ) ]] ||
      fail "SIG$sig at ${delay}s without a checkpoint: resume said: $out"
    echo "SIG$sig at ${delay}s: no checkpoint yet; resume refused clearly"
    continue
  else
    "$nas" search --resume "$dir" -q >/dev/null 2>"$dir.err" ||
      { fail "resume after SIG$sig at ${delay}s: $(cat "$dir.err")"; continue; }
  fi
  [[ "$(strip "$tmp/whole/log.jsonl")" == "$(strip "$dir/log.jsonl")" ]] ||
    fail "SIG$sig at ${delay}s: log.jsonl differs from the uninterrupted run"
  [[ "$(arch "$tmp/whole")" == "$(arch "$dir")" ]] ||
    fail "SIG$sig at ${delay}s: another architecture"
  echo "SIG$sig at ${delay}s: ok (exit $rc)"
done
# Trial runs (evolution over a zero-cost estimator): kill at random points,
# resume, and the trials.jsonl must be the uninterrupted one (timing aside).
trial_args=(search --space nb201 --strategy evolution --estimator synflow --trials 1200
  --dataset synthetic --C 2 --cells-per-stage 1 --batch 16
  --set data.synthetic.train_size=64 --set data.synthetic.size=8
  --set data.synthetic.channels=1 --threads 1 -q --seed 3)
start=$(date +%s.%N)
"$nas" "${trial_args[@]}" --out "$tmp/twhole" >/dev/null 2>&1 || { echo "FAIL: the uninterrupted trial run"; exit 1; }
twhole_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
for ((t = 0; t < trials; t++)); do
  sig=${signals[$((t % 3))]}
  dir="$tmp/trun$t"
  delay=$(awk -v w="$twhole_s" -v r=$((RANDOM % 100)) 'BEGIN { printf "%.2f", w * r / 100 }')
  (exec "$nas" "${trial_args[@]}" --out "$dir" >/dev/null 2>"$dir.err") &
  pid=$!
  sleep "$delay"
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [[ ! -f "$dir/result.json" ]]; then
    if [[ ! -f "$dir/checkpoint.pt" ]]; then
      echo "trials, SIG$sig at ${delay}s: no checkpoint yet"
      continue
    fi
    "$nas" search --resume "$dir" -q >/dev/null 2>"$dir.err" ||
      { fail "trials: resume after SIG$sig at ${delay}s: $(cat "$dir.err")"; continue; }
  fi
  [[ "$(strip "$tmp/twhole/trials.jsonl")" == "$(strip "$dir/trials.jsonl")" ]] ||
    fail "trials, SIG$sig at ${delay}s: trials.jsonl differs from the uninterrupted run"
  [[ "$(arch "$tmp/twhole")" == "$(arch "$dir")" ]] || fail "trials, SIG$sig at ${delay}s: another answer"
  echo "trials, SIG$sig at ${delay}s: ok ($(wc -l <"$dir/trials.jsonl") trials)"
done

# A study (two trial strategies x two seeds, evaluated): kill it at random
# points, resume; nothing finished is redone and the report's numbers are
# those of the uninterrupted study.
cat >"$tmp/study.json" <<EOF
{"search": {"space": {"name": "nb201"}, "budget": {"trials": 300},
            "network": {"C": 2, "cells_per_stage": 1},
            "data": {"dataset": "synthetic", "batch": 16,
                     "synthetic": {"train_size": 64, "size": 8, "channels": 1}},
            "threads": 1, "estimator": {"name": "synflow"}},
 "seeds": [0, 1], "strategies": ["random", "evolution"], "recipes": "shared",
 "budget": {"rule": "none"},
 "evaluation": {"estimator": "jacov", "seeds": [0]}}
EOF
# The report's statistics of the metric and each run's answer (timings aside).
numbers() {
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
for s in r["strategies"]:
    print(s["label"], s["metric"], [(x["seed"], x["status"], x.get("arch"), x.get("metric")) for x in s["runs"]])' "$1/report.json"
}
start=$(date +%s.%N)
{ "$nas" study run --config "$tmp/study.json" --out "$tmp/swhole" -q && "$nas" study report "$tmp/swhole"; } \
  >/dev/null 2>"$tmp/swhole.err" || { echo "FAIL: the uninterrupted study: $(cat "$tmp/swhole.err")"; exit 1; }
swhole_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
for ((t = 0; t < trials; t++)); do
  sig=${signals[$((t % 3))]}
  dir="$tmp/study$t"
  delay=$(awk -v w="$swhole_s" -v r=$((RANDOM % 100)) 'BEGIN { printf "%.2f", w * r / 100 }')
  (exec "$nas" study run --config "$tmp/study.json" --out "$dir" -q >/dev/null 2>"$dir.err") &
  pid=$!
  sleep "$delay"
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [[ ! -f "$dir/study.json" ]]; then
    echo "study, SIG$sig at ${delay}s: stopped before the study began"
    continue
  fi
  kept=$(grep -c '"ok":true' "$dir/study.jsonl" 2>/dev/null)
  "$nas" study run --resume "$dir" -q >/dev/null 2>"$dir.err" ||
    { fail "study: resume after SIG$sig at ${delay}s: $(cat "$dir.err")"; continue; }
  # Each search and evaluation recorded once: 4 searches + 4 evaluations.
  done_tasks=$(grep -c '"ok":true' "$dir/study.jsonl")
  [[ $done_tasks -eq 8 ]] ||
    fail "study, SIG$sig at ${delay}s: study.jsonl records $done_tasks finished tasks, expected 8 (redone or lost work)"
  "$nas" study report "$dir" >/dev/null 2>&1 || fail "study, SIG$sig at ${delay}s: report"
  [[ "$(numbers "$tmp/swhole")" == "$(numbers "$dir")" ]] ||
    fail "study, SIG$sig at ${delay}s: the report's numbers differ from the uninterrupted study"
  echo "study, SIG$sig at ${delay}s: ok (${kept:-0} tasks kept)"
done

if [[ $failures -gt 0 ]]; then
  echo "$failures kill/resume trial(s) failed"
  exit 1
fi
echo "all kill/resume trials passed"
