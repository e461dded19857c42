#!/bin/sh
# One checked run of broadcast_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" broadcast_perf
