#!/usr/bin/env bash
# Kills a tiny search at random points (SIGINT, SIGTERM, SIGKILL), resumes
# it, and checks that the result equals the uninterrupted run: the same
# log.jsonl numbers and the same architecture. A SIGKILL before the first
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
if [[ $failures -gt 0 ]]; then
  echo "$failures kill/resume trial(s) failed"
  exit 1
fi
echo "all kill/resume trials passed"
