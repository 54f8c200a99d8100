#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install packages, configure, build, test.
# Long soak/scale runs are excluded (label "soak"; run them with `ctest --test-dir
# build/release -L soak`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
ctest --preset release
