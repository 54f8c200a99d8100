#!/usr/bin/env bash
# Network plumbing for the ops tests: one network namespace per node, like one container per
# compose service, on a private L2 network that exists only inside namespaces this script
# made. Nothing is added to the host's own namespace.
#
#   netns.sh check                 exit 0 if namespaces can be made here, else 77 with why
#   netns.sh up RUN N SPLIT        namespaces RUN-sw (the switch) and RUN-node1..RUN-nodeN
#   netns.sh partition RUN         cut bridge A (node1..nodeSPLIT) from bridge B (the rest)
#   netns.sh heal RUN              join them again
#   netns.sh renumber RUN BASE     give nodeI the address 10.213.0.(BASE+I), rewrite hosts
#   netns.sh down RUN              kill what runs in RUN's namespaces, delete them
#   netns.sh reap-stale            `down` every run mvtPID whose process PID is gone, and
#                                  remove its directory /tmp/meshvault-netns-PID-*
#
# Layout: the switch namespace holds two bridges, bra and brb, joined by a veth pair
# (trunk-a on bra, trunk-b on brb). nodeI's eth0 (10.213.0.(10+I)/24) is a veth pair whose
# other end, pI, is a port of bra for I <= SPLIT and of brb otherwise. With the trunk up they
# are one segment; `partition` sets trunk-a down, so frames between the sides are dropped
# silently (no reset, no ICMP), as when a switch between two racks fails. Service names
# resolve through /etc/netns/RUN-nodeI/hosts, which `ip netns exec` mounts on /etc/hosts
# (and an empty resolv.conf on /etc/resolv.conf).
set -euo pipefail

subnet=10.213.0
die() {
  echo "netns.sh: $*" >&2
  exit 1
}

node_ns() { echo "$1-node$2"; }

nodes_of() {  # the node numbers of run $1, from the namespaces that exist
  ip netns list | sed -n "s/^$1-node\([0-9][0-9]*\)\( .*\)\{0,1\}$/\1/p" | sort -n
}

write_hosts() {  # $1 run, $2 base: every node's hosts file maps nodeJ -> subnet.(base+J)
  local run=$1 base=$2 i j
  local nodes
  nodes=$(nodes_of "$run")
  for i in $nodes; do
    local dir
    dir="/etc/netns/$(node_ns "$run" "$i")"
    mkdir -p "$dir"
    {
      echo "127.0.0.1 localhost"
      for j in $nodes; do echo "$subnet.$((base + j)) node$j"; done
    } >"$dir/hosts.tmp"
    mv "$dir/hosts.tmp" "$dir/hosts"
    # No DNS server: a name missing from hosts fails at once (glibc then asks 127.0.0.1,
    # the namespace's own loopback), and no query ever leaves the namespaces.
    echo "# meshvault test namespace: names come from /etc/hosts" >"$dir/resolv.conf"
  done
}

cmd_check() {
  [[ $(id -u) -eq 0 ]] || { echo "network namespaces need root (uid $(id -u))"; exit 77; }
  command -v ip >/dev/null || { echo "no 'ip' command (Debian package iproute2)"; exit 77; }
  command -v unshare >/dev/null || { echo "no 'unshare' command (util-linux)"; exit 77; }
  unshare --net true 2>/dev/null || { echo "unshare --net fails: namespaces not permitted here"; exit 77; }
  local probe="mvt$$-check"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "ip netns add fails: namespaces not permitted here"
    exit 77
  fi
  local ok=1
  ip -n "$probe" link add probe0 type bridge 2>/dev/null || ok=0
  ip -n "$probe" link add probe1 type veth peer name probe2 2>/dev/null || ok=0
  ip netns del "$probe"
  ((ok)) || { echo "no bridge or veth support (kernel modules bridge, veth)"; exit 77; }
}

cmd_up() {
  local run=$1 n=$2 split=$3 sw="$1-sw" i ns
  [[ $run =~ ^mvt[0-9]+$ ]] || die "run '$run' must be mvt<pid>"
  ((n >= 1 && n <= 200 && split >= 0 && split <= n)) || die "bad N=$n SPLIT=$split"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  for br in bra brb; do
    ip -n "$sw" link add "$br" type bridge stp_state 0
    ip -n "$sw" link set "$br" up
  done
  ip -n "$sw" link add trunk-a type veth peer name trunk-b
  ip -n "$sw" link set trunk-a master bra up
  ip -n "$sw" link set trunk-b master brb up
  for ((i = 1; i <= n; i++)); do
    ns=$(node_ns "$run" "$i")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$ns"
    if ((i <= split)); then ip -n "$sw" link set "p$i" master bra; else ip -n "$sw" link set "p$i" master brb; fi
    ip -n "$sw" link set "p$i" up
    ip -n "$ns" addr add "$subnet.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  write_hosts "$run" 10
}

cmd_partition() { ip -n "$1-sw" link set trunk-a down; }
cmd_heal() { ip -n "$1-sw" link set trunk-a up; }

cmd_renumber() {
  local run=$1 base=$2 i ns
  ((base >= 1 && base <= 200)) || die "bad BASE=$base (1..200)"
  for i in $(nodes_of "$run"); do
    ns=$(node_ns "$run" "$i")
    ip -n "$ns" addr flush dev eth0
    ip -n "$ns" addr add "$subnet.$((base + i))/24" dev eth0
  done
  write_hosts "$run" "$base"
}

cmd_down() {
  local run=$1 ns pids
  [[ $run =~ ^mvt[0-9]+$ ]] || die "run '$run' must be mvt<pid>"
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$run-(sw|node[0-9]+)$" || true); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086  # one pid per word
      kill -9 $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
}

running() {  # process $1 exists and is not a zombie
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

cmd_reap_stale() {
  local run pid
  for run in $(ip netns list | sed -n 's/^\(mvt[0-9][0-9]*\)-.*/\1/p' | sort -u); do
    pid=${run#mvt}
    if ! running "$pid"; then
      echo "netns.sh: removing namespaces of $run (process $pid is gone)" >&2
      cmd_down "$run"
    fi
  done
  # The test's directories (/tmp/meshvault-netns-PID-XXXXXX): logs, certificates, data.
  local dir
  for dir in /tmp/meshvault-netns-[0-9]*-*; do
    [[ -d $dir ]] || continue
    pid=${dir#/tmp/meshvault-netns-}
    pid=${pid%%-*}
    if [[ $pid =~ ^[0-9]+$ ]] && ! running "$pid"; then
      echo "netns.sh: removing $dir (process $pid is gone)" >&2
      rm -rf -- "$dir"
    fi
  done
}

cmd=${1:-}
shift || true
case $cmd in
  check) cmd_check ;;
  up) [[ $# -eq 3 ]] || die "usage: up RUN N SPLIT"; cmd_up "$@" ;;
  partition | heal) [[ $# -eq 1 ]] || die "usage: $cmd RUN"; "cmd_$cmd" "$1" ;;
  renumber) [[ $# -eq 2 ]] || die "usage: renumber RUN BASE"; cmd_renumber "$@" ;;
  down) [[ $# -eq 1 ]] || die "usage: down RUN"; cmd_down "$1" ;;
  reap-stale) cmd_reap_stale ;;
  *) die "usage: netns.sh check | up RUN N SPLIT | partition RUN | heal RUN | renumber RUN BASE | down RUN | reap-stale" ;;
esac
