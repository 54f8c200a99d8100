#!/usr/bin/env bash
# The scale simulator's large runs (docs/performance.md, "Simulator"): the real mesh core of
# N nodes (default 10,000) under a virtual clock, one scenario per run, JSON lines on stdout
# (and in build/release/sim-scale.jsonl), on every core (--threads; the same run with any
# number). Builds meshvault-sim first. Exit status: non-zero if a run's checks failed.
#   scripts/sim-scale.sh [NODES] [SCENARIO...]     e.g. scripts/sim-scale.sh 10000 broadcast
# The default scenario, mass-failure, is the 10,000-node acceptance run: the join through 3
# seeds, 5 broadcasts, half the nodes crashed at once, broadcasts 1, 5, 10 and 25 rounds
# later, detection everywhere. At 10,000 nodes on 2 cores it took 38 minutes and 20.7 GB of
# memory (docs/performance.md, "Sixth run"). `all` adds pause and partition-heal phases: run
# at 2,000 nodes, where its partition took 2.4 times the crash's memory; not at 10,000.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes="${1:-10000}"
shift || true
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then scenarios=(mass-failure); fi
threads="${SIM_THREADS:-$(nproc)}"
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
    mass-failure) args=(--scenario mass-failure --fraction 0.5 --broadcasts 5 --memory-trace 1000) ;;
    mass-failure-10) args=(--scenario mass-failure --fraction 0.1) ;;
    mass-failure-80) args=(--scenario mass-failure --fraction 0.8) ;;
    *) args=(--scenario "$s") ;;
  esac
  /usr/bin/time -f "{\"time_s\":%e,\"max_rss_kb\":%M}" \
    build/release/tests/sim/meshvault-sim --nodes "$nodes" --seed 1 --threads "$threads" \
    "${args[@]}" | tee -a "$out" ||
    status=1
done
exit $status
