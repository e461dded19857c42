#!/bin/sh
# One checked run of the MPI reference for every collective at np 2 (see smoke.sh).
for coll in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv gather scatter hypercube; do
  sh "${top_srcdir:-.}/tests/perf/smoke.sh" mpi_ref --coll "$coll" || exit 1
done
exit 0
