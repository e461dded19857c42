#!/bin/sh
# The pairwise correctness matrix (mpi_coll.c) over libfabric: ACCL_TRANSPORT=ofi on
# tcp;ofi_rxm over loopback at np 2, 3, 4 (default, ring, tree and
# recursive-doubling plans);
# two "nodes" by ACCL_HOSTID (shm inside, ofi between), with the
# hierarchical AllReduce forced too; three rails striped
# over several endpoints of one NIC; the rma protocol (tcp;ofi_rxm offers
# FI_RMA) and the tagged one; the sockets provider (it flags the local
# completions of writes with FI_REMOTE_CQ_DATA too: they must not count as
# arrivals).
prog="$top_builddir/tests/collectives/mpi_coll"
runner="$top_srcdir/tests/run_mpi.sh"
wrap="$top_srcdir/tests/topology/hostid_wrap.sh"
export ACCL_OFI_PROVIDER="tcp;ofi_rxm"
fail=0
for algo in "" ring tree rd; do
  echo "=== ACCL_TRANSPORT=ofi ACCL_ALGO=${algo:-default}"
  ACCL_TRANSPORT=ofi ACCL_ALGO=$algo sh "$runner" "2 3 4" "$prog" || fail=1
done
echo "=== 2 nodes x 2 ranks by ACCL_HOSTID: shm inside a node, ofi between"
TOPO_TEST_PPN=2 sh "$runner" "4" "$wrap" "$prog" || fail=1
echo "=== hierarchical AllReduce forced: 2 nodes x 3 ranks, 3 nodes x 1 rank"
TOPO_TEST_PPN=3 ACCL_ALGO=hier sh "$runner" "6" "$wrap" "$prog" || fail=1
TOPO_TEST_PPN=1 ACCL_ALGO=hier sh "$runner" "3" "$wrap" "$prog" || fail=1
echo "=== the 128 KiB steps of network communicators whose ranks each have a core, with more ranks than cores here"
TOPO_TEST_PPN=2 ACCL_SLOT_BYTES=131072 sh "$runner" "4" "$wrap" "$prog" || fail=1
echo "=== ACCL_TRANSPORT=ofi ACCL_OFI_NRAILS=3 (several endpoints per NIC)"
ACCL_TRANSPORT=ofi ACCL_OFI_NRAILS=3 sh "$runner" "3" "$prog" || fail=1
echo "=== ACCL_TRANSPORT=ofi ACCL_OFI_PROTOCOL=tagged (the protocol of providers without FI_RMA), 1 and 2 rails"
ACCL_TRANSPORT=ofi ACCL_OFI_PROTOCOL=tagged sh "$runner" "2 3" "$prog" || fail=1
ACCL_TRANSPORT=ofi ACCL_OFI_PROTOCOL=tagged ACCL_OFI_NRAILS=2 sh "$runner" "3" "$prog" || fail=1
echo "=== ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER=sockets (rma protocol)"
ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER=sockets ACCL_TIMEOUT=60 sh "$runner" "2 3" "$prog" || fail=1
exit $fail
