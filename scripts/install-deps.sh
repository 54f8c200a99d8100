#!/usr/bin/env bash
# Installs every Debian 12 package meshvault needs to build, test and benchmark.
# Idempotent: packages already present are skipped. Works as root or through sudo.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --runtime  only the shared libraries the binary links against
#   scripts/install-deps.sh --fuzz     build + test dependencies and clang's libFuzzer runtime
#                                      (scripts/fuzz.sh)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libsodium-dev libboost-dev libsqlite3-dev libcli11-dev catch2
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  valgrind
)
runtime_pkgs=(libsodium23 libsqlite3-0 libspdlog1.10 libfmt9 ca-certificates)

# libFuzzer and the sanitizer runtimes ship in libclang-rt-14-dev; llvm has llvm-symbolizer;
# clang is Debian 12's clang++ (14), which the fuzz preset names.
fuzz_pkgs=(clang libclang-rt-14-dev llvm)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--runtime" ]]; then
  pkgs=("${runtime_pkgs[@]}")
else
  [[ "${1:-}" == "--fuzz" ]] && pkgs+=("${fuzz_pkgs[@]}")
  # Node.js runs the cross-implementation test against the npm `shamir-secret-sharing`
  # package. A machine that already has node/npm from elsewhere keeps them.
  command -v node >/dev/null || pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
