#!/bin/sh
# Late peer (CPU use while waiting) and abort of a waiting collective.
exec sh "$top_srcdir/tests/run_mpi.sh" "1 2 4" "$top_builddir/tests/collectives/mpi_abort_wait"
