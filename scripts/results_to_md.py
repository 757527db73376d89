#!/usr/bin/env python3
"""Turns a `tempo simulate --out DIR` results.json into the markdown tables of docs/BENCHMARKS.md.

Usage: python3 scripts/results_to_md.py DIR/results.json [breakdown-rate]
Prints (1) Tempo versus the best baseline at every rate, (2) attainment per policy and rate,
(3) a per-class p50/p95 latency breakdown at one rate, in the shape of the paper's v1 tables.
"""
import json
import sys

doc = json.load(open(sys.argv[1]))
runs = doc["runs"]
rates = sorted({r["rate"] for r in runs})
policies = list(dict.fromkeys(r["policy"] for r in runs))
at = {(r["policy"], r["rate"]): r for r in runs}
baselines = [p for p in policies if not p.startswith("tempo")]


def best(rate, key, pool):
    return max(pool, key=lambda p: at[(p, rate)][key])


print("| rate | best baseline attainment | tempo attainment | tempo SLO goodput ÷ best baseline | tempo service goodput ÷ best baseline | tempo ÷ tempo-oracle service goodput | tempo ÷ sarathi service / SLO goodput |")
print("|---|---|---|---|---|---|---|")
for rate in rates:
    t = at[("tempo", rate)]
    o = at[("tempo-oracle", rate)]
    s = at[("sarathi", rate)]
    ba = best(rate, "attainment", baselines)
    bs = best(rate, "slo_goodput", baselines)
    bg = best(rate, "service_goodput", baselines)
    print(f"| {rate:g} | {at[(ba, rate)]['attainment']*100:.1f}% ({ba}) | {t['attainment']*100:.1f}% "
          f"| {t['slo_goodput']/at[(bs, rate)]['slo_goodput']:.2f}× ({bs}) "
          f"| {t['service_goodput']/at[(bg, rate)]['service_goodput']:.2f}× ({bg}) "
          f"| {t['service_goodput']/o['service_goodput']:.3f} "
          f"| {t['service_goodput']/s['service_goodput']:.2f}× / {t['slo_goodput']/s['slo_goodput']:.2f}× |")

print()
print("SLO attainment (%) / service goodput (weighted tokens/s):")
print()
print("| policy | " + " | ".join(f"{r:g}/s" for r in rates) + " |")
print("|---|" + "---|" * len(rates))
for p in policies:
    cells = [f"{at[(p, r)]['attainment']*100:.1f} / {at[(p, r)]['service_goodput']:,.0f}" for r in rates]
    print(f"| {p} | " + " | ".join(cells) + " |")

if len(sys.argv) > 2:
    rate = float(sys.argv[2])
    print()
    print(f"Per-class breakdown at {rate:g}/s, p50 / p95 (TTFT in s, TBT in ms, completion time in s):")
    print()
    print("| metric | " + " | ".join(policies) + " |")
    print("|---|" + "---|" * len(policies))

    def cell(p, cls, metric, scale):
        m = at[(p, rate)]["classes"][cls][metric]
        if m["p50"] is None:
            return "-"
        return f"{m['p50']*scale:.2f} / {m['p95']*scale:.2f}" if scale == 1 else f"{m['p50']*scale:.1f} / {m['p95']*scale:.1f}"

    rows = [("latency attainment", None), ("latency TTFT", ("latency", "ttft", 1)), ("latency TBT (ms)", ("latency", "tbt", 1000)),
            ("throughput attainment", None), ("throughput completion", ("throughput", "e2e", 1)),
            ("collective attainment", None), ("collective call completion", ("collective", "e2e", 1))]
    for label, spec in rows:
        if spec is None:
            cls = label.split()[0]
            print(f"| {label} | " + " | ".join(f"{at[(p, rate)]['classes'][cls]['attainment']*100:.1f}%" for p in policies) + " |")
        else:
            print(f"| {label} | " + " | ".join(cell(p, *spec) for p in policies) + " |")
