"""all_reduce latency and bus bandwidth of the "accl" torch backend against
Gloo, side by side in one run (same processes, same buffers, alternating).

Each size is timed in rounds that alternate the backends (accl, gloo, gloo,
accl, ...), every round the same number of calls for both after a barrier
and one untimed call of the backend measured; a round's time is the slowest rank's average per call, and the table shows
each backend's median round. Alternating puts both under the same machine
load (the team shares two cores), and the median keeps one burst of other
work from deciding a size for either backend.

usage (starts its own ranks; no torchrun):
  /usr/bin/python3 perf/torch_compare.py [-n 2,4] [--min 8] [--max 64M] [--iters N] [--rounds R]
Needs PYTHONPATH to reach acc_ccl_torch (the build tree's bindings/torch).
busbw follows nccl-tests: algbw * 2 (n - 1) / n. Targets (issue #8): >= 20x
lower latency at 8 B and >= 2x busbw at 32 MiB than Gloo.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1].upper()] if s[-1].upper() in mult else int(s)


def sizes(lo, hi):
    s = lo
    while s <= hi:
        yield s
        s *= 4 if s < (1 << 20) else 2


def iters_for(nbytes, base):
    return max(3, min(base, int(base * 65536 / max(nbytes, 65536))))


def worker(opt):
    import torch
    import torch.distributed as dist
    import acc_ccl_torch  # noqa: F401

    dist.init_process_group("accl")
    gloo = dist.new_group(backend="gloo")
    r, n = dist.get_rank(), dist.get_world_size()
    groups = {"accl": None, "gloo": gloo}
    warm = torch.ones(1 << 20)
    for g in groups.values():  # connections, staging buffers, first-touch pages
        for _ in range(20):
            dist.all_reduce(warm, group=g)

    def timed(g, t, calls):
        dist.barrier(group=gloo)
        # Ranks leave a Gloo barrier up to hundreds of us apart; one untimed
        # call of the measured backend lines them up as its own loop would.
        dist.all_reduce(t, group=g)
        start = time.perf_counter()
        for _ in range(calls):
            dist.all_reduce(t, group=g)
        worst = torch.tensor([(time.perf_counter() - start) / calls], dtype=torch.float64)
        dist.all_reduce(worst, op=dist.ReduceOp.MAX, group=gloo)  # the slowest rank defines the time
        return worst.item()

    results = []
    for nbytes in sizes(opt.min, opt.max):
        count = max(1, nbytes // 4)
        t = torch.zeros(count, dtype=torch.float32)  # sums stay 0: no overflow to inf over the iterations
        calls = max(1, iters_for(nbytes, opt.iters) // opt.rounds)
        for g in groups.values():  # warm-up of this size
            for _ in range(5):
                dist.all_reduce(t, group=g)
        rounds = {name: [] for name in groups}
        order = list(groups.items())
        for _ in range(opt.rounds):
            for name, g in order:
                rounds[name].append(timed(g, t, calls))
            order.reverse()  # accl gloo gloo accl ...: neither always runs right after the other
        results.append((count * 4, {name: statistics.median(v) for name, v in rounds.items()}))
    if r == 0:
        print("np=%d  all_reduce float32 sum, time per call = median of %d alternating rounds of the slowest "
              "rank's average" % (n, opt.rounds))
        print("%12s %12s %10s %12s %10s %9s %9s" % ("bytes", "accl us", "accl GB/s", "gloo us", "gloo GB/s",
                                                  "lat x", "bw x"))
        for nbytes, tm in results:
            bus = lambda s: nbytes / s * 2 * (n - 1) / n / 1e9 if n > 1 else 0.0  # noqa: E731
            print("%12d %12.1f %10.3f %12.1f %10.3f %9.1f %9.2f" % (
                nbytes, tm["accl"] * 1e6, bus(tm["accl"]), tm["gloo"] * 1e6, bus(tm["gloo"]),
                tm["gloo"] / tm["accl"], tm["gloo"] / tm["accl"]))
        sys.stdout.flush()
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description="accl vs gloo all_reduce")
    ap.add_argument("-n", "--nprocs", default="2,4", help="comma list of world sizes")
    ap.add_argument("--min", default="8")
    ap.add_argument("--max", default="64M")
    ap.add_argument("--iters", type=int, default=200, help="calls per backend at small sizes (fewer for large)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds the calls are split into")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    opt = ap.parse_args()
    opt.min, opt.max = parse_size(opt.min), parse_size(opt.max)
    if opt.worker:
        return worker(opt)
    launcher = os.path.join(HERE, "..", "tests", "torch", "launch.py")
    for np_ in [int(x) for x in opt.nprocs.split(",")]:
        cmd = [sys.executable, launcher, "-n", str(np_), os.path.abspath(__file__), "--worker",
               "--min", str(opt.min), "--max", str(opt.max), "--iters", str(opt.iters),
               "--rounds", str(opt.rounds)]
        rc = subprocess.call(cmd)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
