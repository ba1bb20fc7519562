#!/usr/bin/env bash
# TensorBoard's own reader (tests/tensorboard_check.py, PyPI's tensorboard in
# the cached environment of scripts/py_tools_env.sh) on naskit's event files:
# a one-shot search, a search killed with SIGKILL whose event file is then
# torn and shadowed by a stale file before the resume, a trial search, a
# study's runs in TensorBoard's run selector, nas train, and log.tensorboard
# off. Every check: the scalars read equal log.jsonl's (trials.jsonl's)
# numbers, step for step.
set -u
nas="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

py=$("$root/scripts/py_tools_env.sh") || { echo "FAIL: no Python environment with tensorboard"; exit 1; }
check() { "$py" "$root/tests/tensorboard_check.py" "$@" || failures=$((failures + 1)); }

tiny=(--dataset synthetic --C 2 --layers 3 --batch 16 --set data.synthetic.train_size=128
      --set data.synthetic.size=8 --set data.synthetic.channels=1 --threads 1 -q --seed 5)

# A one-shot search.
"$nas" search "${tiny[@]}" --epochs 3 --out "$tmp/search" >/dev/null 2>&1 || fail "the search"
check run "$tmp/search"

# SIGKILL once the first epoch is checkpointed (the run then has more epochs to
# go, whatever the machine's speed), then the worst a killed run can leave:
# a torn last record, and a stale file holding steps the resume redoes.
("exec" "$nas" search "${tiny[@]}" --epochs 8 --out "$tmp/killed" >/dev/null 2>&1) &
pid=$!
for _ in $(seq 1 600); do
  [[ -s "$tmp/killed/log.jsonl" && -f "$tmp/killed/checkpoint.pt" ]] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [[ -f "$tmp/killed/result.json" || ! -f "$tmp/killed/checkpoint.pt" ]]; then
  fail "the kill did not land between the first checkpoint and the end"
else
  # The stale steps: from the log's length at the kill on (the resume keeps
  # at most those lines); the torn record: the head of one more event.
  logged=$(wc -l <"$tmp/killed/log.jsonl")
  "$py" - "$tmp/killed" "$logged" <<'EOF' || fail "writing the torn record and the stale event file"
import glob, struct, sys
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto import event_pb2, summary_pb2
killed = sorted(glob.glob(sys.argv[1] + "/events.out.tfevents.*"))[-1]
with open(killed, "ab") as f:
    head = struct.pack("<Q", 200)
    f.write(head + struct.pack("<I", masked_crc32c(head)) + b"\x09" * 50)
w = EventFileWriter(sys.argv[1])
for step in range(int(sys.argv[2]), 8):
    v = summary_pb2.Summary.Value(tag="train_loss", simple_value=999.0)
    w.add_event(event_pb2.Event(step=step, wall_time=0, summary=summary_pb2.Summary(value=[v])))
w.close()
EOF
  "$nas" search --resume "$tmp/killed" -q >/dev/null 2>&1 || fail "the resume"
  [[ $(ls "$tmp/killed"/events.out.tfevents.* | wc -l) -eq 3 ]] || fail "expected 3 event files"
  check run "$tmp/killed"
fi

# A trial search over a benchmark table, and a study of two trial strategies
# over two seeds: four runs in TensorBoard's run selector.
awk -f "$root/tests/nb201_table.awk" >"$tmp/table.csv"
"$nas" search --space nb201 --strategy evolution --estimator tabular -q \
  --set "estimator.options.file=$tmp/table.csv" --set budget.trials=12 --out "$tmp/trials" \
  >/dev/null 2>&1 || fail "the trial search"
check run "$tmp/trials"
cat >"$tmp/study.json" <<EOF
{"search": {"space": {"name": "nb201"}, "budget": {"trials": 8},
            "estimator": {"name": "tabular", "options": {"file": "$tmp/table.csv"}}},
 "seeds": [0, 1], "strategies": ["random", "evolution"], "recipes": "shared",
 "budget": {"rule": "none"},
 "evaluation": {"estimator": "tabular", "options": {"file": "$tmp/table.csv"}, "seeds": [0]}}
EOF
"$nas" study run --config "$tmp/study.json" --out "$tmp/study" -q >/dev/null 2>&1 || fail "the study"
check study "$tmp/study" 4

# nas train, and TensorBoard off.
"$nas" train --from-run "$tmp/search" --epochs 2 --C 4 --layers 3 \
  --set data.synthetic.train_size=96 --set data.synthetic.size=8 \
  --set data.synthetic.channels=1 --threads 1 -q --out "$tmp/train" >/dev/null 2>&1 || fail "nas train"
check run "$tmp/train"
"$nas" search "${tiny[@]}" --epochs 1 --set log.tensorboard=false --out "$tmp/off" >/dev/null 2>&1 ||
  fail "the search with log.tensorboard=false"
check none "$tmp/off"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "tensorboard: every event file reads back as its log"
