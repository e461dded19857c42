#!/bin/sh
# Every nccl-tests flag does what it does in nccl-tests (see test_flags.py).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec /usr/bin/python3 "${top_srcdir:-.}/tests/perf/test_flags.py"
