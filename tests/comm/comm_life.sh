#!/bin/sh
# Group creation from one thread (2 and 8 devices per process, 2 threads x 2
# devices), destroy of several comms from one thread, non-blocking creation,
# finalize and shrink: over shared memory, then every peer over libfabric.
run="$top_srcdir/tests/run_mpi.sh"
prog="$top_builddir/tests/comm/mpi_comm_life"
"$run" "1 2 3" "$prog" 2 1 || exit 1
"$run" "2" "$prog" 8 1 || exit 1
"$run" "2" "$prog" 2 2 || exit 1
export ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER="tcp;ofi_rxm"
"$run" "1 2 3" "$prog" 2 1 || exit 1
exec "$run" "2" "$prog" 2 2
