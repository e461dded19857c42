"""Future callbacks that issue collectives and wait on them (issue 16, item 3).

1. Chains of callbacks on the futures of 4 MiB all_reduces (they finish after
   the call, on the backend's threads), each callback issuing another
   all_reduce or a send / recv and waiting for it with wait() or
   get_future().wait(), three levels deep, many times in a row.
2. torch's own PowerSGD communication hook (its callbacks all_reduce and
   wait inside): 20 training runs in a row on "accl" and on Gloo from the
   same seeds; every step's loss must agree to 1e-6 relative.
A hang fails the test through launch.py's timeout."""
import sys

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from torch.nn.parallel import DistributedDataParallel as DDP

from common import Checker, finish, init

RUNS = 20
STEPS = 6
BIG = 1 << 20  # float32 elements: 4 MiB, beyond the inline path


def nested_callbacks(c, r, n, rounds=10):
    for i in range(rounds):
        x = torch.full((BIG,), float(r + i))

        def level1(fut):
            y = fut.value()[0].clone()
            dist.all_reduce(y, async_op=True).wait()  # wait() inside a callback
            return y

        def level2(fut):
            z = fut.wait().clone()
            w = dist.all_reduce(z, async_op=True)
            return w.get_future().wait()[0]  # a future waited for inside a callback

        def level3(fut):
            z = fut.wait()
            if n > 1:  # a ring exchange from inside the callback
                got = torch.empty_like(z)
                rq = dist.irecv(got, (r - 1) % n)
                dist.isend(z, (r + 1) % n).wait()
                rq.wait()
                return got
            return z

        out = dist.all_reduce(x, async_op=True).get_future().then(level1).then(level2).then(level3).wait()
        s = sum(range(n)) + n * i  # the first all_reduce
        want = float(s * n * n)     # then two more all_reduces of an already reduced value
        c.same("nested callbacks round %d" % i, out[:4], torch.full((4,), want))


def model():
    torch.manual_seed(4321)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 8))


def run(r, group, seed):
    """One PowerSGD training run; returns the per-step losses."""
    net = DDP(model(), process_group=group)
    state = powerSGD.PowerSGDState(process_group=group, matrix_approximation_rank=2, start_powerSGD_iter=2,
                                   min_compression_rate=0.5, random_seed=seed)
    net.register_comm_hook(state, powerSGD.powerSGD_hook)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(seed * 10 + r)
    x = torch.randn(32, 32, generator=g)
    y = torch.randn(32, 8, generator=g)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def powersgd_runs(c, r, gloo):
    for k in range(RUNS):
        accl = run(r, None, 100 + k)
        ref = run(r, gloo, 100 + k)
        for step, (a, b) in enumerate(zip(accl, ref)):
            c.checks += 1
            if abs(a - b) > 1e-6 * max(abs(b), 1e-12):
                c.failures.append("PowerSGD run %d step %d: loss %.9g (accl) vs %.9g (gloo)" % (k, step, a, b))
    print("rank %d: %d PowerSGD runs of %d steps, last losses %s" % (r, RUNS, STEPS, ["%.6f" % v for v in accl[-2:]]))


def main():
    r, n, gloo = init(timeout_s=120)
    c = Checker(r)
    nested_callbacks(c, r, n)
    powersgd_runs(c, r, gloo)
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
