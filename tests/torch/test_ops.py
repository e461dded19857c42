"""Every operation of the "accl" backend x every shared dtype, compared with
Gloo's result in the same run (exact for integers and bool, tolerance for
floats). Gloo lacks bfloat16, bool, reduce_scatter and the list all_to_all:
there the reference is Gloo on a wider dtype (float32 / uint8) or Gloo's
all_reduce / all_to_all_single. Run under launch.py at any world size."""
import sys

import torch
import torch.distributed as dist

from common import DTYPES, FLOATS, Checker, finish, gloo_dtype, init, make

R = dist.ReduceOp


def to_gloo(x):
    return x.to(gloo_dtype(x.dtype))


OPS = {"sum": R.SUM, "prod": R.PRODUCT, "min": R.MIN, "max": R.MAX}


def gloo_allreduce(x, op, gloo, n):
    """Reference all_reduce of x (any dtype) with Gloo. op: a name of OPS,
    "avg" or ("premul", factor)."""
    if op == "avg" or isinstance(op, tuple):
        y = x.double() * (op[1] if isinstance(op, tuple) else 1.0)
        dist.all_reduce(y, group=gloo)
        if op == "avg":
            y = y / n if x.dtype in FLOATS else torch.div(y, n, rounding_mode="trunc")
        return y.to(x.dtype)
    y = to_gloo(x)
    if x.dtype == torch.bool:  # or / and on 0-1 bytes
        op = "max" if op in ("sum", "max") else "min"
    dist.all_reduce(y, op=OPS[op], group=gloo)
    return y.to(x.dtype)


def accl_op(op):
    if op == "avg":
        return R.AVG
    if isinstance(op, tuple):
        return dist._make_nccl_premul_sum(op[1])
    return OPS[op]


def op_name(op):
    return op if isinstance(op, str) else "premul%g" % op[1]


def t_allreduce(c, dt, r, n, gloo, shape):
    ops = ["sum", "prod", "min", "max"]
    if dt != torch.bool:
        ops.append("avg")
    if dt in FLOATS:
        ops.append(("premul", 0.5))
    for i, op in enumerate(ops):
        x = make(dt, shape, r, 10 + i, "prod" if op == "prod" else "sum")
        want = gloo_allreduce(x.clone(), op, gloo, n)
        dist.all_reduce(x, op=accl_op(op))
        c.same("all_reduce %s %s %s" % (op_name(op), dt, shape), x, want)


def t_coalesced(c, dt, r, n, gloo):
    xs = [make(dt, (3, 5), r, 20), make(dt, (7,), r, 21)]
    wants = [gloo_allreduce(x.clone(), "sum", gloo, n) for x in xs]
    dist.all_reduce_coalesced(xs)
    for x, w in zip(xs, wants):
        c.same("all_reduce_coalesced %s" % dt, x, w)


def t_broadcast(c, dt, r, n, gloo, shape):
    x = make(dt, shape, r, 30)
    want = to_gloo(x.clone())
    dist.broadcast(want, n - 1, group=gloo)
    dist.broadcast(x, n - 1)
    c.same("broadcast %s %s" % (dt, shape), x, want.to(dt))


def t_reduce(c, dt, r, n, gloo):
    root = n // 2
    for op in ("sum", "max"):
        x = make(dt, (3, 5), r, 40)
        want = gloo_allreduce(x.clone(), op, gloo, n)
        dist.reduce(x, root, op=OPS[op])
        if r == root:
            c.same("reduce %s %s" % (op, dt), x, want)


def t_allgather(c, dt, r, n, gloo, shape):
    x = make(dt, shape, r, 50)
    want = [torch.empty_like(to_gloo(x)) for _ in range(n)]
    dist.all_gather(want, to_gloo(x), group=gloo)
    got = [torch.empty_like(x) for _ in range(n)]
    dist.all_gather(got, x)
    for p in range(n):
        c.same("all_gather %s %s [%d]" % (dt, shape, p), got[p], want[p].to(dt))
    out = torch.empty((n * x.numel(),), dtype=dt)
    dist._all_gather_base(out, x)
    c.same("_all_gather_base %s %s" % (dt, shape), out, torch.cat([w.flatten() for w in want]).to(dt))


def t_reduce_scatter(c, dt, r, n, gloo, shape):
    ins = [make(dt, shape, r, 60 + p) for p in range(n)]
    full = gloo_allreduce(torch.stack(ins), "sum", gloo, n)
    out = torch.empty(shape, dtype=dt)
    dist.reduce_scatter(out, ins)
    c.same("reduce_scatter %s %s" % (dt, shape), out, full[r])
    out2 = torch.empty(shape, dtype=dt)
    dist._reduce_scatter_base(out2, torch.stack(ins))
    c.same("_reduce_scatter_base %s %s" % (dt, shape), out2, full[r])


def t_alltoall(c, dt, r, n, gloo, rows):
    x = make(dt, (n * rows, 3), r, 70)
    want = torch.empty_like(to_gloo(x))
    dist.all_to_all_single(want, to_gloo(x), group=gloo)
    got = torch.empty_like(x)
    dist.all_to_all_single(got, x)
    c.same("all_to_all_single equal %s" % dt, got, want.to(dt))
    # uneven: rank r sends (r + p) % 3 rows to p and so receives (p + r) % 3 from p
    send = [(r + p) % 3 for p in range(n)]
    x = make(dt, (sum(send), 2), r, 71)
    want = torch.empty((sum(send), 2), dtype=gloo_dtype(dt))
    dist.all_to_all_single(want, to_gloo(x), send, send, group=gloo)
    got = torch.empty((sum(send), 2), dtype=dt)
    dist.all_to_all_single(got, x, send, send)
    c.same("all_to_all_single uneven %s" % dt, got, want.to(dt))
    # list form: the same exchange with one tensor per peer
    ins = list(torch.split(x, send))
    outs = [torch.empty((s, 2), dtype=dt) for s in send]
    dist.all_to_all(outs, ins)
    c.same("all_to_all list %s" % dt, torch.cat(outs), want.to(dt))


def sendrecv_ring(x, out, r, n, group):
    nxt, prv = (r + 1) % n, (r - 1) % n
    if r % 2 == 0:
        dist.send(x, nxt, group=group)
        dist.recv(out, prv, group=group)
    else:
        dist.recv(out, prv, group=group)
        dist.send(x, nxt, group=group)


def t_sendrecv(c, dt, r, n, gloo):
    if n == 1:
        return
    x = make(dt, (4, 3), r, 80)
    want = torch.empty_like(to_gloo(x))
    sendrecv_ring(to_gloo(x), want, r, n, gloo)
    got = torch.empty_like(x)
    sendrecv_ring(x, got, r, n, None)
    c.same("send/recv %s" % dt, got, want.to(dt))


def t_gather_scatter(c, dt, r, n, gloo):
    root = n - 1
    x = make(dt, (2, 3), r, 90)
    want = [torch.empty_like(to_gloo(x)) for _ in range(n)] if r == root else None
    dist.gather(to_gloo(x), want, dst=root, group=gloo)
    got = [torch.empty_like(x) for _ in range(n)] if r == root else None
    dist.gather(x, got, dst=root)
    if r == root:
        for p in range(n):
            c.same("gather %s [%d]" % (dt, p), got[p], want[p].to(dt))
    ins = [make(dt, (2, 3), 100 + p, 91) for p in range(n)] if r == 0 else None
    want = torch.empty((2, 3), dtype=gloo_dtype(dt))
    dist.scatter(want, [to_gloo(t) for t in ins] if r == 0 else None, src=0, group=gloo)
    got = torch.empty((2, 3), dtype=dt)
    dist.scatter(got, ins, src=0)
    c.same("scatter %s" % dt, got, want.to(dt))


def t_noncontiguous(c, r, n, gloo):
    base = make(torch.float32, (6, 8), r, 95)
    keep = base.clone()
    view = base[:, ::2]  # every other column: not contiguous
    want = gloo_allreduce(view.contiguous(), "sum", gloo, n)
    dist.all_reduce(view)
    c.same("all_reduce non-contiguous", view, want)
    c.same("all_reduce non-contiguous leaves the rest", base[:, 1::2], keep[:, 1::2])
    t = make(torch.int64, (5, 4), r, 96).t()
    want = t.clone()
    dist.broadcast(want, 0, group=gloo)
    dist.broadcast(t, 0)
    c.same("broadcast transposed", t, want)
    outs = [torch.empty((4, 3), dtype=torch.int32).t() for _ in range(n)]
    x = make(torch.int32, (3, 4), r, 97)
    want = [torch.empty_like(x) for _ in range(n)]
    dist.all_gather(want, x, group=gloo)
    dist.all_gather(outs, x.t().contiguous().t())
    for p in range(n):
        c.same("all_gather non-contiguous [%d]" % p, outs[p], want[p])
    if n > 1:
        got = torch.empty((4, 6), dtype=torch.float64)[:, ::2]
        x = make(torch.float64, (4, 3), r, 98)
        want = torch.empty_like(x)
        sendrecv_ring(x, want, r, n, gloo)
        sendrecv_ring(x, got, r, n, None)
        c.same("recv into non-contiguous", got, want)


def t_futures(c, r, n, gloo):
    """Works and their futures, asked for before and after completion: small
    calls usually come back completed, 4 MiB ones run on after the call."""
    for numel in (8, 1 << 20):
        xs = [make(torch.float32, (numel,), r, 110 + i) for i in range(4)]
        wants = [gloo_allreduce(x.clone(), "sum", gloo, n) for x in xs]
        w = dist.all_reduce(xs[0], async_op=True)
        w.wait()
        fut = w.get_future()  # after completion
        c.same("future after wait %d" % numel, fut.wait()[0], wants[0])
        c.same("work.result %d" % numel, w.result()[0], wants[0])
        if not (fut.done() and w.is_completed()):
            c.failures.append("work state after wait %d: future done %s, work completed %s" % (
                numel, fut.done(), w.is_completed()))
        w = dist.all_reduce(xs[1], async_op=True)
        doubled = w.get_future().then(lambda f: f.value()[0] * 2)  # before wait
        c.same("future callback %d" % numel, doubled.wait(), wants[1] * 2)
        works = [dist.all_reduce(x, async_op=True) for x in xs[2:]]
        futs = [wk.get_future() for wk in works]
        torch.futures.wait_all(futs)
        for i, (x, want) in enumerate(zip(xs[2:], wants[2:])):
            c.same("wait_all future %d [%d]" % (numel, i), futs[i].value()[0], want)
            c.same("wait_all tensor %d [%d]" % (numel, i), x, want)
        for wk in works:
            wk.wait()  # waiting again after the future is harmless


def t_back_to_back(c, r, n, rounds=300):
    """Small collectives back to back with nothing in between (no Gloo call
    to slow a rank down): all_reduce, broadcast from rank 0 (the root may
    finish before the others), all_reduce, reduce to the last rank. acc-ccl's
    LL all_reduce lost a message in this order (see acc_ccl_torch/__init__.py)."""
    bad = 0
    for i in range(rounds):
        a = torch.full((2,), float(r + i))
        dist.all_reduce(a)
        b = torch.full((2,), float(i if r == 0 else -1))
        dist.broadcast(b, 0)
        d = torch.full((2,), 1.0)
        dist.all_reduce(d)
        e = torch.full((2,), float(r))
        dist.reduce(e, n - 1)
        ok = a[0].item() == sum(range(n)) + n * i and b[0].item() == i and d[0].item() == n
        ok = ok and (r != n - 1 or e[0].item() == sum(range(n)))
        bad += not ok
    c.checks += 1
    if bad:
        c.failures.append("back-to-back small collectives: %d of %d rounds wrong" % (bad, rounds))


def main():
    r, n, gloo = init()
    c = Checker(r)
    for dt in DTYPES:
        t_allreduce(c, dt, r, n, gloo, (3, 5))
        t_coalesced(c, dt, r, n, gloo)
        t_broadcast(c, dt, r, n, gloo, (3, 5))
        t_reduce(c, dt, r, n, gloo)
        t_allgather(c, dt, r, n, gloo, (3, 5))
        t_reduce_scatter(c, dt, r, n, gloo, (3, 5))
        t_alltoall(c, dt, r, n, gloo, 2)
        t_sendrecv(c, dt, r, n, gloo)
        t_gather_scatter(c, dt, r, n, gloo)
    # sizes past the small-message paths (ring, several slices)
    for dt in (torch.float32, torch.bfloat16, torch.int64):
        t_allreduce(c, dt, r, n, gloo, (40000,))
        t_broadcast(c, dt, r, n, gloo, (40000,))
        t_allgather(c, dt, r, n, gloo, (40000,))
        t_reduce_scatter(c, dt, r, n, gloo, (40000,))
        t_alltoall(c, dt, r, n, gloo, 12000)
    t_noncontiguous(c, r, n, gloo)
    t_futures(c, r, n, gloo)
    t_back_to_back(c, r, n)
    dist.barrier()
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
