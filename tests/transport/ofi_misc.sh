#!/bin/sh
# Provider and protocol naming (a missing provider is an error, never a
# fallback; an unknown protocol is warned about and auto used, as every bad
# parameter value) and fork
# after init, with ACCL_TRANSPORT=ofi on tcp;ofi_rxm.
prog="$top_builddir/tests/transport/mpi_ofi_misc"
runner="$top_srcdir/tests/run_mpi.sh"
export ACCL_TRANSPORT=ofi
ACCL_OFI_PROVIDER=no-such-provider sh "$runner" "2" "$prog" badprov || exit 1
ACCL_OFI_PROVIDER="tcp;ofi_rxm" ACCL_OFI_PROTOCOL=carrier-pigeon sh "$runner" "2" "$prog" badproto || exit 1
ACCL_OFI_PROVIDER="tcp;ofi_rxm" sh "$runner" "2 3" "$prog" || exit 1
