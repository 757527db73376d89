"""Pairs scripts/shedding.sh's runs (<family>-s<seed>-off.csv and -on.csv) and prints, per family, seed and rate,
tempo's attainment and total service gain without and with --shed-unattainable, and how many fewer requests completed."""
import csv
import glob
import os
import sys


def main(folder):
    print("| family | seed | rate | attainment off | attainment on | Δ points | latency on − off | gain on / off | completed off − on |")
    print("|---|---|---|---|---|---|---|---|---|")
    deltas = []
    for off_path in sorted(glob.glob(os.path.join(folder, "*-off.csv"))):
        on_path = off_path.removesuffix("-off.csv") + "-on.csv"
        name = os.path.basename(off_path).removesuffix("-off.csv")
        family, seed = name.rsplit("-s", 1)
        off = {r["rate"]: r for r in csv.DictReader(open(off_path))}
        on = {r["rate"]: r for r in csv.DictReader(open(on_path))}
        for rate in sorted(off, key=float):
            a, b = off[rate], on[rate]
            d = (float(b["attainment"]) - float(a["attainment"])) * 100
            lat = (float(b["latency_attainment"]) - float(a["latency_attainment"])) * 100
            gain = float(b["service_gain"]) / float(a["service_gain"])
            shed = int(a["completed"]) - int(b["completed"])
            deltas.append((d, gain))
            print(f"| {family} | {seed} | {rate} | {float(a['attainment']):.1%} | {float(b['attainment']):.1%} | {d:+.1f} | {lat:+.1f} | {gain:.3f} | {shed} |")
    if deltas:
        better = sum(1 for d, _ in deltas if d > 0.05)
        worse = sum(1 for d, _ in deltas if d < -0.05)
        print(f"\n{len(deltas)} cells: attainment higher with shedding in {better}, lower in {worse}; "
              f"gain ratio {min(g for _, g in deltas):.3f}-{max(g for _, g in deltas):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/results/shedding")
