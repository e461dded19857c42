#!/bin/sh
# Communicator init / destroy / init-all at several rank counts, then with the
# bootstrap root pinned by ACCL_COMM_ID (acclCommInitAll keeps its own root).
"$top_srcdir/tests/run_mpi.sh" "1 2 3 4 8" "$top_builddir/tests/comm/mpi_comm_init" || exit 1
port=$((20000 + $$ % 20000))
ACCL_COMM_ID=127.0.0.1:$port exec "$top_srcdir/tests/run_mpi.sh" "3" "$top_builddir/tests/comm/mpi_comm_init"
