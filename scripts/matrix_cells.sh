# The workload matrix of docs/WORKLOADS.md as one list, sourced by scripts/matrix.sh and scripts/bound.sh so both
# walk the same cells. each_cell CMD calls `CMD family seed workload-options...` once per (family, seed), for the
# seeds in SEEDS (default 11 43) and the families in FAMILIES (default: all); each family's rates run from about half
# its knee to 4x past it.
each_cell() {
  local cmd=$1 seed family
  local families=${FAMILIES:-mixed azure bursty tight loose prefill decode agent}
  for seed in ${SEEDS:-11 43}; do
    for family in $families; do
      case $family in
        mixed) $cmd mixed "$seed" --workload mixed --rates 2,4,6,8,12 ;;
        azure) $cmd azure "$seed" --workload azure-conv --rates 2,4,6,8 ;;
        bursty) $cmd bursty "$seed" --workload mixed --arrival gamma --cv 4 --rates 2,4,8 ;;
        tight) $cmd tight "$seed" --workload mixed --slo-scale 0.5 --rates 2,4,8 ;;
        loose) $cmd loose "$seed" --workload mixed --slo-scale 2 --rates 2,4,8 ;;
        prefill) $cmd prefill "$seed" --workload prefill-heavy --rates 1.5,3,6,12 ;;
        decode) $cmd decode "$seed" --workload decode-heavy --rates 0.4,0.75,1.5,3 ;;
        agent) $cmd agent "$seed" --workload agent-heavy --rates 0.6,1.2,2.4,4.8 ;;
        *) echo "unknown family '$family'" >&2; return 2 ;;
      esac
    done
  done
}
