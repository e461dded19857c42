# netns.sh - the one set-up of network namespaces for the tests and for
# perf/compare: N namespaces PREFIX0..PREFIXN-1 ("nodes"), each joined by a
# veth pair to a bridge that lives in its own namespace PREFIXbr, so every
# address exists only inside them. Rank-side interface $NETNS_IFACE ("accl0")
# with 10.211.0.(i+1)/24 in namespace i.
#
# Commands run inside a namespace through nsenter --net (util-linux), never
# `ip -n` / `ip netns exec`: those also make / a slave mount and remount
# /sys, which fails where / is not a mount point (a chroot, such as a freshly
# debootstrapped root: "mount --make-rslave /" failed: Invalid argument). A
# network namespace is all the set-up and the ranks need.
#
# Sourced (the tests):
#   ns_setup N   -> namespaces ${NS_PREFIX}0..N-1, removed by an EXIT trap;
#                   prints SKIP and exits 77 when they cannot be made here
#   ns_cleanup   -> removes them now
# Run as a command (perf/compare, which removes them itself whatever happens):
#   sh netns.sh up PREFIX N      -> make them; prints "ADDRESS INTERFACE" of
#                                   namespace i on line i; exit 77 when they
#                                   cannot be made here
#   sh netns.sh down PREFIX      -> kill what still runs inside them, remove them
#   sh netns.sh rsh PREFIX HOST CMD...
#                                -> OpenMPI's rsh agent: run CMD in the
#                                   namespace that owns address HOST, with
#                                   that namespace's name as host name

NETNS_SUBNET="10.211.0"
NETNS_IFACE="accl0"

netns_addr() { echo "$NETNS_SUBNET.$(($1 + 1))"; }

NETNS_DIR=/var/run/netns

# netns_in NS CMD...: run CMD inside the network namespace NS (only that).
netns_in() { _ns=$1; shift; nsenter --net="$NETNS_DIR/$_ns" -- "$@"; }

# netns_create PREFIX N: returns 77 (message on stderr) where this machine
# cannot make namespaces, 1 on any other failure; a failure leaves nothing.
netns_create() {
  _p=$1; _n=$2
  [ "$(id -u)" = 0 ] || { echo "network namespaces need root" >&2; return 77; }
  command -v ip >/dev/null 2>&1 || { echo "iproute2 (ip) not installed" >&2; return 77; }
  command -v nsenter >/dev/null 2>&1 || { echo "nsenter (util-linux) not installed" >&2; return 77; }
  _err=$(ip netns add "${_p}br" 2>&1) ||
    { echo "ip netns add failed (no CAP_SYS_ADMIN or no netns support): $_err" >&2; return 77; }
  _err=$(netns_in "${_p}br" ip link add br0 type bridge 2>&1) ||
    { netns_remove "$_p"; echo "cannot make a bridge (kernel without CONFIG_BRIDGE?): $_err" >&2; return 77; }
  netns_in "${_p}br" ip link set br0 up || { netns_remove "$_p"; return 1; }
  _i=0
  while [ "$_i" -lt "$_n" ]; do
    _ns="$_p$_i"
    ip netns add "$_ns" || { netns_remove "$_p"; echo "cannot create namespace $_ns" >&2; return 1; }
    _err=$(netns_in "$_ns" ip link add "$NETNS_IFACE" type veth peer name "p$_i" netns "${_p}br" 2>&1) ||
      { netns_remove "$_p"; echo "cannot make a veth pair (kernel without CONFIG_VETH?): $_err" >&2; return 77; }
    { netns_in "$_ns" ip addr add "$(netns_addr "$_i")/24" dev "$NETNS_IFACE" &&
      netns_in "$_ns" ip link set "$NETNS_IFACE" up && netns_in "$_ns" ip link set lo up &&
      netns_in "${_p}br" ip link set "p$_i" master br0 && netns_in "${_p}br" ip link set "p$_i" up; } ||
      { netns_remove "$_p"; echo "cannot configure namespace $_ns" >&2; return 1; }
    _i=$((_i + 1))
  done
  # no STP on the bridge: it forwards as soon as the ports are up; the
  # bootstraps retry refused connections while the ranks start
  return 0
}

# netns_remove PREFIX: every namespace of PREFIX, also those of an interrupted
# set-up. Processes left inside (a killed launcher's ranks) would keep a
# deleted namespace alive, so they are killed first.
netns_remove() {
  command -v ip >/dev/null 2>&1 || return 0
  for _ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case $_ns in
      "$1"br | "$1"[0-9]*)
        _pids=$(ip netns pids "$_ns" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$_pids" ] && kill -9 $_pids 2>/dev/null
        ip netns del "$_ns" 2>/dev/null ;;
    esac
  done
  return 0
}

# netns_rsh PREFIX HOST CMD...: HOST is one of the addresses above. CMD also
# gets a host name of its own (the namespace's name, in a new UTS namespace):
# OpenMPI tells a node's ranks apart from another node's by host name, and
# with one name everywhere the ranks disagree on who shares their node (e.g.
# MPI_Comm_split_type hangs with 2 ranks in each namespace).
netns_rsh() {
  _p=$1; _host=$2; shift 2
  case $_host in
    "$NETNS_SUBNET".[0-9]*) _i=$((${_host##*.} - 1)) ;;
    *) echo "netns.sh rsh: $_host is not an address of the namespaces" >&2; return 1 ;;
  esac
  [ -e "$NETNS_DIR/$_p$_i" ] || { echo "netns.sh rsh: no namespace $_p$_i for $_host" >&2; return 1; }
  # shellcheck disable=SC2016
  exec nsenter --net="$NETNS_DIR/$_p$_i" -- unshare --uts /bin/sh -c \
    'echo "$1" > /proc/sys/kernel/hostname && exec /bin/sh -c "$2"' sh "$_p$_i" "$*"
}

# The tests' interface: one prefix per test process.
NS_PREFIX="acclt$$n"

ns_cleanup() { netns_remove "$NS_PREFIX"; }

ns_skip() { echo "SKIP: $*"; exit 77; }

ns_setup() {
  trap ns_cleanup EXIT
  trap 'exit 1' INT TERM HUP
  _msg=$(netns_create "$NS_PREFIX" "$1" 2>&1)
  case $? in
    0) ;;
    77) ns_skip "$_msg" ;;
    *) echo "$_msg"; exit 1 ;;
  esac
}

# Command mode only when run as a program, never when sourced by a test.
case ${0##*/} in
  netns.sh)
    _cmd=${1:-}; [ $# -gt 0 ] && shift
    case $_cmd in
      up)
        [ $# -eq 2 ] || { echo "usage: netns.sh up PREFIX N" >&2; exit 2; }
        netns_create "$1" "$2" || exit $?
        _i=0
        while [ "$_i" -lt "$2" ]; do echo "$(netns_addr "$_i") $NETNS_IFACE"; _i=$((_i + 1)); done ;;
      down)
        [ $# -eq 1 ] || { echo "usage: netns.sh down PREFIX" >&2; exit 2; }
        netns_remove "$1" ;;
      rsh)
        [ $# -ge 3 ] || { echo "usage: netns.sh rsh PREFIX HOST CMD..." >&2; exit 2; }
        netns_rsh "$@" ;;
      *) echo "usage: netns.sh up PREFIX N | down PREFIX | rsh PREFIX HOST CMD..." >&2; exit 2 ;;
    esac ;;
esac
