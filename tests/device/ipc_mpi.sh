#!/bin/sh
# IPC of device memory between two processes on the node.
exec "$top_srcdir/tests/run_mpi.sh" "2" "$top_builddir/tests/device/ipc_mpi"
