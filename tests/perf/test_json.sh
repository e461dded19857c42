#!/bin/sh
# -J writes nccl-tests JSON that says what the text says (see test_json.py).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
exec /usr/bin/python3 "${top_srcdir:-.}/tests/perf/test_json.py"
