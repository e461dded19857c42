#!/bin/sh
# acclCommAbort of a communicator whose split waits on a stalled rank.
exec "$top_srcdir/tests/run_mpi.sh" "1 2 3 4 8" "$top_builddir/tests/comm/mpi_comm_abort"
