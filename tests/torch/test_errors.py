"""Errors of the "accl" backend surface as Python exceptions with a useful
message, never as a crash or a hang: unsupported dtype / op / root, tensor
sizes that differ across ranks (collectives, and send / recv), a wait() that
times out (counted from the operation's issue), an operation nobody waits
for that the watchdog fails at its deadline, and a rank that exits early. Each case that breaks a communicator runs on its own
dist.new_group so the next case starts clean. Needs world size >= 2."""
import datetime
import os
import sys
import time

import torch
import torch.distributed as dist

from common import Checker, finish, init


def group(seconds):
    return dist.new_group(backend="accl", timeout=datetime.timedelta(seconds=seconds))


def bad_arguments(c, r, n):
    c.expect_error("PREMUL_SUM on int32", lambda: dist.all_reduce(torch.ones(4, dtype=torch.int32),
                                                                 op=dist._make_nccl_premul_sum(2.0)),
                   "PREMUL_SUM needs a floating-point tensor")
    c.expect_error("BAND all_reduce on float", lambda: dist.all_reduce(torch.ones(4), op=dist.ReduceOp.BAND),
                   "Cannot use ReduceOp.BAND with non-integral dtype")
    # root n: in range for the binding's types, refused by the library's own
    # check (acclBroadcast's validate), which names the argument
    c.expect_error("broadcast root out of range", lambda: dist.broadcast(torch.ones(4), n), "acclBroadcast", "root")
    c.expect_error("broadcast root negative", lambda: dist.broadcast(torch.ones(4), -1), "root")
    c.expect_error("reduce root out of range", lambda: dist.reduce(torch.ones(4), n), "root")
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
    # acc-ccl itself compares the ranks' calls (ACCL_CHECK_MISMATCH, no extra
    # exchange): every rank raises at once, none hangs or crashes, and the
    # error names both calls (the communicator's error text). The group's
    # communicator has failed: the group is dropped.
    t = torch.ones(count if r == 0 else 2 * count)
    g = group(20)
    start = time.monotonic()
    mine, other = (count, 2 * count) if r == 0 else (2 * count, count)
    msg = c.expect_error("all_reduce %d vs %d elements" % (count, 2 * count),
                         lambda: dist.all_reduce(t, group=g), "acc-ccl allreduce", "invalid usage",
                         "mismatched calls", "this rank called AllReduce", "(count %d," % mine,
                         "(count %d," % other)
    if msg and r == 0:
        print("mismatch message: " + msg.splitlines()[0][:300])
    c.checks += 1
    if time.monotonic() - start > 10:
        c.failures.append("the mismatch took %.1f s to report (a timeout?)" % (time.monotonic() - start))


def wait_timeout(c, r, n):
    g = group(60)
    if r == 0:  # the others never join: wait() must give up after one second
        work = dist.all_reduce(torch.ones(4), group=g, async_op=True)
        start = time.monotonic()
        c.expect_error("wait(timeout=1s) without peers", lambda: work.wait(timeout=datetime.timedelta(seconds=1)),
                       "allreduce")
        # it gave up because the second passed, not for another reason first
        took = time.monotonic() - start
        c.checks += 1
        if took < 0.9:
            c.failures.append("wait(timeout=1s) raised after %.2f s" % took)
        c.expect_error("using the aborted group", lambda: dist.all_reduce(torch.ones(4), group=g), "acc-ccl")


def issue_deadline(c, r, n):
    """The deadline runs from the issue, not from wait(); and the watchdog
    fails an operation nobody waits for, naming it and its sequence number."""
    g = group(2)
    if r == 0:
        start = time.monotonic()
        work = dist.all_reduce(torch.ones(4), group=g, async_op=True)
        time.sleep(1.2)
        msg = c.expect_error("wait() 1.2 s after the issue", work.wait, "allreduce", "sequence number")
        took = time.monotonic() - start
        c.checks += 1
        if not 1.9 <= took <= 3.0:
            c.failures.append("the 2 s deadline fired %.2f s after the issue" % took)
        if msg:
            print("deadline message: " + msg.splitlines()[0][:300])
    g2 = group(2)
    if r == 0:
        start = time.monotonic()
        work = dist.all_reduce(torch.ones(4), group=g2, async_op=True)
        seq = g2._get_sequence_number_for_group()
        while not work.is_completed() and time.monotonic() - start < 10:
            time.sleep(0.05)
        took = time.monotonic() - start
        c.checks += 1
        if not work.is_completed() or not 1.9 <= took <= 3.5:
            c.failures.append("unwaited all_reduce: completed %s after %.2f s (deadline 2 s)" % (work.is_completed(), took))
        msg = c.expect_error("the unwaited all_reduce failed", work.wait, "allreduce", "sequence number %d" % seq)
        if msg:
            print("watchdog message: " + msg.splitlines()[0][:300])
        c.expect_error("the group after the watchdog", lambda: dist.all_reduce(torch.ones(2), group=g2), "acc-ccl")


def p2p_size_mismatch(c, r, n):
    """A receive of another size than the send fails with both sizes, on both
    kinds of message (inline in the header, header + payload)."""
    g = group(20)
    for sent, expected in ((4, 8), (1000, 2000)):
        if r == 0:
            dist.send(torch.ones(sent), 1, group=g, tag=sent)
        elif r == 1:
            c.expect_error("recv %d floats of a %d-float message" % (expected, sent),
                           lambda: dist.recv(torch.empty(expected), 0, group=g, tag=sent),
                           "sent %d bytes" % (4 * sent), "expects %d bytes" % (4 * expected))


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
    issue_deadline(c, r, n)
    p2p_size_mismatch(c, r, n)
    early_exit(c, r, n, gloo)
    sys.stdout.flush()
    code = c.verdict()
    os._exit(code)  # the world group has lost a rank: skip the collective teardown


if __name__ == "__main__":
    sys.exit(main())
