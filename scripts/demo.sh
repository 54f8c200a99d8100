#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine: install packages, build, then split a secret
# 3-of-5 and recover it from three of the shares. (When the cluster lands this becomes
# `meshvault dev` with a put and a get.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target meshvault
mv=build/release/cli/meshvault
shares=$(printf 'correct horse battery staple' | "$mv" split -t 3 -n 5 --label demo)
echo "== 5 shares, any 3 recover the secret =="
echo "$shares"
echo "== recovered from shares 1, 3 and 5 =="
echo "$shares" | grep -v '^#' | sed -n '1p;3p;5p' | "$mv" combine
echo
