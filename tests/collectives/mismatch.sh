#!/bin/sh
# Mismatched calls (count, datatype, op, root, collective, send/recv count)
# with every algorithm and protocol forced: acclInvalidUsage naming both
# calls, within ACCL_TIMEOUT / 2, never a hang or a read past a buffer.
# MM_STRICT=1 (one node): every rank must report it in every collective
# kind, Broadcast roots included (roots: every rank its own root, at np 2 no
# rank receives anything). ACCL_CHECK_MISMATCH=0: only the size-changing
# kinds must fail.
prog="$top_builddir/tests/collectives/mpi_mismatch"
runner="$top_srcdir/tests/run_mpi.sh"
export ACCL_TIMEOUT=10 ACCL_TEST_TIMEOUT=${ACCL_TEST_TIMEOUT:-300}
fail=0
export MM_STRICT=1 # one node: every rank sees every peer's signature
run() {
  echo "=== $*"
  env "$@" || fail=1
}
for np in 2 4; do
  run ACCL_ALGO=ring ACCL_PROTO=Simple sh "$runner" "$np" "$prog" full 1024
  run ACCL_ALGO=tree ACCL_PROTO=Simple sh "$runner" "$np" "$prog" full 1024
  run ACCL_ALGO=direct ACCL_PROTO=Simple sh "$runner" "$np" "$prog" full 1024
  run ACCL_ALGO=direct ACCL_PROTO=LL sh "$runner" "$np" "$prog" full 1024
  run ACCL_ALGO=rd sh "$runner" "$np" "$prog" full 1024
  run ACCL_DETERMINISTIC=1 sh "$runner" "$np" "$prog" full 1024 # the chain
  run sh "$runner" "$np" "$prog" full 65536
done
# the default algorithm at 64 KiB against 65 KiB (kind "near"), the counts of
# the threads fault scenario (issue 22 B11)
run sh "$runner" 2 "$prog" full 16384
run ACCL_CHECK_MISMATCH=0 sh "$runner" "4" "$prog" sizes 1024
exit $fail
