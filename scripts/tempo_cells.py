"""Compares tempo's rows in two directories of `matrix.sh` CSVs (POLICIES=tempo runs of two builds or settings), cell
by cell: SLO goodput and service goodput of the second over the first. Prints the mean and range over all cells and
every cell that moved by more than 2%.

usage: python3 scripts/tempo_cells.py BEFORE_DIR AFTER_DIR"""
import csv,glob,os,sys,statistics
base,new=sys.argv[1],sys.argv[2]
slo=[];gain=[];rows=[]
for f in sorted(glob.glob(base+"/*.csv")):
    b={float(r["rate"]):r for r in csv.DictReader(open(f)) if r["policy"]=="tempo"}
    n={float(r["rate"]):r for r in csv.DictReader(open(os.path.join(new,os.path.basename(f)))) if r["policy"]=="tempo"}
    for rate in sorted(b):
        s=float(n[rate]["slo_goodput"])/float(b[rate]["slo_goodput"]); g=float(n[rate]["service_goodput"])/float(b[rate]["service_goodput"])
        slo.append(s);gain.append(g);rows.append((os.path.basename(f)[:-4],rate,s,g))
print(f"cells {len(slo)}: SLO mean {statistics.mean(slo):.3f} min {min(slo):.3f} max {max(slo):.3f}; service mean {statistics.mean(gain):.3f} min {min(gain):.3f} max {max(gain):.3f}")
for r in rows:
    if min(r[2],r[3])<0.98 or max(r[2],r[3])>1.02: print("  %s %g: SLO %.3f service %.3f"%r)
