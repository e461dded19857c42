"""Point-to-point operations of the "accl" backend progress independently of
each other (issue 16, item 2): every order of isend / irecv between partners
and around a ring completes at every size up to 64 MiB (a deadlock is a
timeout: launch.py kills the ranks), batch_isend_irecv, messages that match
by tag out of order, and receives from any source that report their sender.
Each pattern also runs on Gloo, whose results must be the same. Needs world
size >= 2; at an odd size the last rank sits out the partner patterns."""
import sys

import torch
import torch.distributed as dist

from common import Checker, finish, init

SIZES = [1, 12, 13, 1000, 1 << 18, 16 << 20]  # float32 elements: 4 B ... 64 MiB (12 fit in a header, 13 do not)


def payload(src, dst, numel, salt=0):
    """What src sends dst: distinct per pair, size and salt."""
    base = 1000.0 * src + 10.0 * dst + salt
    return torch.arange(numel, dtype=torch.float32).remainder_(97).add_(base)


def partner(r, n):
    p = r ^ 1
    return p if p < n else None


def pair_patterns(c, r, n, group, tag):
    p = partner(r, n)
    for numel in SIZES:
        if p is None:
            continue
        mine = payload(r, p, numel)
        want = payload(p, r, numel)
        for order in ("isend-irecv", "irecv-isend"):
            got = torch.full((numel,), -1.0)
            if order == "isend-irecv":
                works = [dist.isend(mine, p, group=group), dist.irecv(got, p, group=group)]
            else:
                works = [dist.irecv(got, p, group=group), dist.isend(mine, p, group=group)]
            for w in works:
                w.wait()
            c.same("%s %s %d floats" % (tag, order, numel), got, want)


def ring_patterns(c, r, n, group, tag):
    nxt, prv = (r + 1) % n, (r - 1) % n
    for numel in SIZES:
        got = torch.full((numel,), -1.0)
        rq = dist.irecv(got, prv, group=group)  # everyone receives first
        sq = dist.isend(payload(r, nxt, numel), nxt, group=group)
        rq.wait()
        sq.wait()
        c.same("%s ring irecv-then-isend %d floats" % (tag, numel), got, payload(prv, r, numel))
        got2 = torch.full((numel,), -1.0)
        ops = [dist.P2POp(dist.irecv, got2, prv, group=group), dist.P2POp(dist.isend, payload(r, nxt, numel, 1), nxt,
                                                                          group=group)]
        for w in dist.batch_isend_irecv(ops):
            w.wait()
        c.same("%s batch_isend_irecv ring %d floats" % (tag, numel), got2, payload(prv, r, numel, 1))


def tag_patterns(c, r, n, group, tag):
    """Two messages to the partner; the partner takes them in the other order."""
    p = partner(r, n)
    if p is None:
        return
    for numel in (5, 1 << 16):
        sends = [dist.isend(payload(r, p, numel, t), p, group=group, tag=t) for t in (1, 2)]
        got = {t: torch.full((numel,), -1.0) for t in (2, 1)}
        recvs = {t: dist.irecv(got[t], p, group=group, tag=t) for t in (2, 1)}
        recvs[2].wait()  # tag 2 was sent second: it must not wait for tag 1's receive
        recvs[1].wait()
        for w in sends:
            w.wait()
        for t in (1, 2):
            c.same("%s tag %d out of order %d floats" % (tag, t, numel), got[t], payload(p, r, numel, t))


def any_source(c, r, n, group, tag, gloo, per_sender=3):
    """Every other rank sends rank 0 per_sender messages of each size; rank 0
    takes them from any source and checks each against its reported sender.
    Then (after a Gloo barrier, so that a receive from any source cannot take
    them first) one more message each, received from specific sources in
    reverse order."""
    for numel in (4, 300):
        if r != 0:
            works = [dist.isend(payload(r, 0, numel, k), 0, group=group) for k in range(per_sender)]
            for w in works:
                w.wait()
            dist.barrier(group=gloo)
            dist.isend(payload(r, 0, numel, 99), 0, group=group).wait()
            dist.barrier(group=gloo)
            continue
        seen = {}
        for i in range(per_sender * (n - 1)):
            got = torch.full((numel,), -1.0)
            if i % 2:
                w = dist.irecv(got, group=group)
                w.wait()
                src = w._source_rank()
            else:
                src = dist.recv(got, group=group)
            k = seen.get(src, 0)
            seen[src] = k + 1
            c.same("%s any-source %d floats #%d from %s" % (tag, numel, i, src), got, payload(src, 0, numel, k))
        c.checks += 1
        if sorted(seen.items()) != [(s, per_sender) for s in range(1, n)]:
            c.failures.append("%s any-source %d: senders %s" % (tag, numel, sorted(seen.items())))
        dist.barrier(group=gloo)
        for src in range(n - 1, 0, -1):
            got = torch.full((numel,), -1.0)
            dist.recv(got, src, group=group)
            c.same("%s specific after any-source %d floats from %d" % (tag, numel, src), got,
                   payload(src, 0, numel, 99))
        dist.barrier(group=gloo)


def main():
    r, n, gloo = init(timeout_s=120)
    if n < 2:
        print("skip: needs at least 2 ranks", file=sys.stderr)
        sys.exit(77)
    c = Checker(r)
    for group, tag in ((None, "accl"), (gloo, "gloo")):
        pair_patterns(c, r, n, group, tag)
        ring_patterns(c, r, n, group, tag)
        tag_patterns(c, r, n, group, tag)
        any_source(c, r, n, group, tag, gloo)
        dist.barrier(group=gloo)
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
