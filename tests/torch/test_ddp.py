"""DistributedDataParallel on the "accl" backend against Gloo: a small MLP on
synthetic data, trained 20 steps twice from the same seed (one model per
backend, same process, same data). The local loss must agree at every step
and the final parameters must match. Then the same with DDP's bf16
compression hook on accl (future-chained, so it exercises getFuture) against
Gloo running the same compression by hand (Gloo has no bfloat16)."""
import sys

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel as DDP

from common import Checker, finish, init

STEPS = 20


def mlp():
    torch.manual_seed(1234)  # the same initial weights for both backends
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 4))


def batches(rank):
    """A fixed batch per rank, from one linear target plus noise."""
    g = torch.Generator().manual_seed(77 + rank)
    w = 0.3 * torch.randn(16, 4, generator=torch.Generator().manual_seed(5))
    x = torch.randn(64, 16, generator=g)
    y = x @ w + 0.05 * torch.randn(64, 4, generator=g)
    for _ in range(STEPS):
        yield x, y


def accl_bf16_hook(state, bucket):
    """torch's own bf16_compress_hook. DDP refuses that name unless CUDA and
    NCCL are present (a guard written for NCCL), so it is called through this one."""
    return default_hooks.bf16_compress_hook(state, bucket)


def gloo_bf16_hook(group):
    """What bf16_compress_hook does, with the sum in float32 (Gloo lacks bf16)."""
    def hook(state, bucket):
        buf = bucket.buffer()
        compressed = buf.to(torch.bfloat16).div_(dist.get_world_size(group)).float()
        fut = dist.all_reduce(compressed, group=group, async_op=True).get_future()

        def decompress(f):
            buf.copy_(f.value()[0].to(torch.bfloat16))
            return buf
        return fut.then(decompress)
    return hook


def close(c, what, a, b, tol):
    c.checks += 1
    if abs(a - b) > tol * max(1.0, abs(b)):
        c.failures.append("%s: %r vs %r (tolerance %g)" % (what, a, b, tol))


def train(c, r, gloo, tag, loss_tol, param_tol, hooks=None):
    models = {"accl": DDP(mlp()), "gloo": DDP(mlp(), process_group=gloo)}
    if hooks:
        for name, (state, hook) in hooks.items():
            models[name].register_comm_hook(state, hook)
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.1) for k, m in models.items()}
    for step, (x, y) in enumerate(batches(r)):
        losses = {}
        for name, model in models.items():
            opts[name].zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opts[name].step()
            losses[name] = loss.detach()
        close(c, "%s step %d loss" % (tag, step), losses["accl"].item(), losses["gloo"].item(), loss_tol)
        first = losses["accl"].item() if step == 0 else first
    close(c, "%s training lowers the loss" % tag, min(losses["accl"].item(), first), losses["accl"].item(), 0)
    for (pname, pa), pg in zip(models["accl"].module.named_parameters(), models["gloo"].module.parameters()):
        close(c, "%s final parameter %s" % (tag, pname), (pa.detach() - pg.detach()).abs().max().item(), 0, param_tol)
    # DDP keeps replicas identical: every rank must hold rank 0's parameters
    flat = torch.cat([p.detach().flatten() for p in models["accl"].module.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, 0, group=gloo)
    c.same("%s replicas identical" % tag, flat, ref)
    print("rank %d %s: loss %.4f -> accl %.6f gloo %.6f" % (r, tag, first, losses["accl"].item(), losses["gloo"].item()))


def main():
    r, n, gloo = init()
    c = Checker(r)
    train(c, r, gloo, "fp32", 1e-6, 1e-5)
    train(c, r, gloo, "bf16-hook", 1e-2, 2e-2,
          hooks={"accl": (None, accl_bf16_hook), "gloo": (None, gloo_bf16_hook(gloo))})
    finish(c)


if __name__ == "__main__":
    sys.exit(main())
