#!/bin/sh
# A rank that never arrives: acclTimeout after ACCL_BOOTSTRAP_TIMEOUT, nothing leaked.
exec "$top_srcdir/tests/run_mpi.sh" "1 2 4 8" "$top_builddir/tests/bootstrap/mpi_bootstrap_timeout"
