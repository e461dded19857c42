#!/bin/sh
# Sends and receives of one group on overlapping buffers (in-place sendrecv and
# friends), 1 KiB to 64 MiB, over shared memory at np 2-8 and libfabric at np 2-3.
prog="$top_builddir/tests/collectives/mpi_p2p_overlap"
runner="$top_srcdir/tests/run_mpi.sh"
fail=0
echo "=== shared memory"
sh "$runner" "2 3 4 8" "$prog" $((64 << 20)) || fail=1
echo "=== ACCL_TRANSPORT=ofi (tcp;ofi_rxm)"
ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER="tcp;ofi_rxm" sh "$runner" "2 3" "$prog" $((8 << 20)) || fail=1
exit $fail
