#!/bin/sh
# int16, BAND/BOR/BXOR, all_gather_coalesced, sparse all_reduce, sequence numbers, monitoredBarrier, profiler titles.
exec "$(dirname "$0")/run_torch.sh" "2 3" test_features.py
