#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then configures, builds and runs the outside
# project in consumer/ against it with find_package(meshvault CONFIG).
set -euo pipefail
build_dir=$1 src_dir=$2 work=$3 sanitize=${4:-}
flags=()
if [[ -n "$sanitize" ]]; then  # a sanitized library needs a sanitized consumer
  flags=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$src_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" "${flags[@]}" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
