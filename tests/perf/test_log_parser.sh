#!/bin/sh
# Our output is nccl-tests 2.19.6's: a real nccl-tests log and fresh runs of
# every perf program, read by one parser and printed again by one formatter.
# Sanitizer builds: OpenMPI never frees its own allocations (see run_mpi.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec /usr/bin/python3 "${top_srcdir:-.}/tests/perf/test_log_parser.py"
