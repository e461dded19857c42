#!/bin/sh
# The signal dispositions of a process that creates and uses communicators
# stay exactly as it set them (test_signals): over shared memory (libfabric
# not even loaded), over libfabric (ofi: its shm provider installs handlers
# as endpoints open; libinfinipath's constructor would too), with topology
# logging (libfabric asked for its providers), and with the user's own
# IPATH_NO_BACKTRACE, which must stay as set.
prog="$top_builddir/tests/transport/test_signals"
fail=0
run() {
  echo "== $*"
  env "$@" "$prog" || fail=1
}
run ACCL_TRANSPORT=shm
run ACCL_TRANSPORT=ofi
run ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER="tcp;ofi_rxm"
run ACCL_DEBUG=INFO ACCL_DEBUG_SUBSYS=TOPO ACCL_DEBUG_FILE=/dev/null
run ACCL_TRANSPORT=ofi IPATH_NO_BACKTRACE=0
exit $fail
