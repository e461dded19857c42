#!/bin/sh
# One checked run of all_gather_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" all_gather_perf
