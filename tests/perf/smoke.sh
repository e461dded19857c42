#!/bin/sh
# smoke.sh PROG [ARGS...]: run one perf binary once at np 2 on small sizes
# with checking on (no timing is asserted). Fails on a non-zero exit or when
# the output reports a wrong value, and when the output lacks the footer.
prog=$1; shift
bin="${top_builddir:-.}/perf/$prog"
if [ ! -x "$bin" ]; then echo "smoke: $bin was not built"; exit 1; fi
log="smoke_$prog.$$.out"
trap 'rm -f "$log"' EXIT
sh "${top_srcdir:-.}/tests/run_mpi.sh" "2" "$bin" -b 8 -e 64K -f 8 -c 1 -w 1 -n 2 "$@" >"$log" 2>&1
rc=$?
cat "$log"
[ $rc -eq 0 ] || { echo "smoke: $prog exited with failure"; exit 1; }
grep -q '^# Out of bounds values : 0 OK' "$log" || { echo "smoke: $prog reported wrong values"; exit 1; }
# Data rows end with the out-of-place columns time algbw busbw #wrong, then
# the same four in place: #wrong is field NF-4 and NF (N/A: not checked, as
# nccl-tests leaves in-place AllToAll and SendRecv).
awk '$1 ~ /^[0-9]+$/ && NF >= 12 && ($(NF-4) != 0 || ($NF != 0 && $NF != "N/A")) { bad = 1 } END { exit bad }' "$log" ||
  { echo "smoke: $prog has rows with #wrong != 0"; exit 1; }
grep -q '^ *[0-9][0-9]* ' "$log" || { echo "smoke: $prog printed no rows"; exit 1; }
exit 0
