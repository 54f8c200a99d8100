#!/usr/bin/env bash
# Installs the pinned npm package used by the cross-implementation tests into DIR.
# Without node/npm or the npm registry, prints SKIP (CTest then skips) unless CI=true, where a
# missing reference implementation is a failure: CI must really run the check.
set -u
dir=$1
skip() {
  if [[ "${CI:-}" == "true" ]]; then echo "FAIL: $1 (required in CI)"; exit 1; fi
  echo "SKIP: $1"; exit 0
}
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
if [[ -d "$dir/node_modules/shamir-secret-sharing" ]]; then echo "already installed"; exit 0; fi
cd "$dir" || exit 1
if ! timeout 300 npm ci --no-audit --no-fund --loglevel=error; then
  skip "npm ci failed (is the npm registry reachable?)"
fi
echo "installed shamir-secret-sharing into $dir"
