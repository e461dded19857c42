#!/bin/sh
# One checked run of reduce_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" reduce_perf
