#!/bin/sh
# perf/compare --netns end to end on tiny sizes: two network namespaces made,
# acc-ccl (ofi) and OpenMPI (cm/ofi) each run with one rank in each (compare
# checks the placement), both tables parsed, no wrong value, and nothing left
# behind. No time is asserted. SKIP (77) where namespaces cannot be made
# (not root, no iproute2, no netns support).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
out="compare_netns.$$.d"
trap 'rm -rf "$out"' EXIT
fail() { echo "compare_netns: $*"; exit 1; }

timeout -k 10 300 /usr/bin/python3 "${top_srcdir:-.}/perf/compare" --netns --np 2 --coll all_reduce \
  -b 8 -e 64K -f 8 -n 2 -w 1 -c 1 --reps 1 --memcpy-bytes 16M --timeout 60 \
  --bindir "${top_builddir:-.}/perf" --outdir "$out"
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "compare --netns exited $rc"

for log in "$out/rep0-acc-ccl.log" "$out/rep0-mpi.log"; do
  echo "== $log"; cat "$log"
  grep -q '^# Out of bounds values : 0 OK' "$log" || fail "$log: wrong values or no footer"
  # columns 9 and 13 of a data row: out-of-place and in-place #wrong
  awk '$1 ~ /^[0-9]+$/ && NF == 13 && ($9 != 0 || $13 != 0) { bad = 1 } END { exit bad }' "$log" ||
    fail "$log has rows with #wrong != 0"
done

# Every size of the sweep in the table, with numbers from both libraries.
sizes=$(awk '$1 ~ /^[0-9]+$/ && NF == 8 && $2 !~ /nan/ && $3 !~ /nan/ { printf "%s ", $1 }' "$out/table.txt")
[ "$sizes" = "8 64 512 4096 32768 " ] || fail "table rows are '$sizes', not 8 .. 32768"
grep -q '^# across 2 network namespaces' "$out/table.txt" || fail "table does not say it ran across namespaces"
grep -q 'WARNING' "$out/table.txt" && fail "table reports a warning"

# The namespaces are gone (their prefix is in the logged command).
prefix=$(sed -n 's|^# command: nsenter --net=/var/run/netns/\(acclc[0-9]*n\)0 .*|\1|p' "$out/placement.log")
[ -n "$prefix" ] || fail "no namespace prefix in placement.log"
if ip netns list | awk '{print $1}' | grep -q "^$prefix"; then fail "namespaces $prefix* left behind"; fi
echo "compare_netns: OK"
exit 0
