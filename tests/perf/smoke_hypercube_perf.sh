#!/bin/sh
# One checked run of hypercube_perf at np 2 (see smoke.sh).
exec sh "${top_srcdir:-.}/tests/perf/smoke.sh" hypercube_perf
