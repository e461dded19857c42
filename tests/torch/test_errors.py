"""Errors of the "accl" backend surface as Python exceptions with a useful
message, never as a crash or a hang: unsupported dtype / op / root, tensor
sizes that differ across ranks, a wait() that times out, and a rank that
exits early. Each case that breaks a communicator runs on its own
dist.new_group so the next case starts clean. Needs world size >= 2."""
import datetime
import os
import sys

import torch
import torch.distributed as dist

from common import Checker, finish, init


def group(seconds):
    return dist.new_group(backend="accl", timeout=datetime.timedelta(seconds=seconds))


def bad_arguments(c, r, n):
    c.expect_error("int16 all_reduce", lambda: dist.all_reduce(torch.ones(4, dtype=torch.int16)),
                   "unsupported dtype", "Short")
    c.expect_error("BAND all_reduce", lambda: dist.all_reduce(torch.ones(4, dtype=torch.int32), op=dist.ReduceOp.BAND),
                   "not supported")
    c.expect_error("broadcast root out of range", lambda: dist.broadcast(torch.ones(4), n + 3), "rootRank")
    c.expect_error("all_gather wrong output count",
                   lambda: dist.all_gather([torch.ones(4)] * (n + 1), torch.ones(4)), "group size")
    c.expect_error("_all_gather_base wrong size",
                   lambda: dist._all_gather_base(torch.ones(4 * n + 1), torch.ones(4)), "elements")
    # the group is still healthy after refused calls
    t = torch.ones(4)
    dist.all_reduce(t)
    c.same("all_reduce after refused calls", t, torch.full((4,), float(n)))


def mismatched_sizes(c, r, n, count):
    """Rank 0 passes count elements, the others twice as many."""
    # Default: no extra exchange per call. On the single-message path the
    # ranks that wait for data that never comes time out with an exception
    # (rank 0 may finish first). Larger calls are left to the check below:
    # acc-ccl does not catch every count mismatch by itself.
    t = torch.ones(count if r == 0 else 2 * count)
    if count <= 1000:
        g = group(5)
        if r != 0:
            c.expect_error("all_reduce %d vs %d elements" % (count, 2 * count), lambda: dist.all_reduce(t, group=g),
                           "acc-ccl allreduce", "timed out")
        else:
            try:
                dist.all_reduce(t, group=g)
            except RuntimeError:
                pass
    # ACCL_TORCH_CHECK=1: every rank learns what each rank called, and the
    # group stays usable because no data moved.
    os.environ["ACCL_TORCH_CHECK"] = "1"
    g = group(20)
    del os.environ["ACCL_TORCH_CHECK"]
    msg = c.expect_error("checked all_reduce %d vs %d elements" % (count, 2 * count),
                         lambda: dist.all_reduce(t, group=g), "do not match", "rank 0 called ALLREDUCE with %d" % count,
                         "rank 1 called ALLREDUCE with %d" % (2 * count))
    if msg and r == 0:
        print("mismatch message: " + msg.splitlines()[0][:300])
    ok = torch.ones(3)
    dist.all_reduce(ok, group=g)
    c.same("checked group usable after a refused call", ok, torch.full((3,), float(n)))


def wait_timeout(c, r, n):
    g = group(60)
    if r == 0:  # the others never join: wait() must give up after one second
        work = dist.all_reduce(torch.ones(4), group=g, async_op=True)
        c.expect_error("wait(timeout=1s) without peers", lambda: work.wait(timeout=datetime.timedelta(seconds=1)),
                       "timed out")
        c.expect_error("using the aborted group", lambda: dist.all_reduce(torch.ones(4), group=g), "acc-ccl")


def early_exit(c, r, n, gloo):
    dist.barrier(group=gloo)
    if r == n - 1:
        code = c.verdict()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # leaves without a word; the others are mid-collective
    t = torch.ones(1 << 16)
    msg = c.expect_error("all_reduce with a rank gone", lambda: [dist.all_reduce(t) for _ in range(100)], "acc-ccl")
    if msg:
        print("rank %d early exit: %s" % (r, msg.splitlines()[0][:200]))


def main():
    r, n, gloo = init(timeout_s=30)
    if n < 2:
        print("skip: needs at least 2 ranks", file=sys.stderr)
        sys.exit(77)
    c = Checker(r)
    bad_arguments(c, r, n)
    mismatched_sizes(c, r, n, 8)        # small: single-message path
    mismatched_sizes(c, r, n, 300000)   # large: pipelined path
    wait_timeout(c, r, n)
    early_exit(c, r, n, gloo)
    sys.stdout.flush()
    code = c.verdict()
    os._exit(code)  # the world group has lost a rank: skip the collective teardown


if __name__ == "__main__":
    sys.exit(main())
