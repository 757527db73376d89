"""Reads `tempo simulate --format csv` files and prints, per file and rate, tempo's SLO goodput and service goodput
as ratios to the best non-oracle baseline (jitserve included), and tempo-oracle's to oracle-sjf.

--tempo-from DIR takes the rows of the policies in the same-named CSV in DIR (a run of `matrix.sh` with POLICIES=tempo,
or tempo,tempo-oracle, and another build or setting), so a change to tempo is judged against baselines that did not
change.

After the table, the issue's three targets counted on the unrounded ratios: tempo >= 0.98x on both goodputs; where the
best baseline attains under 70%, tempo >= 1.3x its service and >= 1.1x its SLO goodput; tempo-oracle >= oracle-sjf."""
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
            o = ""
            if "tempo-oracle" in at and "oracle-sjf" in at:
                o_slo = float(at["tempo-oracle"]["slo_goodput"]) / float(at["oracle-sjf"]["slo_goodput"])
                o_gain = float(at["tempo-oracle"]["service_goodput"]) / float(at["oracle-sjf"]["service_goodput"])
                o = "%.2f, %.2f" % (o_slo, o_gain)
                oracle_cells += 1
                oracle_ok += at_least(o_slo, 1) and at_least(o_gain, 1)
            name = path.split("/")[-1].removesuffix(".csv")
            print(f"| {name} | {rate:g} | {slo_best} | {slo:.2f} | {gain_best} | {gain:.2f} | {best_att:.1%} | {o} |")
            cells += 1
            both += at_least(slo, 0.98) and at_least(gain, 0.98)
            if best_att < 0.7:
                overload += 1
                met += at_least(gain, 1.3) and at_least(slo, 1.1)
    print()
    print(f"- tempo >= 0.98x the best baseline on both goodputs: {both} of {cells} cells")
    print(f"- where the best baseline attains under 70%, tempo >= 1.3x service and >= 1.1x SLO goodput: {met} of {overload} cells")
    if oracle_cells:
        print(f"- tempo-oracle >= oracle-sjf on both goodputs: {oracle_ok} of {oracle_cells} cells")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--tempo-from"]:
        main(args[2:], args[1])
    else:
        main(args)
