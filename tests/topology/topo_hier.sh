#!/bin/sh
# Communicator init plans with the topology module. One node: the graph dump is
# valid, the topology dump loads again as ACCL_TOPO_FILE, a dumped graph can be
# forced back with ACCL_GRAPH_FILE, and a malformed ACCL_TOPO_FILE stops init.
# Then ACCL_HOSTID makes 2 and 4 "nodes" on this machine: the plans must be
# hierarchical (check_graph). The multi-node runs need an inter-node transport.
set -u
b="$top_builddir/tests/topology"
wrap="$top_srcdir/tests/topology/hostid_wrap.sh" # mpirun passes its environment on to local ranks
tmp="${TMPDIR:-/tmp}/accl_topo_hier_$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
export ACCL_SIM_DEVICES=4 ACCL_SIM_TOPO=ring TOPO_TEST_PPN
run() { # NP PPN: init with graph dump, then check it
  TOPO_TEST_PPN=$2
  ACCL_GRAPH_DUMP_FILE="$tmp/graph_$1_$2.xml" ACCL_TOPO_DUMP_FILE="$tmp/topo.xml" \
    "$top_srcdir/tests/run_mpi.sh" "$1" /bin/sh "$wrap" "$b/mpi_topo_init" || exit 1
  "$b/check_graph" "$tmp/graph_$1_$2.xml" "$1" "$2" || exit 1
}
run 4 4
TOPO_TEST_PPN=4 ACCL_TOPO_FILE="$tmp/topo.xml" ACCL_GRAPH_FILE="$tmp/graph_4_4.xml" \
  "$top_srcdir/tests/run_mpi.sh" 4 /bin/sh "$wrap" "$b/mpi_topo_init" || exit 1
printf '<node name="bad">\n  <device id="0"/>\n  <link a="0" b="5" bw="1"/>\n</node>\n' > "$tmp/bad.xml"
if TOPO_TEST_PPN=1 ACCL_TOPO_FILE="$tmp/bad.xml" "$top_srcdir/tests/run_mpi.sh" 1 /bin/sh "$wrap" "$b/mpi_topo_init" \
     > "$tmp/bad.log" 2>&1; then
  echo "FAIL: a malformed ACCL_TOPO_FILE did not stop communicator creation"; exit 1
fi
run 4 2
run 8 2
run 4 1
echo "topo_hier: PASS"
