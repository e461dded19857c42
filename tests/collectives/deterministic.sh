#!/bin/sh
# ACCL_DETERMINISTIC=1 (issue 19 item 5): AllReduce, ReduceScatter and Reduce
# of float32, bfloat16 and float16 inputs whose sum order matters give the
# same bits whatever ACCL_ALGO, ACCL_PROTO, the channel count, the step size,
# the transport and the node layout (ACCL_HOSTID "nodes", shm inside, ofi
# between), and those bits are the host's fold in rank order
# (mpi_deterministic.c, DET_EXPECT_FOLD). The check can fail: a reference
# folded in reverse order is rejected, and without ACCL_DETERMINISTIC the
# algorithms give different bits for the same inputs. Then the covering
# matrix (mpi_coll.c) runs in deterministic mode.
prog="$top_builddir/tests/collectives/mpi_deterministic"
runner="$top_srcdir/tests/run_mpi.sh"
wrap="$top_srcdir/tests/topology/hostid_wrap.sh"
export ACCL_TIMEOUT=60 ACCL_OFI_PROVIDER="tcp;ofi_rxm"
count=50021
tmp="${TMPDIR:-/tmp}/accl_det_$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
run() { # NP NAME ENV...: one run, its hashes in $tmp/NP.NAME
  np=$1; name=$2; shift 2
  echo "=== np $np $name: $*"
  w= # TOPO_TEST_PPN=k among the variables: nodes of k ranks by ACCL_HOSTID
  case "$*" in *TOPO_TEST_PPN=*) w=$wrap ;; esac
  env "$@" sh "$runner" "$np" $w "$prog" "$tmp/$np.$name" "$count" || {
    echo "FAIL: np $np $name"
    fail=1
  }
}
det() { # NP NAME ENV...: deterministic, checked against the host's fold
  dnp=$1; dname=$2; shift 2
  run "$dnp" "$dname" ACCL_DETERMINISTIC=1 DET_EXPECT_FOLD=1 "$@"
}
for np in 3 4; do
  det $np default
  det $np ring ACCL_ALGO=ring ACCL_PROTO=Simple
  det $np tree ACCL_ALGO=tree
  det $np direct-LL ACCL_ALGO=direct ACCL_PROTO=LL
  det $np ch1-small ACCL_NCHANNELS=1 ACCL_SLOT_BYTES=4096 ACCL_NSLOTS=2
  det $np ch4 ACCL_NCHANNELS=4 ACCL_SLOT_BYTES=8192
  det $np chain ACCL_ALGO=chain
done
det 3 ofi ACCL_TRANSPORT=ofi ACCL_ALGO=rd
det 4 nodes2x2 TOPO_TEST_PPN=2 ACCL_ALGO=hier
det 5 nodes3+2 TOPO_TEST_PPN=3
det 5 default
det 5 tree-small ACCL_ALGO=tree ACCL_SLOT_BYTES=4096
# every variant of one rank count gave the bits of every other
for np in 3 4 5; do
  first=
  for f in "$tmp/$np".*; do
    [ -f "$f" ] || continue
    if [ -z "$first" ]; then first=$f; continue; fi
    if ! cmp -s "$first" "$f"; then
      echo "FAIL: np $np: $(basename "$f") differs from $(basename "$first")"
      diff "$first" "$f"
      fail=1
    fi
  done
  [ -n "$first" ] && cat "$first"
done
# the check can fail: a reference folded in the reverse order is rejected
echo "=== np 3 with the reference folded in reverse order: must fail"
if ACCL_DETERMINISTIC=1 DET_EXPECT_FOLD=1 DET_WRONG_ORDER=1 sh "$runner" 3 "$prog" "$tmp/wrong" "$count" \
  > "$tmp/wrong.log" 2>&1; then
  echo "FAIL: a fold in reverse rank order passed the check"
  fail=1
else
  grep -m 2 "differ from the fold" "$tmp/wrong.log"
fi
# and without ACCL_DETERMINISTIC the algorithms disagree on these inputs
mkdir -p "$tmp/plain"
for algo in ring tree direct; do
  ACCL_ALGO=$algo ACCL_PROTO=Simple sh "$runner" 4 "$prog" "$tmp/plain/$algo" "$count" > /dev/null 2>&1 || {
    echo "FAIL: ACCL_ALGO=$algo without ACCL_DETERMINISTIC"
    fail=1
  }
done
if cmp -s "$tmp/plain/ring" "$tmp/plain/tree" && cmp -s "$tmp/plain/ring" "$tmp/plain/direct"; then
  echo "FAIL: ring, tree and direct agree bit for bit without ACCL_DETERMINISTIC: the inputs do not test the order"
  fail=1
else
  echo "without ACCL_DETERMINISTIC (np 4): ring/tree/direct lines that differ from the deterministic bits:"
  for algo in ring tree direct; do
    echo "  $algo: $(diff "$tmp/plain/$algo" "$tmp/4.default" | grep -c '^<')"
  done
fi
# the covering matrix (every datatype and op incl. Avg and PreMulSum, in
# place, host buffers, groups, odd counts, guard bytes) in deterministic mode
echo "=== mpi_coll with ACCL_DETERMINISTIC=1"
ACCL_DETERMINISTIC=1 sh "$runner" "2 3 5" "$top_builddir/tests/collectives/mpi_coll" || {
  echo "FAIL: mpi_coll with ACCL_DETERMINISTIC=1"
  fail=1
}
[ $fail -eq 0 ] && echo "deterministic: PASS"
exit $fail
