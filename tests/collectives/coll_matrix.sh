#!/bin/sh
# Correctness matrix: one mpi_coll process per algorithm / protocol variant
# (ACCL_ALGO / ACCL_PROTO are read once per process) at several rank counts.
# Each runs its rows of a pairwise covering array with a fixed seed per rank
# count (mpi_coll.c); ACCL_TEST_FULL=1 (make check-full) runs the whole
# product. Every variant and rank count runs even after a failure; the
# failures are listed at the end.
prog="$top_builddir/tests/collectives/mpi_coll"
runner="$top_srcdir/tests/run_mpi.sh"
if [ -n "$ACCL_TEST_FULL" ]; then nps="1 2 3 4 5 7 8"; else nps="1 2 3 5 8"; fi
failed=""
for combo in ":" "ring:Simple" "tree:Simple" "direct:Simple" "direct:LL"; do
  algo=${combo%%:*}; proto=${combo#*:}
  if [ -z "$algo" ]; then unset ACCL_ALGO ACCL_PROTO; else export ACCL_ALGO=$algo ACCL_PROTO=$proto; fi
  echo "=== ACCL_ALGO=${ACCL_ALGO:-} ACCL_PROTO=${ACCL_PROTO:-}"
  sh "$runner" "$nps" "$prog" || failed="$failed ${combo}"
done
if [ -n "$failed" ]; then echo "coll_matrix FAILED for variants:$failed"; exit 1; fi
exit 0
