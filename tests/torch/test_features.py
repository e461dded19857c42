"""What issue 16 added to the "accl" backend (items 4 and 5), each compared
with Gloo in the same run where Gloo has it:
- int16 in every reduction (Gloo 1.13 has no int16: the reference is Gloo on
  int32, narrowed) and in the data-movement operations;
- BAND / BOR / BXOR on every integer dtype and bool, in all_reduce,
  all_reduce_coalesced, reduce and reduce_scatter (Gloo's results, or a
  local reduction where Gloo lacks the operation or dtype);
- all_gather_coalesced (shapes that differ, empty tensors, int16, complex);
- sparse all_reduce (sum), as torch's own sparse tests build them;
- sequence numbers: equal on every rank, one more per operation;
- the process group's monitoredBarrier (torch's dist.monitored_barrier
  refuses every backend but Gloo), passing and naming a missing rank;
- profiler records "accl:<op>" with the input shapes, like Gloo's "gloo:<op>".
Needs world size >= 2."""
import datetime
import sys

import torch
import torch.distributed as dist

from common import Checker, finish, init, make

R = dist.ReduceOp
INTS = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool]


def gloo_ref(x, op, gloo):
    """All-reduce of x with Gloo, on a dtype Gloo has (int16 -> int32, bool -> uint8)."""
    wide = {torch.int16: torch.int32, torch.bool: torch.uint8}.get(x.dtype, x.dtype)
    y = x.to(wide)
    dist.all_reduce(y, op=op, group=gloo)
    return y.to(x.dtype)


def bitwise_inputs(dt, shape, r, salt):
    if dt == torch.bool:
        return make(dt, shape, r, salt)
    g = torch.Generator().manual_seed(salt * 100 + r)
    hi = 255 if dt == torch.uint8 else 127
    return torch.randint(0, hi, shape, generator=g).to(dt)


def t_int16(c, r, n, gloo):
    for op, kind in ((R.SUM, "sum"), (R.PRODUCT, "prod"), (R.MIN, "sum"), (R.MAX, "sum")):
        for shape in ((7,), (300, 70)):
            x = make(torch.int16, shape, r, 3, kind) * (3000 if kind == "sum" else 1)  # sums overflow int16: must wrap
            want = gloo_ref(x.clone(), op, gloo)
            dist.all_reduce(x, op=op)
            c.same("int16 all_reduce %s %s" % (op, shape), x, want)
    x = make(torch.int16, (10,), r, 4)
    want = gloo_ref(x.clone(), R.SUM, gloo)
    dist.reduce(x, 1, op=R.SUM)
    if r == 1:
        c.same("int16 reduce", x, want)
    ins = torch.stack([make(torch.int16, (6,), r, 5 + p) for p in range(n)])
    full = gloo_ref(ins.clone(), R.SUM, gloo)
    out = torch.empty(6, dtype=torch.int16)
    dist.reduce_scatter(out, list(ins))
    c.same("int16 reduce_scatter", out, full[r])
    x = make(torch.int16, (5, 3), r, 6)
    got = [torch.empty_like(x) for _ in range(n)]
    dist.all_gather(got, x)
    want = [torch.empty(5, 3, dtype=torch.int32) for _ in range(n)]
    dist.all_gather(want, x.int(), group=gloo)
    for p in range(n):
        c.same("int16 all_gather [%d]" % p, got[p], want[p].to(torch.int16))
    b = make(torch.int16, (9,), r, 7)
    dist.broadcast(b, 0)
    ref = make(torch.int16, (9,), 0, 7)
    c.same("int16 broadcast", b, ref)


def t_bitwise(c, r, n, gloo):
    for dt in INTS:
        for op in (R.BAND, R.BOR, R.BXOR):
            x = bitwise_inputs(dt, (4, 33), r, 10)
            wide = x.to({torch.bool: torch.uint8, torch.int16: torch.int32}.get(dt, dt))  # dtypes Gloo has
            rows = [torch.empty_like(wide) for _ in range(n)]
            dist.all_gather(rows, wide, group=gloo)
            rows = [t.to(dt) for t in rows]
            want = rows[0].clone()
            for t in rows[1:]:
                want = {R.BAND: torch.bitwise_and, R.BOR: torch.bitwise_or, R.BXOR: torch.bitwise_xor}[op](want, t)
            if dt not in (torch.int16, torch.bool):  # Gloo has these: its answer must agree
                c.same("gloo %s %s agrees with the local reference" % (op, dt), gloo_ref(x.clone(), op, gloo), want)
            got = x.clone()
            dist.all_reduce(got, op=op)
            c.same("all_reduce %s %s" % (op, dt), got, want)
            xs = [x.clone(), x[:2].clone()]
            dist.all_reduce_coalesced(xs, op=op)
            c.same("all_reduce_coalesced %s %s" % (op, dt), xs[0], want)
            c.same("all_reduce_coalesced %s %s [1]" % (op, dt), xs[1], want[:2])
            got = x.clone()
            dist.reduce(got, n - 1, op=op)
            if r == n - 1:
                c.same("reduce %s %s" % (op, dt), got, want)
            ins = [bitwise_inputs(dt, (5,), r, 20 + p) for p in range(n)]
            allins = [None] * n
            dist.all_gather_object(allins, ins, group=gloo)
            want_rs = allins[0][r].clone()
            for q in range(1, n):
                want_rs = {R.BAND: torch.bitwise_and, R.BOR: torch.bitwise_or, R.BXOR: torch.bitwise_xor}[op](
                    want_rs, allins[q][r])
            out = torch.empty(5, dtype=dt)
            dist.reduce_scatter(out, ins, op=op)
            c.same("reduce_scatter %s %s" % (op, dt), out, want_rs)
    c.expect_error("BAND on float32", lambda: dist.all_reduce(torch.ones(3), op=R.BAND),
                   "Cannot use ReduceOp.BAND with non-integral dtype")


def t_allgather_coalesced(c, r, n, gloo):
    """torch wants one dtype per call: shapes differ, one tensor is empty."""
    shapes = [(3, 2), (5,), (0,), (2, 2, 2), (7, 1)]
    for dt in (torch.float32, torch.int8, torch.float64, torch.int16, torch.complex64):
        def inputs(rank):
            if dt == torch.complex64:
                return [torch.complex(make(torch.float32, s, rank, 30 + j), make(torch.float32, s, rank, 40 + j))
                        for j, s in enumerate(shapes)]
            return [make(dt, s, rank, 30 + j) for j, s in enumerate(shapes)]
        ins = inputs(r)
        outs = [[torch.empty_like(t) for t in ins] for _ in range(n)]
        dist.all_gather_coalesced(outs, ins)
        for p in range(n):
            for j, (g, w) in enumerate(zip(outs[p], inputs(p))):
                c.same("all_gather_coalesced %s rank %d input %d" % (dt, p, j), g, w)
        if dt in (torch.float32, torch.int8, torch.float64):  # Gloo's answer too
            ref = [[torch.empty_like(t) for t in ins] for _ in range(n)]
            dist.all_gather_coalesced(ref, ins, group=gloo)
            for p in range(n):
                for j in range(len(ins)):
                    c.same("all_gather_coalesced %s = gloo [%d][%d]" % (dt, p, j), outs[p][j], ref[p][j])


def sparse_input(r, n, sparse_dims, dense_dims):
    idx = torch.arange(r + 1).reshape(1, r + 1)
    shape = [n] + [2] * dense_dims
    for _ in range(sparse_dims - 1):
        idx = torch.cat((idx, torch.zeros(1, r + 1, dtype=torch.long)))
        shape.append(n)
    return torch.sparse_coo_tensor(idx, torch.ones([r + 1] + [2] * dense_dims), shape)


def t_sparse(c, r, n, gloo):
    for sd, dd in ((1, 0), (2, 0), (3, 0), (1, 1), (1, 2)):
        got = sparse_input(r, n, sd, dd)
        want = sparse_input(r, n, sd, dd)
        dist.all_reduce(want, group=gloo)
        dist.all_reduce(got)
        c.same("sparse all_reduce %d sparse %d dense dims" % (sd, dd), got.to_dense(), want.to_dense())
        c.checks += 1
        if not got.is_sparse:
            c.failures.append("sparse all_reduce %d/%d: the result is not sparse" % (sd, dd))
    c.expect_error("sparse all_reduce MAX", lambda: dist.all_reduce(sparse_input(r, n, 1, 0), op=R.MAX),
                   "only works with ReduceOp.SUM")


def t_sequence_numbers(c, r, n, gloo):
    pg = dist.distributed_c10d._get_default_group()
    sub = dist.new_group()
    for g in (pg, sub):
        before = g._get_sequence_number_for_group()
        dist.all_reduce(torch.ones(2), group=g)
        dist.broadcast(torch.ones(2), 0, group=g)
        dist.barrier(group=g)
        after = g._get_sequence_number_for_group()
        c.checks += 1
        if after != before + 3:
            c.failures.append("sequence number %d -> %d after 3 operations" % (before, after))
        seqs = [None] * n
        dist.all_gather_object(seqs, after, group=gloo)
        c.checks += 1
        if len(set(seqs)) != 1:
            c.failures.append("sequence numbers differ across ranks: %s" % seqs)
    sub._set_sequence_number_for_group()  # re-agreed through the store
    seqs = [None] * n
    dist.all_gather_object(seqs, sub._get_sequence_number_for_group(), group=gloo)
    c.checks += 1
    if len(set(seqs)) != 1:
        c.failures.append("sequence numbers differ after _set_sequence_number_for_group: %s" % seqs)


def t_monitored_barrier(c, r, n, gloo):
    pg = dist.new_group(timeout=datetime.timedelta(seconds=30))
    pg.monitored_barrier(datetime.timedelta(seconds=20))
    pg.monitored_barrier(datetime.timedelta(seconds=20), wait_all_ranks=True)
    dist.barrier(group=gloo)
    # rank 1 stays away: rank 0 names it, the others hear of the failure
    if r == 0:
        c.expect_error("monitoredBarrier without rank 1", lambda: pg.monitored_barrier(datetime.timedelta(seconds=2)),
                       "Rank 1 failed to pass monitoredBarrier")
    elif r != 1:
        c.expect_error("monitoredBarrier on rank %d" % r, lambda: pg.monitored_barrier(datetime.timedelta(seconds=10)),
                       "Rank %d successfully reached monitoredBarrier, but received errors" % r)
    dist.barrier(group=gloo)
    if r == 0:
        c.expect_error("monitoredBarrier with timeout 0", lambda: pg.monitored_barrier(datetime.timedelta(0)),
                       "Rank 0 timed out in monitoredBarrier")
    dist.barrier(group=gloo)


def t_profiler(c, r, n, gloo):
    x = torch.ones(3, 4)
    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        dist.all_reduce(x)
        dist.broadcast(x, 0)
        outs = [torch.empty_like(x) for _ in range(n)]
        dist.all_gather(outs, x)
        dist.all_reduce(torch.ones(1 << 20), async_op=True).wait()
        dist.barrier()
        if n > 1:
            got = torch.empty(2, 5)
            rq = dist.irecv(got, (r - 1) % n)
            dist.isend(torch.ones(2, 5), (r + 1) % n).wait()
            rq.wait()
    names = {}
    for e in prof.function_events:
        if e.name.startswith("accl:"):
            names.setdefault(e.name, []).append(e)
    want = {"accl:all_reduce": 2, "accl:broadcast": 1, "accl:all_gather": 1, "accl:barrier": 1}
    if n > 1:
        want.update({"accl:send": 1, "accl:recv": 1})
    for name, count in want.items():
        events = names.get(name, [])
        c.checks += 1
        if len(events) != count:
            c.failures.append("profiler: %d %s events, want %d (saw %s)" % (len(events), name, count,
                                                                           sorted(names)))
        for e in events:
            c.checks += 1
            if not e.is_async:
                c.failures.append("profiler: %s is not async" % name)
    ar = [e.input_shapes for e in names.get("accl:all_reduce", [])]
    c.checks += 1
    if [[3, 4]] not in ar:
        c.failures.append("profiler: accl:all_reduce shapes %s lack [[3, 4]]" % ar)


def main():
    r, n, gloo = init(timeout_s=60)
    if n < 2:
        print("skip: needs at least 2 ranks", file=sys.stderr)
        sys.exit(77)
    c = Checker(r)
    t_int16(c, r, n, gloo)
    t_bitwise(c, r, n, gloo)
    t_allgather_coalesced(c, r, n, gloo)
    t_sparse(c, r, n, gloo)
    t_sequence_numbers(c, r, n, gloo)
    t_monitored_barrier(c, r, n, gloo)
    t_profiler(c, r, n, gloo)
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
