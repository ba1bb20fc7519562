#!/usr/bin/env bash
# Several workers on one study directory (issue 27): two workers started as
# a Slurm array starts them (scripts/slurm_study.sh) and `--workers 2` each
# give the report of one worker, every task done exactly once; a worker
# killed (SIGKILL) in the middle of a run has that run taken over and
# resumed by the other, nothing lost and nothing run twice to completion; a
# worker refuses to join another study.
set -u
nas="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat >"$tmp/study.json" <<JSON
{"search": {"space": {"name": "nb201"}, "budget": {"trials": 800},
            "network": {"C": 2, "cells_per_stage": 1},
            "data": {"dataset": "synthetic", "batch": 16,
                     "synthetic": {"train_size": 64, "size": 8, "channels": 1}},
            "threads": 1, "estimator": {"name": "synflow"}},
 "seeds": [0, 1, 2], "strategies": ["random", "evolution"], "recipes": "shared",
 "budget": {"rule": "none"},
 "evaluation": {"estimator": "jacov", "seeds": [0, 1]}}
JSON
# The report's statistics and each run's answer (timings aside).
numbers() {
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
for s in r["strategies"]:
    print(s["label"], s["metric"], [(x["seed"], x["status"], x.get("arch"), x.get("metric")) for x in s["runs"]])' "$1/report.json"
}
# Every task (search or evaluation) finished exactly once, ok.
tasks_once() {
  python3 -c 'import json, sys, collections
lines = [json.loads(l) for l in open(sys.argv[1] + "/study.jsonl")]
done = collections.Counter((l["task"], l["label"], l["seed"], l.get("eval_seed")) for l in lines if l["ok"])
bad = [t for t in lines if not t["ok"]]
twice = [k for k, n in done.items() if n != 1]
if len(done) != 18 or twice or bad:
    sys.exit(f"{len(done)} tasks done (expected 18), twice: {twice}, failed: {bad}")
print(len({l["worker"] for l in lines}))' "$1"
}
finish() {  # finish DIR: report, and compare with the one-worker study
  "$nas" study report "$1" >/dev/null 2>"$1.report.err" || { fail "$2: report: $(cat "$1.report.err")"; return 1; }
  [[ "$(numbers "$1")" == "$(numbers "$tmp/one")" ]] ||
    fail "$2: the report's numbers differ from the one-worker study: $(diff <(numbers "$1") <(numbers "$tmp/one"))"
  workers=$(tasks_once "$1") || { fail "$2: $workers"; return 1; }
  [[ -z "$(ls -A "$1/claims")" ]] || fail "$2: claims left behind: $(ls "$1/claims")"
}

start=$(date +%s)
"$nas" study run --config "$tmp/study.json" --out "$tmp/one" -q 2>"$tmp/one.err" &&
  "$nas" study report "$tmp/one" >/dev/null 2>>"$tmp/one.err" ||
  { echo "FAIL: the one-worker study: $(cat "$tmp/one.err")"; exit 1; }
echo "one worker: $(($(date +%s) - start)) s"

# Two workers as two tasks of a Slurm array start them: at once, the same
# command, one shared directory.
start=$(date +%s)
for i in 0 1; do
  SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 STUDY_CONFIG="$tmp/study.json" STUDY_DIR="$tmp/array" \
    NAS="$nas" timeout 600 "$root/scripts/slurm_study.sh" -q 2>"$tmp/array.$i.err" &
done
wait || fail "array workers: $(cat "$tmp"/array.*.err)"
finish "$tmp/array" "two array workers" && echo "two array workers: $(($(date +%s) - start)) s, $workers workers did tasks"
[[ "${workers:-0}" -eq 2 ]] || fail "two array workers: $workers of them did tasks, expected both"

# --workers 2: the same from one command.
timeout 600 "$nas" study run --config "$tmp/study.json" --out "$tmp/local" --workers 2 -q 2>"$tmp/local.err" ||
  fail "--workers 2: $(cat "$tmp/local.err")"
finish "$tmp/local" "--workers 2" && echo "--workers 2: ok"

# A worker killed in the middle of a run: the other takes the run over (at
# once: the claim's holder is a process of this machine that is gone; from
# another machine, after --claim-timeout seconds without a heartbeat) and
# resumes it from its checkpoint.
dir="$tmp/kill"
worker() { (exec "$nas" study run --config "$tmp/study.json" --out "$dir" --worker \
  --claim-timeout 2 -q 2>>"$dir.$1.err") & }
worker a
a=$!
victim=""
for _ in $(seq 600); do  # until worker a is a few trials into a run (at most 30 s)
  claim=$(grep -l ":$a " "$dir"/claims/* 2>/dev/null | head -1)
  if [[ -n "$claim" ]]; then
    task=$(basename "$claim")
    run="$dir/runs/${task%%.seed*}/seed$(sed -E 's/.*\.seed([0-9]+)\.[0-9]+$/\1/' <<<"$task")"
    if [[ $(wc -l 2>/dev/null <"$run/trials.jsonl" || echo 0) -ge 20 ]]; then victim=$run; break; fi
  fi
  sleep 0.05
done
worker b
kill -KILL "$a"
wait "$a" 2>/dev/null
if [[ -z "$victim" ]]; then
  fail "kill: worker a never got 20 trials into a run: $(cat "$dir.a.err")"
else
  left=$(wc -l <"$victim/trials.jsonl")
  [[ $left -lt 800 ]] || fail "kill: worker a finished its run before the kill"
  wait || fail "kill: worker b: $(cat "$dir.b.err")"
  finish "$dir" "kill" && echo "kill: worker a killed after $left trials of ${victim#"$dir/runs/"}; worker b resumed it"
  rel=${victim#"$dir/"}
  [[ "$(cut -d, -f1-4 "$victim/trials.jsonl")" == "$(cut -d, -f1-4 "$tmp/one/$rel/trials.jsonl")" ]] ||
    fail "kill: the resumed $rel/trials.jsonl differs from the one-worker study's"
fi
# A worker may only join the same study.
sed 's/"seeds": \[0, 1, 2\]/"seeds": [0, 1]/' "$tmp/study.json" >"$tmp/other.json"
"$nas" study run --config "$tmp/other.json" --out "$tmp/one" --worker -q 2>"$tmp/other.err"
rc=$?
[[ $rc -eq 2 ]] && grep -q "holds another study.*differs at /seeds" "$tmp/other.err" ||
  fail "joining with another study's config: exit $rc, $(cat "$tmp/other.err")"
"$nas" study run --resume "$tmp/one" --worker -q 2>"$tmp/other.err"
[[ $? -eq 2 ]] || fail "--resume with --worker was not refused: $(cat "$tmp/other.err")"
[[ $failures -eq 0 ]] && echo "study workers: ok"
exit $((failures > 0))
