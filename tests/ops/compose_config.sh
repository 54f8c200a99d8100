#!/usr/bin/env bash
# Validates docker/docker-compose.yml with docker-compose (Debian 12: 1.29, the package
# scripts/install-deps.sh installs) the way CI can, without a Docker engine: `config -q`.
# Exit 77 (CTest skip) when docker-compose is not installed.
set -euo pipefail
file=${1:?usage: compose_config.sh docker-compose.yml}
if ! command -v docker-compose >/dev/null; then
  echo "SKIP: docker-compose is not installed (Debian package docker-compose; scripts/install-deps.sh)"
  exit 77
fi
echo "docker-compose: $(docker-compose version --short 2>/dev/null || echo unknown version)"
# Interpolation must not depend on the caller's environment.
env -u MESHVAULT_LOG_LEVEL -u MESHVAULT_TIMINGS -u MESHVAULT_ADDRESS \
  docker-compose -f "$file" config -q
# The services, the cli profile included.
services=$(docker-compose -f "$file" --profile cli config --services | sort | tr '\n' ' ')
expected="cli init node1 node2 node3 node4 node5 "
if [[ $services != "$expected" ]]; then
  echo "services: got '$services', want '$expected'" >&2
  exit 1
fi
echo "compose file valid: $services"
