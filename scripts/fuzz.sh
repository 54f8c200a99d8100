#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) for a while and reports what each did.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s, every target
#
# Installs clang's libFuzzer runtime if missing (install-deps.sh --fuzz), configures and
# builds the `fuzz` preset (build/fuzz), then runs each target on its seed corpus
# (tests/fuzz/corpus/<target>, read only) with new inputs kept in build/fuzz/work/<target>.
# Prints one JSON object per target and line:
#   {"target":..,"seconds":..,"execs":..,"execs_per_second":..,"cov":..,"ft":..,
#    "corpus":..,"new_units":..,"peak_rss_mb":..,"result":"ok"|"crash","artifact":..}
# cov and ft are libFuzzer's final coverage counters (edges, features). A crash, leak,
# timeout or sanitizer report leaves its input in build/fuzz/artifacts/ and makes the script
# exit 1; reproduce with build/fuzz/tests/fuzz/fuzz_<target> <artifact>.
# Environment: FUZZ_JOBS targets at a time (default 1), FUZZ_SKIP_BUILD=1 to reuse a build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

all_targets=(admin_request certificate commit combine_shares get_request gossip_envelope key_files link_codec
             link_handshake link_messages manifest member_record mesh_core noise_handshake
             sealed_share storage_key text_share vault_json)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
  scripts/install-deps.sh --fuzz >&2
  cmake --preset fuzz >&2
  nice cmake --build --preset fuzz >&2
fi

build=build/fuzz
# key_files and storage_key write a scratch file per input: memory is faster than disk.
[[ -z "${TMPDIR:-}" && -w /dev/shm ]] && export TMPDIR=/dev/shm
mkdir -p "$build/artifacts" "$build/logs"
status=0

run_one() {
  local t="$1" log="$build/logs/$1.log" work="$build/work/$1"
  mkdir -p "$work"
  local rc=0
  nice "$build/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1 || rc=$?
  # The last status line ("#N DONE cov: C ft: F corp: U/...") and the final stats.
  local line cov ft corp execs eps newu rss artifact result
  line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$line")
  execs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+)/\1/p' "$log")
  eps=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]*([0-9]+)/\1/p' "$log")
  newu=$(sed -nE 's/^stat::new_units_added:[[:space:]]*([0-9]+)/\1/p' "$log")
  rss=$(sed -nE 's/^stat::peak_rss_mb:[[:space:]]*([0-9]+)/\1/p' "$log")
  artifact=$(sed -nE "s/.*Test unit written to (.*)/\1/p" "$log" | tail -1)
  result=ok
  if ((rc != 0)) || [[ -n "$artifact" ]]; then result=crash; fi
  {
    printf '{"target":"%s","seconds":%s,"execs":%s,"execs_per_second":%s,"cov":%s,"ft":%s,' \
      "$t" "$seconds" "${execs:-0}" "${eps:-0}" "${cov:-0}" "${ft:-0}"
    printf '"corpus":%s,"new_units":%s,"peak_rss_mb":%s,"result":"%s","artifact":"%s"}\n' \
      "${corp:-0}" "${newu:-0}" "${rss:-0}" "$result" "$artifact"
  } | tee "$build/logs/$t.json"
}

jobs_max="${FUZZ_JOBS:-1}"
for t in "${targets[@]}"; do
  [[ -x "$build/tests/fuzz/fuzz_$t" ]] || { echo "fuzz.sh: no target '$t'" >&2; exit 1; }
  rm -f "$build/logs/$t.json"
  run_one "$t" &
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
done
wait
for t in "${targets[@]}"; do
  grep -q '"result":"ok"' "$build/logs/$t.json" 2>/dev/null || status=1
done
exit "$status"
