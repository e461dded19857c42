#!/bin/sh
# A rank killed in the middle of a large allreduce on another "node" (network
# namespace): every survivor must get an error within ACCL_TIMEOUT, never
# hang. Without namespaces (not root), the same over loopback with
# ACCL_TRANSPORT=ofi, so the test still says something.
. "$top_srcdir/tests/lib/netns.sh"
launch="$top_builddir/tests/lib/nslaunch"
prog="$top_builddir/tests/transport/ns_coll"
export ACCL_OFI_PROVIDER="tcp;ofi_rxm" ACCL_TIMEOUT=10
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && (ns_setup 2) >/dev/null 2>&1; then
  ns_setup 2
  export ACCL_SOCKET_IFNAME=accl0 ACCL_COMM_ID=10.211.0.1:29312
  echo "== 2 namespaces x 2 ranks, rank 3 killed"
  exec_args="-N $NS_PREFIX -p 2"
else
  echo "(no namespaces here: loopback with ACCL_TRANSPORT=ofi)"
  export ACCL_TRANSPORT=ofi ACCL_COMM_ID=127.0.0.1:$((29400 + $$ % 500))
  exec_args=""
fi
# shellcheck disable=SC2086
timeout -k 5 120 "$launch" -n 4 $exec_args -k 3 -t 100 -- "$prog" --kill 3
