#!/bin/sh
# run_torch.sh "NPLIST" SCRIPT [ARGS...]: run a torch backend test script
# (tests/torch/SCRIPT) at each world size of NPLIST through launch.py.
# Every world size runs, even after a failure; the failing ones are listed.
# Exit 77 (skip) when torch or the built extension is missing, or when the
# script skipped (exit 77) at every world size.
nplist=$1; shift
script=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
: "${SYSPYTHON:=/usr/bin/python3}"
: "${ACCL_TEST_TIMEOUT:=300}"
pkg="$top_builddir/bindings/torch"
if [ ! -f "$pkg/acc_ccl_torch/_C.so" ]; then
  echo "skip: $pkg/acc_ccl_torch/_C.so not built (configure found no torch)"; exit 77
fi
if ! "$SYSPYTHON" -c 'import torch' >/dev/null 2>&1; then
  echo "skip: $SYSPYTHON cannot import torch"; exit 77
fi
PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
export PYTHONDONTWRITEBYTECODE
export PYTHONPATH
skipped=0; ran=0; failed=""
for np in $nplist; do
  echo "== np=$np $script $*"
  "$SYSPYTHON" "$here/launch.py" -n "$np" --timeout "$ACCL_TEST_TIMEOUT" "$here/$script" "$@"
  rc=$?
  if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); continue; fi
  ran=$((ran + 1))
  [ $rc -ne 0 ] && failed="$failed np=$np(exit $rc)"
done
if [ -n "$failed" ]; then echo "FAILED:$failed ($script $*)"; exit 1; fi
# a script that skipped at every world size tested nothing: SKIP, not PASS
if [ $ran -eq 0 ]; then echo "SKIP: $script skipped at every world size ($nplist)"; exit 77; fi
exit 0
