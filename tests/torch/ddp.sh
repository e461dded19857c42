#!/bin/sh
# DistributedDataParallel, 4 ranks, 20 steps: accl and Gloo agree (also with a bf16 hook).
exec "$(dirname "$0")/run_torch.sh" "4" test_ddp.py
