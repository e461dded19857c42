#!/bin/sh
# One checked run of all_reduce_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" all_reduce_perf
