#!/bin/sh
# The quick sample of the fault campaign (make check-faults runs all of it).
exec python3 "$top_srcdir/tests/faults/faults.py" --quick
