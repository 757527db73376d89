"""Compares tempo's rows in two directories of `matrix.sh` CSVs (POLICIES=tempo runs of two builds or settings), cell
by cell: SLO goodput and service goodput of the second over the first. Prints the mean and range over all cells and
every cell that moved by more than 2%. With --by-family, prints instead one Markdown row per workload family: the
range and mean of both ratios, and of the run's duration and of the requests that met their SLO (so a goodput that
moved with the window can be told from one that moved with what was served). With --summary LABEL, prints one
Markdown row for the ablation table of scripts/ablation.sh: the mean and range of both ratios and the family whose
mean SLO ratio is furthest from 1.

usage: python3 scripts/tempo_cells.py [--by-family | --summary LABEL] BEFORE_DIR AFTER_DIR"""
import collections,csv,glob,os,sys,statistics
argv=sys.argv[1:]
by_family="--by-family" in argv
label=None
if "--summary" in argv:
    i=argv.index("--summary"); label=argv[i+1]; del argv[i:i+2]
args=[a for a in argv if a!="--by-family"]
base,new=args
slo=[];gain=[];rows=[]
for f in sorted(glob.glob(base+"/*.csv")):
    b={float(r["rate"]):r for r in csv.DictReader(open(f)) if r["policy"]=="tempo"}
    n={float(r["rate"]):r for r in csv.DictReader(open(os.path.join(new,os.path.basename(f)))) if r["policy"]=="tempo"}
    for rate in sorted(b):
        ratio=lambda col:float(n[rate][col])/float(b[rate][col])
        met=lambda r:float(r["attainment"])*float(r["requests"])
        s=ratio("slo_goodput"); g=ratio("service_goodput")
        slo.append(s);gain.append(g)
        rows.append((os.path.basename(f)[:-4],rate,s,g,ratio("duration_s"),met(n[rate])/met(b[rate]) if met(b[rate]) else 1.0))
if label is not None:
    fam=collections.defaultdict(list)
    for r in rows: fam[r[0].rsplit("-s",1)[0]].append(r[2])
    worst=max(fam,key=lambda k:abs(statistics.mean(fam[k])-1))
    print(f"| {label} | {statistics.mean(slo):.3f} ({min(slo):.3f}–{max(slo):.3f}) | {statistics.mean(gain):.3f} ({min(gain):.3f}–{max(gain):.3f}) | {worst} ({statistics.mean(fam[worst]):.3f}) |")
    sys.exit(0)
if by_family:
    fam=collections.defaultdict(list)
    for r in rows: fam[r[0].rsplit("-s",1)[0]].append(r)
    span=lambda xs:f"{min(xs):.3f}–{max(xs):.3f}, {statistics.mean(xs):.3f}"
    print("| family | cells | SLO goodput | service goodput | duration | requests met |")
    print("|---|---|---|---|---|---|")
    for k,rs in sorted(fam.items()):
        print(f"| {k} | {len(rs)} | {span([r[2] for r in rs])} | {span([r[3] for r in rs])} | {span([r[4] for r in rs])} | {span([r[5] for r in rs])} |")
    sys.exit(0)
print(f"cells {len(slo)}: SLO mean {statistics.mean(slo):.3f} min {min(slo):.3f} max {max(slo):.3f}; service mean {statistics.mean(gain):.3f} min {min(gain):.3f} max {max(gain):.3f}")
for r in rows:
    if min(r[2],r[3])<0.98 or max(r[2],r[3])>1.02: print("  %s %g: SLO %.3f service %.3f"%r[:4])
