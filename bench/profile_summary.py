#!/usr/bin/env python3
"""Self time per op of a LibTorch trace (NAS_PROFILE=trace.json ./build/bench/nas_bench ...).

Usage: bench/profile_summary.py TRACE [BASELINE_TRACE] [rows]
Prints total ms and, per op name, self ms and calls (side by side with a baseline if given).
"""
import collections
import json
import sys


def self_times(path):
    events = [e for e in json.load(open(path)) if e.get('ph') == 'X']
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e['tid']].append(e)
    own, calls, total = collections.Counter(), collections.Counter(), 0.0
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e['ts'], -e['dur']))
        stack = []
        for e in evs:
            while stack and stack[-1]['ts'] + stack[-1]['dur'] <= e['ts']:
                stack.pop()
            if stack:
                own[stack[-1]['name']] -= e['dur']
            else:
                total += e['dur']
            own[e['name']] += e['dur']
            calls[e['name']] += 1
            stack.append(e)
    return own, calls, total


args = [a for a in sys.argv[1:] if not a.isdigit()]
rows = int(next((a for a in sys.argv[1:] if a.isdigit()), 25))
runs = [self_times(p) for p in args]
print('total ms ' + '  '.join(f'{t / 1e3:.1f}' for _, _, t in runs))
names = sorted(set().union(*(o for o, _, _ in runs)), key=lambda n: -max(o[n] for o, _, _ in runs))
for n in names[:rows]:
    print(f'{n[:60]:60s}' + ''.join(f' {o[n] / 1e3:9.1f} {c[n]:6d}' for o, c, _ in runs))
