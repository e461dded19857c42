#!/bin/sh
# One checked run of alltoall_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" alltoall_perf
