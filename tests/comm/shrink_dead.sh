#!/bin/sh
# acclCommShrink excluding a SIGKILLed rank, then a collective on the new
# communicator: over shared memory, then every peer over libfabric.
prog="$top_builddir/tests/comm/test_shrink_dead"
"$prog" || exit 1
ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER="tcp;ofi_rxm" exec "$prog"
