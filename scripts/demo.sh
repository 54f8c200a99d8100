#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine: install packages, build, start a local 5-node
# cluster with `meshvault dev`, put a secret (split here into 5 shares, 3 needed) and get it
# back, then stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target meshvault
mv=build/release/cli/meshvault

work=$(mktemp -d)
dev_pid=
cleanup() {
  if [ -n "$dev_pid" ]; then kill -INT "$dev_pid" 2>/dev/null || true; wait "$dev_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: any free port, so the demo runs next to other clusters.
"$mv" dev --nodes 5 --listen 127.0.0.1:0 --env-file "$work/env" > "$work/dev.out" &
dev_pid=$!
for _ in $(seq 300); do
  [ -s "$work/env" ] && break
  kill -0 "$dev_pid" 2>/dev/null || { echo "meshvault dev failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/env" ] || { echo "meshvault dev did not become ready in 30 s" >&2; exit 1; }
cat "$work/dev.out"
# shellcheck disable=SC1091
. "$work/env"

echo "== members =="
"$mv" members
echo "== put demo/password (3 of 5 shares needed) =="
printf 'correct horse battery staple' | "$mv" put demo/password -t 3 -n 5
echo "== list =="
"$mv" list
echo "== get demo/password =="
"$mv" get demo/password
echo
echo "== audit demo/password =="
"$mv" audit demo/password
