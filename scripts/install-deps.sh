#!/usr/bin/env bash
# Installs every Debian 12 package meshvault needs to build, test and benchmark.
# Idempotent: packages already present are skipped. Works as root or through sudo.
#
# Runs unattended (DEBIAN_FRONTEND=noninteractive, no prompts), also as root in a container
# without sudo (docker/Dockerfile uses --build and --runtime).
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --build    only what building the libraries and the binary needs
#   scripts/install-deps.sh --runtime  only the shared libraries the binary links against
#   scripts/install-deps.sh --fuzz     build + test dependencies and clang's libFuzzer runtime
#                                      (scripts/fuzz.sh)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libsodium-dev libboost-dev libsqlite3-dev libcli11-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
)
# Tests: Catch2, the constant-time check (valgrind), the ops tests (docker/ checked with
# docker-compose and shellcheck; network namespaces with iproute2; backups with sqlite3), the
# admin page drawn by headless chromium.
test_pkgs=(catch2 valgrind docker-compose shellcheck iproute2 sqlite3 chromium)
runtime_pkgs=(libsodium23 libsqlite3-0 libspdlog1.10 libfmt9 ca-certificates)

# libFuzzer and the sanitizer runtimes ship in libclang-rt-14-dev; llvm has llvm-symbolizer;
# clang is Debian 12's clang++ (14), which the fuzz preset names.
fuzz_pkgs=(clang libclang-rt-14-dev llvm)

case "${1:-}" in
  --runtime) pkgs=("${runtime_pkgs[@]}") ;;
  --build) pkgs=("${build_pkgs[@]}") ;;
  "" | --fuzz)
    pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}")
    [[ "${1:-}" == "--fuzz" ]] && pkgs+=("${fuzz_pkgs[@]}")
    # Node.js runs the cross-implementation test against the npm `shamir-secret-sharing`
    # package. A machine that already has node/npm from elsewhere keeps them.
    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)
    ;;
  *)
    echo "install-deps: unknown option '$1' (expected nothing, --build, --runtime or --fuzz)" >&2
    exit 1
    ;;
esac

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
