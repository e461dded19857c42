#!/bin/sh
# The one-shot LL AllReduce interleaved with collectives that do not wait for
# every peer (Broadcast root, Reduce non-root, Send): no hang, right results.
# A hang fails at ACCL_TIMEOUT (5 s) instead of waiting for the test timeout.
prog="$top_builddir/tests/collectives/mpi_ll_order"
runner="$top_srcdir/tests/run_mpi.sh"
export ACCL_TIMEOUT=5 ACCL_TEST_TIMEOUT=${ACCL_TEST_TIMEOUT:-300}
fail=0
echo "=== default algorithms"
sh "$runner" "2 3 4" "$prog" 20 || fail=1
echo "=== ACCL_PROTO=LL (every AllReduce one-shot LL)"
ACCL_PROTO=LL sh "$runner" "2 4" "$prog" 20 || fail=1
exit $fail
