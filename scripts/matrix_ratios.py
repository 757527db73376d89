"""Reads `tempo simulate --format csv` files and prints, per file and rate, tempo's SLO goodput and service goodput
as ratios to the best non-oracle baseline (jitserve included), and tempo-oracle's to oracle-sjf.

--tempo-from DIR takes the rows of the policies in the same-named CSV in DIR (a run of `matrix.sh` with POLICIES=tempo,
or tempo,tempo-oracle, and another build or setting), so a change to tempo is judged against baselines that did not
change.

After the table, the issue's three targets counted on the unrounded ratios: tempo >= 0.98x on both goodputs; where the
best baseline attains under 70%, tempo >= 1.3x its service and >= 1.1x its SLO goodput; tempo-oracle >= oracle-sjf.
Each count is followed by what misses it: the cells and their ratios to four decimals for the first and third, and for
the second how far the misses fall short (service ratio over 1.3, SLO ratio over 1.1), so a change that moves cells
towards a target shows even when the count stays."""
import os
import csv
import sys

ORACLES = {"oracle-sjf", "tempo-oracle", "jitserve-oracle"}

# Two runs that made the same decisions can differ in the last digits of their durations; a ratio this close to the
# threshold counts as meeting it.
SAME = 1e-6


def at_least(x, threshold):
    return x >= threshold * (1 - SAME)


def main(paths, tempo_from=None):
    print("| run | rate | best base (SLO) | tempo SLO ratio | best base (gain) | tempo gain ratio | best attain | tempo-oracle/oracle-sjf SLO, gain |")
    print("|---|---|---|---|---|---|---|---|")
    cells = both = overload = met = oracle_cells = oracle_ok = 0
    floor_misses, overload_misses, oracle_misses = [], [], []
    for path in paths:
        rows = list(csv.DictReader(open(path)))
        if tempo_from:
            replaced = list(csv.DictReader(open(os.path.join(tempo_from, os.path.basename(path)))))
            policies = {r["policy"] for r in replaced}
            rows = [r for r in rows if r["policy"] not in policies] + replaced
        for rate in sorted({float(r["rate"]) for r in rows}):
            at = {r["policy"]: r for r in rows if float(r["rate"]) == rate}
            base = {p: r for p, r in at.items() if p not in ORACLES and p != "tempo"}
            slo_best = max(base, key=lambda p: float(base[p]["slo_goodput"]))
            gain_best = max(base, key=lambda p: float(base[p]["service_goodput"]))
            t = at["tempo"]
            slo = float(t["slo_goodput"]) / float(base[slo_best]["slo_goodput"])
            gain = float(t["service_goodput"]) / float(base[gain_best]["service_goodput"])
            best_att = max(float(r["attainment"]) for r in base.values())
            name = path.split("/")[-1].removesuffix(".csv")
            o = ""
            if "tempo-oracle" in at and "oracle-sjf" in at:
                o_slo = float(at["tempo-oracle"]["slo_goodput"]) / float(at["oracle-sjf"]["slo_goodput"])
                o_gain = float(at["tempo-oracle"]["service_goodput"]) / float(at["oracle-sjf"]["service_goodput"])
                o = "%.2f, %.2f" % (o_slo, o_gain)
                oracle_cells += 1
                if at_least(o_slo, 1) and at_least(o_gain, 1):
                    oracle_ok += 1
                else:
                    oracle_misses.append(f"{name} at {rate:g}/s: SLO {o_slo:.6f}, service {o_gain:.6f}")
            print(f"| {name} | {rate:g} | {slo_best} | {slo:.2f} | {gain_best} | {gain:.2f} | {best_att:.1%} | {o} |")
            cells += 1
            if at_least(slo, 0.98) and at_least(gain, 0.98):
                both += 1
            else:
                floor_misses.append(f"{name} at {rate:g}/s: SLO {slo:.4f} ({slo_best}), service {gain:.4f} ({gain_best})")
            if best_att < 0.7:
                overload += 1
                if at_least(gain, 1.3) and at_least(slo, 1.1):
                    met += 1
                else:
                    overload_misses.append((gain / 1.3, slo / 1.1))
    print()
    print(f"- tempo >= 0.98x the best baseline on both goodputs: {both} of {cells} cells")
    for miss in floor_misses:
        print(f"  - under: {miss}")
    print(f"- where the best baseline attains under 70%, tempo >= 1.3x service and >= 1.1x SLO goodput: {met} of {overload} cells")
    if overload_misses:
        short = [g for g, _ in overload_misses if not at_least(g, 1)]
        bands = [(0.98, "within 2%"), (0.95, "2-5%"), (0.90, "5-10%"), (0.0, "more than 10%")]
        counts = []
        for i, (low, label) in enumerate(bands):
            high = 1.0 if i == 0 else bands[i - 1][0]
            counts.append(f"{sum(1 for g in short if low <= g < high)} {label}")
        slo_short = sum(1 for _, x in overload_misses if not at_least(x, 1))
        print(f"  - service short of 1.3x in {len(short)} cells ({', '.join(counts)} short); SLO short of 1.1x in {slo_short}")
    if oracle_cells:
        print(f"- tempo-oracle >= oracle-sjf on both goodputs: {oracle_ok} of {oracle_cells} cells")
        for miss in oracle_misses:
            print(f"  - under: {miss}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--tempo-from"]:
        main(args[2:], args[1])
    else:
        main(args)
