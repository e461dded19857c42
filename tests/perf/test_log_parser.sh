#!/bin/sh
# The nccl-tests log parser reads our output: a captured log, and a fresh run
# of the MPI reference (same driver and printing code as the acc-ccl tools).
exec /usr/bin/python3 "${top_srcdir:-.}/tests/perf/test_log_parser.py"
