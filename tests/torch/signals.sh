#!/bin/sh
# Ctrl-C raises KeyboardInterrupt and SIGTERM ends a rank by the signal with
# acc_ccl_torch loaded and a process group in use (shm and ofi); 40 ranks,
# none left behind. test_signals.py --driver starts them itself, one job of 4
# at a time, and bounds each of its waits; 40 torch imports take minutes on a
# loaded machine, hence the longer limit for the driver.
: "${ACCL_TEST_TIMEOUT:=2400}"
export ACCL_TEST_TIMEOUT
exec "$(dirname "$0")/run_torch.sh" "1" test_signals.py --driver
