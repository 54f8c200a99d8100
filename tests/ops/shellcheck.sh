#!/usr/bin/env bash
# Runs shellcheck on the project's shell scripts: the image's entrypoint as POSIX sh, the rest as
# bash. Exit 77 (CTest skip) when shellcheck is not installed.
set -euo pipefail
root=${1:?usage: shellcheck.sh SOURCE_DIR}
if ! command -v shellcheck >/dev/null; then
  echo "SKIP: shellcheck is not installed (Debian package shellcheck; scripts/install-deps.sh)"
  exit 77
fi
shellcheck --shell=sh "$root/docker/entrypoint.sh"
shellcheck "$root"/scripts/*.sh "$root"/tests/ops/*.sh "$root"/tests/install/check_install.sh
echo "shellcheck: clean"
