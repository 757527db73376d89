"""Reads the `tempo bench --format csv` summaries of scripts/real_engine.sh (summary-<target>-run<N>.csv in the given
folder) and prints a markdown table per run: goodputs, attainment per class, and tempo's ratios to the best of the
other targets in the same run.

Goodput here is the bench's: gain (or requests met) over first arrival to last finish. With agent jobs a stage is sent
only when the previous one returns, so that window depends on the target: a scheduler that uses a job's slack ends
later and is divided by a longer time even when it earns more. Every target serves the same calls, so the second ratio
line compares the totals themselves (equivalently, goodput over one window shared by all targets).

When the per-request records are there (records-<target>-run<N>.csv), a third line bounds what any scheduler could do
on these calls: the most gain they can earn is every call met (prompt tokens + 8 x output tokens each), so over the
same calls no target can exceed that total over the best other's, and the window a 1.2x service goodput would need
follows from tempo's own gain."""
import csv
import glob
import os
import re
import sys

PROMPT_WEIGHT, DECODE_WEIGHT = 1, 8  # the paper's gain weights (GainWeights.Paper)


def most_gain(folder, run):
    """The gain of every call met, from any target's records of this run, or None without records."""
    paths = sorted(glob.glob(os.path.join(folder, f"records-*-run{run}.csv")))
    if not paths:
        return None
    return sum(PROMPT_WEIGHT * int(r["prompt_tokens"]) + DECODE_WEIGHT * int(r["output_tokens"]) for r in csv.DictReader(open(paths[0])))


def main(folder):
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, "summary-*-run*.csv"))):
        m = re.match(r"summary-(.+)-run(\d+)\.csv$", os.path.basename(path))
        rows = list(csv.DictReader(open(path)))
        if m and rows:
            runs.setdefault(int(m.group(2)), {})[m.group(1)] = rows[0]
    for run, at in sorted(runs.items()):
        print(f"\n**Run {run}**\n")
        print("| target | duration (s) | service goodput (gain/s) | SLO goodput (/s) | attainment | latency | throughput | collective | jobs met |")
        print("|---|---|---|---|---|---|---|---|---|")
        for target, r in at.items():
            print(f"| {target} | {float(r['duration_s']):.1f} | {float(r['service_goodput']):,.0f} | {float(r['slo_goodput']):.3f} | {float(r['attainment']):.1%} | "
                  f"{float(r['latency_attainment']):.1%} | {float(r['throughput_attainment']):.1%} | {float(r['collective_attainment']):.1%} | "
                  f"{r['jobs_met']}/{r['jobs']} |")
        if "tempo" in at and len(at) > 1:
            others = {t: r for t, r in at.items() if t != "tempo"}
            rate_best = max(others, key=lambda t: float(others[t]["service_goodput"]))
            slo_best = max(others, key=lambda t: float(others[t]["slo_goodput"]))
            gain = float(at["tempo"]["service_goodput"]) / float(others[rate_best]["service_goodput"])
            slo = float(at["tempo"]["slo_goodput"]) / float(others[slo_best]["slo_goodput"])
            print(f"\ntempo / best other: service goodput {gain:.2f}x ({rate_best}), SLO goodput {slo:.2f}x ({slo_best})")

            def total(r, key):
                return float(r[key]) * float(r["duration_s"])

            gain_best = max(others, key=lambda t: total(others[t], "service_goodput"))
            slo_best = max(others, key=lambda t: total(others[t], "slo_goodput"))
            gain = total(at["tempo"], "service_goodput") / total(others[gain_best], "service_goodput")
            slo = total(at["tempo"], "slo_goodput") / total(others[slo_best], "slo_goodput")
            print(f"tempo / best other over the same calls (totals, one shared window): service gain {gain:.2f}x ({gain_best}), "
                  f"requests met {slo:.2f}x ({slo_best})")
            most = most_gain(folder, run)
            if most:
                best_gain = total(others[gain_best], "service_goodput")
                # tempo's goodput reaches 1.2x the best other's when its window is at most its gain / (1.2 x theirs per second)
                fastest = others[rate_best]
                needed = total(at["tempo"], "service_goodput") / (1.2 * float(fastest["service_goodput"]))
                print(f"bound: every call met earns {most:,.0f}; {gain_best} earned {best_gain / most:.1%} of it, so no scheduler "
                      f"can earn more than {most / best_gain:.2f}x its gain on these calls; tempo earned {total(at['tempo'], 'service_goodput') / most:.1%}, "
                      f"and 1.2x its service goodput would need a window of {needed:.1f} s (tempo's: {float(at['tempo']['duration_s']):.1f} s, "
                      f"{rate_best}'s: {float(fastest['duration_s']):.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/results/real-engine")
