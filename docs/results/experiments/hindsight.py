"""Hindsight admission (docs/BENCHMARKS.md §46.4): what if `tempo` had given up at arrival on the requests it failed?

Needs a build with session25-hindsight.patch applied (`git apply docs/results/experiments/session25-hindsight.patch`,
then `dotnet build src/Tempo.Cli -c Release`): its TEMPO_DOOM=FILE prices the listed request ids as SLO-dead from
arrival, so they get only the capacity nothing live wants, as dead work does.

Usage: python3 docs/results/experiments/hindsight.py NAME SIMULATE-OPTIONS...
  e.g. python3 docs/results/experiments/hindsight.py azure4 --workload azure-conv --rates 4 --seed 11

Run 0 is plain `tempo`. Each next run dooms, in addition, every request that earned no gain in the run before (and
every call of a job that earned none), until the set stops growing. Prints each run's goodputs and duration.
"""
import csv
import os
import subprocess
import sys

dll = os.environ.get("TEMPO_DLL", "src/Tempo.Cli/bin/Release/net10.0/tempo.dll")
name, options = sys.argv[1], sys.argv[2:]
doom_file, records = f"/tmp/doom-{name}.txt", f"/tmp/records-{name}.csv"
doomed = set()
open(doom_file, "w").close()
for run in range(6):
    out = subprocess.run(
        ["dotnet", dll, "simulate", *options, "--requests", "1000", "--policies", "tempo", "--format", "csv",
         "--records", records],
        env=dict(os.environ, TEMPO_DOOM=doom_file), capture_output=True, text=True, check=True).stdout
    row = next(csv.DictReader(out.splitlines()))
    print(f"{name} run {run}: doomed {len(doomed)}, service {float(row['service_goodput']):.0f}, "
          f"SLO {float(row['slo_goodput']):.3f}, duration {float(row['duration_s']):.1f} s", flush=True)
    rows = list(csv.DictReader(open(records)))
    failed = {int(r["id"]) for r in rows if float(r["gain"]) == 0}
    failed_jobs = {r["job_id"] for r in rows if r["job_id"] and int(r["id"]) in failed}
    failed |= {int(r["id"]) for r in rows if r["job_id"] in failed_jobs}
    if failed <= doomed:
        break
    doomed |= failed
    with open(doom_file, "w") as f:
        f.write("\n".join(map(str, sorted(doomed))))
