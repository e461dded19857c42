#!/bin/sh
# Every operation x every shared dtype of the accl torch backend against Gloo.
exec "$(dirname "$0")/run_torch.sh" "1 2 3 4" test_ops.py
