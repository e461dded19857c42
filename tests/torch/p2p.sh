#!/bin/sh
# isend / irecv in every order and size (to 64 MiB), rings, batch_isend_irecv, tags, any-source receives.
exec "$(dirname "$0")/run_torch.sh" "2 3" test_p2p.py
