#!/bin/sh
# Sampled correctness matrix: every algorithm / protocol forced in turn, at
# several rank counts. ACCL_TEST_FULL=1 (make check-full) runs everything.
prog="$top_builddir/tests/collectives/mpi_coll"
runner="$top_srcdir/tests/run_mpi.sh"
if [ -n "$ACCL_TEST_FULL" ]; then nps="1 2 3 4 5 7 8"; cases=0; else nps="1 2 3 5 8"; cases=${ACCL_TEST_CASES:-25}; fi
fail=0
for combo in "default:" "ring:Simple" "tree:Simple" "direct:Simple" "direct:LL"; do
  algo=${combo%%:*}; proto=${combo#*:}
  if [ "$algo" = default ]; then unset ACCL_ALGO ACCL_PROTO; else export ACCL_ALGO=$algo ACCL_PROTO=$proto; fi
  echo "=== ACCL_ALGO=${ACCL_ALGO:-} ACCL_PROTO=${ACCL_PROTO:-}"
  sh "$runner" "$nps" "$prog" $cases || fail=1
done
exit $fail
