#!/bin/sh
# The nccl-tests log parser reads our output: a captured log, and a fresh run
# of the MPI reference (same driver and printing code as the acc-ccl tools).
# Sanitizer builds: OpenMPI never frees its own allocations (see run_mpi.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec /usr/bin/python3 "${top_srcdir:-.}/tests/perf/test_log_parser.py"
