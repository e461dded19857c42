#!/bin/sh
# Real multi-node runs: 2, then 4 network namespaces ("nodes") joined by a
# bridge, 2 ranks in each, started by tests/lib/nslaunch (mpirun cannot wire
# up ranks inside namespaces); the bootstrap root is pinned with
# ACCL_COMM_ID, ranks of a namespace share shm, namespaces talk over
# libfabric tcp;ofi_rxm on the veth interface. Runs the sampled matrix with
# the default choice and each inter-node plan forced (ring, tree, hier).
. "$top_srcdir/tests/lib/netns.sh"
launch="$top_builddir/tests/lib/nslaunch"
prog="$top_builddir/tests/transport/ns_coll"
export ACCL_OFI_PROVIDER="tcp;ofi_rxm" ACCL_SOCKET_IFNAME=accl0 ACCL_COMM_ID=10.211.0.1:29311
ncases=${ACCL_TEST_CASES:-30}
[ -n "$ACCL_TEST_FULL" ] && ncases=100000
ns_setup 4
fail=0
for nodes in 2 4; do
  for algo in "" ring tree hier; do
    echo "== $nodes namespaces x 2 ranks, ACCL_ALGO=${algo:-default}"
    ACCL_ALGO=$algo timeout -k 5 300 "$launch" -n $((nodes * 2)) -N "$NS_PREFIX" -p 2 -t 240 -- "$prog" "$ncases" || fail=1
  done
done
exit $fail
