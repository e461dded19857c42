#!/bin/sh
# hostid_wrap.sh PROG ARGS: run PROG with ACCL_HOSTID naming a "node" of
# TOPO_TEST_PPN consecutive MPI ranks, so one machine looks like several nodes.
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}
ACCL_HOSTID="topo-test-node-$((rank / TOPO_TEST_PPN))"
export ACCL_HOSTID
exec "$@"
