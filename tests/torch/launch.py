"""Start N ranks of a torch.distributed script without torchrun (Debian's
torchrun 1.13 breaks on Python 3.11): each gets RANK, WORLD_SIZE,
LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.

usage: launch.py -n NP [--timeout SECONDS] SCRIPT [ARGS...]
Exit status: 0 when every rank exits 0, 77 when every rank exits 77 (skip),
else 1. Ranks still running at the timeout are killed (a hang fails).
"""
import argparse
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--nprocs", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("ACCL_TEST_TIMEOUT", 600)))
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    opt = ap.parse_args()
    port = str(free_port())
    procs = []
    for rank in range(opt.nprocs):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(opt.nprocs), LOCAL_RANK=str(rank),
                   LOCAL_WORLD_SIZE=str(opt.nprocs), MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs.append(subprocess.Popen([sys.executable, opt.script] + opt.args, env=env))
    deadline = time.monotonic() + opt.timeout
    codes = [None] * opt.nprocs
    while any(c is None for c in codes):
        for i, p in enumerate(procs):
            if codes[i] is None:
                codes[i] = p.poll()
        if time.monotonic() > deadline:
            for i, p in enumerate(procs):
                if codes[i] is None:
                    print("launch.py: rank %d still running after %.0f s: killed" % (i, opt.timeout),
                          file=sys.stderr)
                    p.kill()
                    codes[i] = p.wait()
                    codes[i] = codes[i] if codes[i] else -9
            break
        time.sleep(0.05)
    if all(c == 77 for c in codes):
        return 77
    bad = [(i, c) for i, c in enumerate(codes) if c != 0]
    for i, c in bad:
        print("launch.py: rank %d exited with %d" % (i, c), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
