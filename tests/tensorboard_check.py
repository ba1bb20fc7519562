"""Reads naskit's event files with TensorBoard's own reader and compares them
with the run's log: every number of every log line (nested keys joined by
'/', array elements by index) must come back as a scalar at step = the
line's index, rounded to float32 as TensorBoard stores simple values, and
nothing else may (no duplicate or stale steps from a killed run's files).

  python tensorboard_check.py run RUN_DIR...     each run alone
  python tensorboard_check.py study DIR N        DIR's runs as TensorBoard's
                                                 run selector lists them: N runs
  python tensorboard_check.py none RUN_DIR       no event file at all
Prints one line per run; exits 1 on the first difference.
"""
import glob
import json
import math
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, event_multiplexer


def flatten(value, prefix, out):
    if isinstance(value, dict):
        for key in sorted(value):
            flatten(value[key], f"{prefix}/{key}" if prefix else key, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            flatten(v, f"{prefix}/{i}", out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            out.setdefault(prefix, [])
            out[prefix].append(value)


def expected_scalars(run_dir):
    log = "trials.jsonl" if os.path.exists(os.path.join(run_dir, "trials.jsonl")) else "log.jsonl"
    expected = {}
    with open(os.path.join(run_dir, log)) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for step, line in enumerate(lines):
        flat = {}
        flatten(line, "", flat)
        for tag, values in flat.items():
            expected.setdefault(tag, []).extend((step, float(np.float32(v))) for v in values)
    return expected, len(lines)


def compare(run_dir, acc):
    expected, lines = expected_scalars(run_dir)
    tags = sorted(acc.Tags()["scalars"])
    if tags != sorted(expected):
        missing = sorted(set(expected) - set(tags))[:5]
        extra = sorted(set(tags) - set(expected))[:5]
        sys.exit(f"FAIL {run_dir}: tags differ; missing {missing}, extra {extra}")
    for tag in tags:
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        if got != expected[tag]:
            sys.exit(f"FAIL {run_dir}: {tag}: TensorBoard read {got[:6]}, the log has {expected[tag][:6]}")
    print(f"ok {run_dir}: {len(tags)} tags x {lines} steps equal the log")


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "run":
        for run_dir in args:
            acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
            acc.Reload()
            compare(run_dir, acc)
    elif mode == "study":
        root, want = args[0], int(args[1])
        mux = event_multiplexer.EventMultiplexer(size_guidance={event_accumulator.SCALARS: 0})
        mux.AddRunsFromDirectory(root)
        mux.Reload()
        runs = sorted(mux.Runs())
        if len(runs) != want:
            sys.exit(f"FAIL {root}: TensorBoard lists {len(runs)} runs {runs}, expected {want}")
        for run in runs:
            compare(os.path.join(root, run), mux.GetAccumulator(run))
    elif mode == "none":
        files = glob.glob(os.path.join(args[0], "events.out.tfevents.*"))
        if files:
            sys.exit(f"FAIL {args[0]}: event files with log.tensorboard off: {files}")
        print(f"ok {args[0]}: no event file")
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
