#!/bin/sh
# Bad arguments, mismatched sizes, wait() timeouts and an early-exiting rank raise Python errors.
exec "$(dirname "$0")/run_torch.sh" "2 3" test_errors.py
