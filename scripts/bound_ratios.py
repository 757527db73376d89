"""Joins `tempo bound` CSVs (scripts/bound.sh) with the matrix CSVs of the same cells (scripts/matrix.sh) and prints,
per cell and rate: the best non-oracle baseline on service goodput, how far above it the bound leaves room (the most
any scheduler could reach, as a multiple of that baseline), and the share of the bound that `tempo`, the baseline and
`tempo-oracle` reach, on service goodput and SLO goodput.

Usage: python3 scripts/bound_ratios.py BOUND_DIR MATRIX_DIR"""
import csv
import os
import sys

ORACLES = {"oracle-sjf", "tempo-oracle", "jitserve-oracle"}


def main(bound_dir, matrix_dir):
    print("| run | rate | best attain | best base (gain) | bound / base: service, SLO goodput | tempo share of bound: service, SLO | base share: service, SLO | tempo-oracle share: service, SLO |")
    print("|---|---|---|---|---|---|---|---|")
    overloaded = []
    for name in sorted(os.listdir(bound_dir)):
        if not name.endswith(".csv"):
            continue
        bounds = {float(r["rate"]): r for r in csv.DictReader(open(os.path.join(bound_dir, name)))}
        rows = list(csv.DictReader(open(os.path.join(matrix_dir, name))))
        for rate, b in sorted(bounds.items()):
            at = {r["policy"]: r for r in rows if float(r["rate"]) == rate}
            base = {p: r for p, r in at.items() if p not in ORACLES and p != "tempo"}
            best = max(base, key=lambda p: float(base[p]["service_goodput"]))
            best_slo = max(base, key=lambda p: float(base[p]["slo_goodput"]))
            attain = max(float(r["attainment"]) for r in base.values())
            bound = (float(b["service_goodput_bound"]), float(b["slo_goodput_bound"]))

            def share(row):
                return float(row["service_goodput"]) / bound[0], float(row["slo_goodput"]) / bound[1]

            room = (bound[0] / float(base[best]["service_goodput"]), bound[1] / float(base[best_slo]["slo_goodput"]))
            t = share(at["tempo"])
            bs = (float(base[best]["service_goodput"]) / bound[0], float(base[best_slo]["slo_goodput"]) / bound[1])
            o = "%.2f, %.2f" % share(at["tempo-oracle"]) if "tempo-oracle" in at else ""
            print(f"| {name.removesuffix('.csv')} | {rate:g} | {attain:.1%} | {best} | {room[0]:.2f}, {room[1]:.2f} | "
                  f"{t[0]:.2f}, {t[1]:.2f} | {bs[0]:.2f}, {bs[1]:.2f} | {o} |")
            if attain < 0.7:
                overloaded.append((room, t, bs))
    if overloaded:
        n = len(overloaded)
        ruled_out = sum(1 for room, _, _ in overloaded if room[0] < 1.3 or room[1] < 1.1)
        print()
        print(f"Cells where the best baseline attains under 70%: {n}. The bound rules out tempo >= 1.3x service and "
              f">= 1.1x SLO goodput in {ruled_out}. Room above the best baseline: service "
              f"{min(r[0] for r, _, _ in overloaded):.2f}-{max(r[0] for r, _, _ in overloaded):.2f}x. "
              f"tempo reaches {min(t[0] for _, t, _ in overloaded):.2f}-{max(t[0] for _, t, _ in overloaded):.2f} of the "
              f"service bound (mean {sum(t[0] for _, t, _ in overloaded) / n:.2f}), the best baseline "
              f"{min(b[0] for _, _, b in overloaded):.2f}-{max(b[0] for _, _, b in overloaded):.2f} "
              f"(mean {sum(b[0] for _, _, b in overloaded) / n:.2f}).")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
