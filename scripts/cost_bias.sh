#!/usr/bin/env bash
# The wrong-belief runs of docs/BENCHMARKS.md: tempo told step costs 0.7x and 1.3x the simulated engine's true
# ones (--cost-bias), with its online step-cost learning on (the default) and off (the belief stays wrong all run),
# on four workload families at their default rate and 2x. Writes docs/results/cost-bias.csv:
# workload,variant,bias,rate,service_goodput,slo_goodput,attainment.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n "${NO_BUILD:-}" ]] || dotnet build src/Tempo.Cli -c Release -v q >/dev/null
tempo() { dotnet src/Tempo.Cli/bin/Release/net10.0/tempo.dll "$@"; }
out=docs/results/cost-bias.csv
n=${REQUESTS:-1500}
seed=${SEED:-43}
echo "workload,variant,bias,rate,service_goodput,slo_goodput,attainment" > $out.tmp
for spec in "mixed 4,8" "prefill-heavy 3,6" "decode-heavy 0.75,1.5" "agent-heavy 1.2,2.4"; do
  set -- $spec
  for variant in online static; do
    extra=(); [[ $variant == static ]] && extra=(--tempo-without online)
    for bias in 0.7 1 1.3; do
      echo "$1 $variant $bias" >&2
      tempo simulate --workload $1 --rates $2 --policies tempo --requests $n --seed $seed --cost-bias $bias "${extra[@]}" --format csv 2>/dev/null \
        | awk -F, -v w=$1 -v v=$variant -v b=$bias 'NR>1 { print w "," v "," b "," $2 "," $7 "," $8 "," $9 }' >> $out.tmp
    done
  done
done
mv $out.tmp $out
python3 - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
base = {(r["workload"], r["variant"], r["rate"]): r for r in rows if r["bias"] == "1"}
print("| workload | rate | variant | bias | SLO goodput vs bias 1 | service goodput vs bias 1 |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r["bias"] == "1":
        continue
    b = base[(r["workload"], r["variant"], r["rate"])]
    print(f"| {r['workload']} | {r['rate']} | {r['variant']} | {r['bias']} | {float(r['slo_goodput'])/float(b['slo_goodput']):.3f} | {float(r['service_goodput'])/float(b['service_goodput']):.3f} |")
PY
