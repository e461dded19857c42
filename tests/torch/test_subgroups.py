"""Sub-groups and asynchronous use of the "accl" backend: groups from
dist.new_group get their own communicators (subsets, overlapping, used
concurrently), Work objects complete through wait(), is_completed() polling
and chained futures, and results match Gloo on the same sub-groups."""
import datetime
import sys
import time

import torch
import torch.distributed as dist

from common import Checker, finish, init, make


def subset_groups(c, r, n):
    """Even ranks, odd ranks and the first two ranks, each as accl and gloo."""
    specs = {"even": list(range(0, n, 2)), "odd": list(range(1, n, 2)), "first2": list(range(min(2, n)))}
    groups = {}
    for name, ranks in specs.items():
        if not ranks:
            continue
        groups[name] = (ranks, dist.new_group(ranks, backend="accl"), dist.new_group(ranks, backend="gloo"))
    works = []
    for name, (ranks, ga, gg) in groups.items():
        if r not in ranks:
            continue
        x = make(torch.float32, (1000,), r, 7)
        want = x.clone()
        dist.all_reduce(want, group=gg)
        works.append((name, x, want, dist.all_reduce(x, group=ga, async_op=True)))
        c.same("%s group size" % name, torch.tensor([dist.get_world_size(ga)]), torch.tensor([len(ranks)]))
    for name, x, want, w in works:  # overlapping groups in flight together
        w.wait()
        c.same("all_reduce on sub-group %s" % name, x, want)
    for name, (ranks, ga, gg) in groups.items():
        if r in ranks:
            y = make(torch.int64, (5,), r, 8)
            want = [torch.empty_like(y) for _ in ranks]
            dist.all_gather(want, y, group=gg)
            got = [torch.empty_like(y) for _ in ranks]
            dist.all_gather(got, y, group=ga)
            for i in range(len(ranks)):
                c.same("all_gather on sub-group %s [%d]" % (name, i), got[i], want[i])


def async_works(c, r, n):
    x = torch.full((4096,), float(r + 1))
    fut = dist.all_reduce(x, async_op=True).get_future().then(lambda f: f.value()[0] * 2)
    c.same("future chained with then()", fut.wait(), torch.full((4096,), float(n * (n + 1))))
    y = torch.ones(1 << 16)
    w = dist.all_reduce(y, async_op=True)
    deadline = time.monotonic() + 30
    while not w.is_completed() and time.monotonic() < deadline:
        time.sleep(0.001)
    c.same("is_completed() polling finishes the work", torch.tensor([w.is_completed()]), torch.tensor([True]))
    c.same("result after polling", y, torch.full((1 << 16,), float(n)))
    z = torch.ones(8)
    c.same("wait(timeout) in time", torch.tensor([dist.all_reduce(z, async_op=True).wait(
        timeout=datetime.timedelta(seconds=30))]), torch.tensor([True]))
    # many operations in flight before any wait
    bufs = [torch.full((257,), float(i)) for i in range(20)]
    works = [dist.all_reduce(b, async_op=True) for b in bufs]
    for i, (b, w) in enumerate(zip(bufs, works)):
        w.wait()
        c.same("in flight #%d" % i, b, torch.full((257,), float(i * n)))


def main():
    r, n, _ = init()
    c = Checker(r)
    subset_groups(c, r, n)
    async_works(c, r, n)
    dist.barrier()
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
