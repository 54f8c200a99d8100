#!/usr/bin/env bash
# The scale simulator's large runs (docs/performance.md, "Simulator"): the real mesh core of
# N nodes (default 10,000) under a virtual clock, one scenario per run, JSON lines on stdout
# (and in build/release/sim-scale.jsonl). Builds meshvault-sim first. At 10,000 nodes the
# join alone takes about 60 minutes of one core and 11.6 GB, and a 50% crash after it needs
# more than the 24 GB of the development machine (docs/performance.md; the simulator is
# single-threaded and deterministic). Exit status: non-zero if a run's checks failed.
#   scripts/sim-scale.sh [NODES] [SCENARIO...]     e.g. scripts/sim-scale.sh 10000 mass-failure
# The default scenario, all, runs broadcast, pause, partition-heal and a 50% crash after one
# join (the join is most of a large run's cost). `scripts/sim-scale.sh 10000 broadcast` is the
# run that fits in 24 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes="${1:-10000}"
shift || true
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then scenarios=(all); fi
cmake --preset release >/dev/null
cmake --build build/release --target meshvault-sim
# malloc asks for transparent huge pages: the simulator's working set is gigabytes, touched at
# random (fewer TLB misses, presumably: this machine has no hardware counters). A 1,000-node
# join took 31.9 s with them against 38.5 s without (one pair of runs
# side by side, same output).
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
out=build/release/sim-scale.jsonl
status=0
for s in "${scenarios[@]}"; do
  case "$s" in
    mass-failure-10) args=(--scenario mass-failure --fraction 0.1) ;;
    mass-failure-80) args=(--scenario mass-failure --fraction 0.8) ;;
    *) args=(--scenario "$s") ;;
  esac
  /usr/bin/time -f "{\"time_s\":%e,\"max_rss_kb\":%M}" \
    build/release/tests/sim/meshvault-sim --nodes "$nodes" --seed 1 "${args[@]}" | tee -a "$out" ||
    status=1
done
exit $status
