#!/usr/bin/env python3
"""Summarises scripts/divergence.sh: per policy and run, the same run four ways (client, engine, step times
modelled, simulated from the plan), as attainment per class and service goodput, plus the replay's verdict."""
import csv
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "docs/results/divergence"
CLASSES = ("latency", "throughput", "collective")


def figures(path):
    """Attainment per class, overall, and service goodput (gain per second from first arrival to last end) of a records CSV."""
    rows = list(csv.DictReader(open(path)))
    if not rows:
        return None
    met = {c: [0, 0] for c in CLASSES}
    for r in rows:
        met[r["class"]][0] += r["slo_met"] == "1"
        met[r["class"]][1] += 1
    start = min(float(r["arrival_s"]) for r in rows)
    end = max(float(r["arrival_s"]) + float(r["e2e_s"]) for r in rows)
    gain = sum(float(r["gain"]) for r in rows)
    total = sum(m[0] for m in met.values()), sum(m[1] for m in met.values())
    return {
        "all": 100 * total[0] / total[1],
        **{c: (100 * m[0] / m[1] if m[1] else float("nan")) for c, m in met.items()},
        "goodput": gain / (end - start) if end > start else 0,
    }


def machine_speed(trace):
    """Median time of the run's full-batch (8) decode-only steps (ms). It moves with the host's speed, which drifts by
    tens of percent over minutes on a shared machine, and with the contexts in the batch (decode attention is padded
    to the longest), so it flags a slow run without saying why."""
    times = []
    for line in open(trace):
        step = json.loads(line)
        work = step.get("work")
        if work and len(work) >= 8 and all(w[2] == 1 for w in work):  # eight sequences: the runs' batch size
            times.append(step["ms"])
    return statistics.median(times) if times else float("nan")


def verdict(path):
    line = open(path).readline().strip()
    m = re.match(r"policy \S+: (\d+) of (\d+) steps", line)
    return f"{m.group(1)}/{m.group(2)}" if m else "?"


print("| policy, run | view | attainment | latency | throughput | collective | service goodput | full-batch decode step, median ms |")
print("|---|---|---|---|---|---|---|---|")
for trace in sorted(glob.glob(os.path.join(out, "trace-*.jsonl"))):
    tag = os.path.basename(trace)[len("trace-"):-len(".jsonl")]
    views = [
        ("client (tempo bench)", f"records-{tag}.csv"),
        (f"engine (replay, {verdict(os.path.join(out, f'replay-{tag}.txt'))} steps match)", f"replay-{tag}.csv"),
        ("step times modelled", f"modelled-{tag}.csv"),
        ("simulated from the plan", f"sim-{tag}.csv"),
    ]
    speed = f"{machine_speed(trace):.1f}"
    for name, file in views:
        path = os.path.join(out, file)
        f = figures(path) if os.path.exists(path) else None
        if f is None:
            print(f"| {tag} | {name} | – | – | – | – | – | {speed} |")
            continue
        print(f"| {tag} | {name} | {f['all']:.1f}% | {f['latency']:.1f}% | {f['throughput']:.1f}% | {f['collective']:.1f}% | {f['goodput']:,.0f} | {speed} |")
        speed = ""
