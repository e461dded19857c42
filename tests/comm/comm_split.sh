#!/bin/sh
# acclCommSplit by colour and key at several rank counts.
exec "$top_srcdir/tests/run_mpi.sh" "1 2 3 4 8" "$top_builddir/tests/comm/mpi_comm_split"
