#!/bin/sh
# The meshvault image's entrypoint.
#
#   entrypoint.sh init           create the CA, the node certificates and the client
#                                certificates (idempotent: what exists is kept)
#   entrypoint.sh node [FLAG...] run `meshvault agent` as the node named $NODE_NAME (default:
#                                the host name), extra FLAGs passed to the agent
#   entrypoint.sh COMMAND ...    run `meshvault COMMAND ...` (put, get, list, members, ...)
#
# Environment (defaults in brackets; every MESHVAULT_* variable the meshvault CLI knows, such
# as MESHVAULT_JOIN, MESHVAULT_LOG_LEVEL or MESHVAULT_TIMINGS, reaches it unchanged):
#   init:
#     MESHVAULT_CA_DIR      [/ca]     the CA: ca.key (never leaves this directory) and ca.crt
#     MESHVAULT_CERTS_DIR   [/certs]  ca.crt and NAME.crt / NAME.key for every node and client
#     MESHVAULT_NODES       [node1,node2,node3,node4,node5]  node names (commas or spaces)
#     MESHVAULT_CLIENTS     [admin]   client certificate names (commas or spaces)
#     MESHVAULT_CA_DAYS     [3650]    validity of a new CA
#     MESHVAULT_CERT_DAYS   [365]     validity of a new node or client certificate
#   node:
#     NODE_NAME             [uname -n] picks MESHVAULT_CERTS_DIR/NODE_NAME.crt and .key
#     MESHVAULT_CERTS_DIR   [/certs]
#     MESHVAULT_DATA_DIR    [/data]   the node's state (peers.db, vault.db, vault.key)
#     MESHVAULT_LISTEN      [0.0.0.0:7400]
#     MESHVAULT_ADVERTISE   [NODE_NAME:<listen port>] the address other nodes dial
#     MESHVAULT_JOIN        [none]    members to join through, e.g. node1:7400,node2:7400 or a
#                                     DNS name that resolves to several members
#     MESHVAULT_HTTP        [127.0.0.1:8200] the admin HTTP API (the HEALTHCHECK uses it)
#     MESHVAULT_CA, MESHVAULT_CERT, MESHVAULT_KEY  [from MESHVAULT_CERTS_DIR and NODE_NAME]
#     MESHVAULT_KEY_DIR     [/run/meshvault]  where the key is copied (mode 0400) when the
#                                     mounted one is readable by group or others (Kubernetes
#                                     Secret volumes with fsGroup)
#     MESHVAULT_BIN         [meshvault]  the executable
#
# Private keys are never printed. Exit codes: those of meshvault; 1 for a bad setting here.
set -eu
set -f # no pathname expansion: lists from the environment are split on purpose, never globbed

me="meshvault entrypoint"
bin=${MESHVAULT_BIN:-meshvault}

die() {
  printf '%s: %s\n' "$me" "$*" >&2
  exit 1
}

say() {
  printf '%s: %s\n' "$me" "$*"
}

# A certificate name as meshvault accepts it and safe as a file name: [A-Za-z0-9._-],
# not starting with '.' or '-', 1 to 64 bytes.
check_name() {
  what=$1 name=$2
  case $name in
    '' | .* | -* | *[!A-Za-z0-9._-]*)
      die "$what '$name' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')"
      ;;
  esac
  [ "${#name}" -le 64 ] || die "$what '$name' is longer than 64 bytes"
}

check_days() {
  what=$1 days=$2
  case $days in
    '' | *[!0-9]*) die "$what must be a number of days, not '$days'" ;;
  esac
}

# Prints the names in a comma- or space-separated list, one per line.
split_list() {
  printf '%s\n' "$1" | tr -s ',[:space:]' '[\n*]' | sed '/^$/d'
}

# Issues NAME.crt/NAME.key into the certs dir unless both exist. $1: node|client, $2: name.
issue() {
  kind=$1 name=$2
  crt="$certs/$name.crt" key="$certs/$name.key"
  if [ -e "$crt" ] && [ -e "$key" ]; then
    say "$kind certificate '$name' exists; kept"
    return 0
  fi
  if [ -e "$crt" ] || [ -e "$key" ]; then
    die "only one of $crt and $key exists; move it aside and run init again"
  fi
  [ -n "$have_ca_key" ] || die "cannot issue '$name': no CA key in $ca_dir (certificates from an existing CA are kept; its key is needed for new ones)"
  if [ "$kind" = client ]; then
    "$bin" cert create --ca "$ca_dir" --name "$name" --client --days "$cert_days" --out "$certs" >/dev/null
  else
    "$bin" cert create --ca "$ca_dir" --name "$name" --days "$cert_days" --out "$certs" >/dev/null
  fi
  say "issued $kind certificate '$name': $crt (key $key, mode 0600)"
}

cmd_init() {
  [ "$#" -eq 0 ] || die "init takes no arguments (settings come from the environment)"
  ca_dir=${MESHVAULT_CA_DIR:-/ca}
  certs=${MESHVAULT_CERTS_DIR:-/certs}
  nodes=${MESHVAULT_NODES:-node1,node2,node3,node4,node5}
  clients=${MESHVAULT_CLIENTS:-admin}
  ca_days=${MESHVAULT_CA_DAYS:-3650}
  cert_days=${MESHVAULT_CERT_DAYS:-365}
  check_days MESHVAULT_CA_DAYS "$ca_days"
  check_days MESHVAULT_CERT_DAYS "$cert_days"
  [ -n "$(split_list "$nodes")" ] || die "MESHVAULT_NODES names no node"
  for n in $(split_list "$nodes"); do check_name "node name" "$n"; done
  for n in $(split_list "$clients"); do check_name "client name" "$n"; done
  for n in $(split_list "$clients"); do
    for m in $(split_list "$nodes"); do
      [ "$n" != "$m" ] || die "'$n' is both a node and a client name"
    done
  done

  umask 077
  mkdir -p "$ca_dir" "$certs" || die "cannot create $ca_dir or $certs"
  have_ca_key=
  if [ -e "$ca_dir/ca.key" ]; then
    [ -e "$ca_dir/ca.crt" ] || die "$ca_dir/ca.key exists without $ca_dir/ca.crt"
    have_ca_key=1
    say "CA exists in $ca_dir; kept"
  elif [ -e "$certs/ca.crt" ]; then
    say "no CA key in $ca_dir; using the certificates in $certs as they are"
  else
    "$bin" ca create --out "$ca_dir" --days "$ca_days" >/dev/null
    have_ca_key=1
    say "created the CA: $ca_dir/ca.key (stays there) and $ca_dir/ca.crt"
  fi
  if [ -n "$have_ca_key" ]; then
    if [ -e "$certs/ca.crt" ]; then
      cmp -s "$ca_dir/ca.crt" "$certs/ca.crt" ||
        die "$certs/ca.crt is not the CA in $ca_dir: the certificates there come from another CA"
    else
      cp "$ca_dir/ca.crt" "$certs/ca.crt.tmp"
      chmod 644 "$certs/ca.crt.tmp"
      mv "$certs/ca.crt.tmp" "$certs/ca.crt"
      say "copied the CA certificate to $certs/ca.crt"
    fi
  fi
  for n in $(split_list "$nodes"); do issue node "$n"; done
  for n in $(split_list "$clients"); do issue client "$n"; done
  # Certificates are public (0644); keys stay 0600.
  find "$certs" -maxdepth 1 -name '*.crt' -type f -exec chmod 644 {} +
  say "init done: $(split_list "$nodes" | wc -l | tr -d ' ') node(s), $(split_list "$clients" | wc -l | tr -d ' ') client(s) in $certs"
}

# The port of HOST:PORT or [V6]:PORT.
port_of() {
  case $1 in
    *:*) printf '%s\n' "${1##*:}" ;;
    *) die "MESHVAULT_LISTEN '$1' must be HOST:PORT" ;;
  esac
}

cmd_node() {
  name=${NODE_NAME:-$(uname -n)}
  check_name NODE_NAME "$name"
  certs=${MESHVAULT_CERTS_DIR:-/certs}
  data=${MESHVAULT_DATA_DIR:-/data}
  listen=${MESHVAULT_LISTEN:-0.0.0.0:7400}
  advertise=${MESHVAULT_ADVERTISE:-$name:$(port_of "$listen")}
  http=${MESHVAULT_HTTP:-127.0.0.1:8200}
  ca=${MESHVAULT_CA:-$certs/ca.crt}
  cert=${MESHVAULT_CERT:-$certs/$name.crt}
  key=${MESHVAULT_KEY:-$certs/$name.key}
  for f in "$ca" "$cert" "$key"; do
    [ -e "$f" ] || die "$f is missing: run 'entrypoint.sh init' with '$name' in MESHVAULT_NODES first (NODE_NAME picks the certificate)"
    [ -r "$f" ] || die "$f is not readable by uid $(id -u)"
  done
  [ -d "$data" ] || mkdir -p "$data" || die "cannot create the data dir $data"
  [ -w "$data" ] || die "the data dir $data is not writable by uid $(id -u)"

  # Kubernetes Secret volumes make keys group-readable (fsGroup); the agent refuses such a
  # key, so it gets a private copy on a memory-backed directory.
  mode=$(stat -L -c %a "$key") || die "cannot stat $key"
  case $mode in
    *00) ;;
    *)
      key_dir=${MESHVAULT_KEY_DIR:-/run/meshvault}
      (umask 077 && mkdir -p "$key_dir") || die "cannot create $key_dir for a private copy of $key"
      (umask 077 && cp "$key" "$key_dir/$name.key.tmp" && chmod 400 "$key_dir/$name.key.tmp" &&
        mv -f "$key_dir/$name.key.tmp" "$key_dir/$name.key") ||
        die "cannot copy $key to $key_dir"
      say "$key has mode $mode; using a private copy in $key_dir"
      key="$key_dir/$name.key"
      ;;
  esac

  say "node $name: listen $listen, advertise $advertise, join ${MESHVAULT_JOIN:-(none; stored peers only)}, http $http, data $data"
  exec "$bin" agent --data-dir "$data" --listen "$listen" --advertise "$advertise" \
    --http "$http" --ca "$ca" --cert "$cert" --key "$key" "$@"
}

usage() {
  cat <<'EOF'
usage: entrypoint.sh init | node [AGENT FLAG...] | COMMAND [ARG...]
  init     create the CA and certificates into MESHVAULT_CERTS_DIR (idempotent)
  node     run the agent as NODE_NAME, joining MESHVAULT_JOIN
  COMMAND  any meshvault command, e.g. put, get, list, members, status, health
Settings: the comment at the top of docker/entrypoint.sh and docs/operations.md.
EOF
}

[ "$#" -gt 0 ] || set -- node
cmd=$1
shift
case $cmd in
  init) cmd_init "$@" ;;
  node) cmd_node "$@" ;;
  help | -h | --help) usage ;;
  meshvault) exec "$bin" "$@" ;;
  *) exec "$bin" "$cmd" "$@" ;;
esac
