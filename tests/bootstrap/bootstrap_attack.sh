#!/bin/sh
# Bootstrap survives garbage, stale-job and silent connections to the root and ranks.
exec "$top_srcdir/tests/run_mpi.sh" "1 2 3 4 8" "$top_builddir/tests/bootstrap/mpi_bootstrap_attack"
