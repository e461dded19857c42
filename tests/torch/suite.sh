#!/bin/sh
# PyTorch's own distributed suite (DistributedTest._DistTestBase) with the
# backend accl, skip decisions as for Gloo (tests/torch/dist_suite.py).
# World sizes: ACCL_SUITE_WORLD_SIZES (default 2; `make check-torch-suite`
# runs 2 3 4). ACCL_SUITE_BACKEND=gloo gives the reference counts;
# ACCL_SUITE_JSON_DIR keeps each run's outcomes as BACKEND_wsN.json.
# Exit 77 (skip) when torch, the extension or the suite's module is missing.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
: "${SYSPYTHON:=/usr/bin/python3}"
backend=${ACCL_SUITE_BACKEND:-accl}
pkg="$top_builddir/bindings/torch"
if [ ! -f "$pkg/acc_ccl_torch/_C.so" ]; then
  echo "skip: $pkg/acc_ccl_torch/_C.so not built (configure found no torch)"; exit 77
fi
PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH PYTHONDONTWRITEBYTECODE
status=77
for ws in ${ACCL_SUITE_WORLD_SIZES:-2}; do
  echo "== dist_suite.py --backend $backend --world-size $ws"
  set -- --backend "$backend" --world-size "$ws"
  [ -n "${ACCL_SUITE_JSON_DIR:-}" ] && set -- "$@" --json "$ACCL_SUITE_JSON_DIR/${backend}_ws$ws.json"
  "$SYSPYTHON" "$here/dist_suite.py" "$@"
  rc=$?
  case $rc in
    0) status=0 ;;
    77) ;;
    *) echo "FAILED at world size $ws (exit $rc)"; exit 1 ;;
  esac
done
exit $status
