# ns_common.sh - sourced by the namespace tests: make N network namespaces
# joined by veth pairs to a bridge that lives in its own namespace, so every
# address exists only inside them; remove them whatever happens.
#   ns_setup N      -> namespaces ${NS_PREFIX}0..N-1, rank-side interface
#                      "accl0" with 10.211.0.(i+1)/24; prints SKIP and exits 77
#                      when namespaces cannot be made here
#   ns_cleanup      -> removes them (installed as an EXIT trap by ns_setup)
NS_PREFIX="acclt$$n"
NS_BRIDGE="acclt$$b"
NS_COUNT=0

ns_cleanup() {
  i=0
  while [ "$i" -lt "$NS_COUNT" ]; do ip netns del "${NS_PREFIX}$i" 2>/dev/null; i=$((i + 1)); done
  ip netns del "$NS_BRIDGE" 2>/dev/null
  return 0
}

ns_skip() { echo "SKIP: $*"; exit 77; }

ns_setup() {
  [ "$(id -u)" = 0 ] || ns_skip "network namespaces need root"
  command -v ip >/dev/null 2>&1 || ns_skip "iproute2 (ip) not installed"
  trap ns_cleanup EXIT
  trap 'exit 1' INT TERM HUP
  ip netns add "$NS_BRIDGE" 2>/dev/null || ns_skip "ip netns add failed (no CAP_SYS_ADMIN or no netns support)"
  ip -n "$NS_BRIDGE" link add br0 type bridge || ns_skip "no bridge support"
  ip -n "$NS_BRIDGE" link set br0 up
  i=0
  while [ "$i" -lt "$1" ]; do
    ns="${NS_PREFIX}$i"
    ip netns add "$ns" || { echo "cannot create namespace $ns"; exit 1; }
    NS_COUNT=$((i + 1))
    ip -n "$ns" link add accl0 type veth peer name "p$i" netns "$NS_BRIDGE" || ns_skip "no veth support"
    ip -n "$ns" addr add "10.211.0.$((i + 1))/24" dev accl0
    ip -n "$ns" link set accl0 up
    ip -n "$ns" link set lo up
    ip -n "$NS_BRIDGE" link set "p$i" master br0
    ip -n "$NS_BRIDGE" link set "p$i" up
    i=$((i + 1))
  done
  # no STP on the bridge: it forwards as soon as the ports are up; the
  # bootstrap retries refused connections while the ranks start
}
