#!/bin/sh
# dist.new_group sub-groups and asynchronous works (futures, polling, many in flight).
exec "$(dirname "$0")/run_torch.sh" "1 3 4" test_subgroups.py
