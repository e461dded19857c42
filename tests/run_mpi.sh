#!/bin/sh
# run_mpi.sh "NPLIST" PROG [ARGS...]: run an MPI test program at each rank
# count of NPLIST under mpirun --oversubscribe. Every rank count runs, even
# after a failure; the failing ones are listed at the end.
# Exit 77 from every run means SKIP (automake convention).
# Sanitizer builds: OpenMPI's own allocations are never freed; leaks are
# checked by the non-MPI tests instead.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
nplist=$1; shift
prog=$1; shift
: "${MPIRUN:=mpirun}"
: "${ACCL_TEST_TIMEOUT:=600}"
skipped=0; ran=0; failed=""
for np in $nplist; do
  echo "== $MPIRUN -np $np $(basename "$prog") $*"
  # local ranks inherit the environment (ACCL_*, ACCL_TEST_SEED, ...) from mpirun
  timeout -k 10 "$ACCL_TEST_TIMEOUT" "$MPIRUN" --oversubscribe --bind-to none -np "$np" "$prog" "$@"
  rc=$?
  if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); continue; fi
  ran=$((ran + 1))
  [ $rc -ne 0 ] && failed="$failed np=$np(exit $rc)"
done
if [ -n "$failed" ]; then echo "FAILED:$failed ($(basename "$prog") $*)"; exit 1; fi
[ $ran -eq 0 ] && [ $skipped -gt 0 ] && exit 77
exit 0
