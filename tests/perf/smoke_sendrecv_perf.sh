#!/bin/sh
# One checked run of sendrecv_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" sendrecv_perf
