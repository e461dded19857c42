"""Shared helpers for the torch backend tests: process-group setup (the
"accl" default group plus a Gloo group over the same ranks, so one script can
compare both), deterministic inputs, comparisons and a per-rank verdict."""
import datetime
import os
import sys
import warnings

import torch
import torch.distributed as dist

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16,
          torch.int8, torch.uint8, torch.int32, torch.int64, torch.bool]
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

# torch 1.13 announces the deprecation of _all_gather_base and friends on every call.
warnings.filterwarnings("ignore", category=UserWarning, module="torch.distributed")


def import_backend():
    """Import acc_ccl_torch, or exit 77 (skip) when torch or the extension is missing."""
    try:
        import acc_ccl_torch  # noqa: F401
    except ImportError as e:
        print("skip: cannot import acc_ccl_torch: %s" % e, file=sys.stderr)
        sys.exit(77)


def init(timeout_s=60):
    """Default group "accl" and a Gloo group over the same ranks."""
    import_backend()
    dist.init_process_group("accl", timeout=datetime.timedelta(seconds=timeout_s))
    gloo = dist.new_group(backend="gloo", timeout=datetime.timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size(), gloo


def gloo_dtype(dt):
    """The dtype Gloo computes a reference in: it has neither bfloat16 nor bool."""
    return {torch.bfloat16: torch.float32, torch.bool: torch.uint8}.get(dt, dt)


def make(dt, shape, rank, salt, kind="sum"):
    """Deterministic input of one rank. kind "prod" keeps products small."""
    g = torch.Generator().manual_seed(1000 * salt + rank)
    if dt == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if kind == "prod":
        if dt in FLOATS:
            return (torch.rand(shape, generator=g, dtype=torch.float64) + 0.5).to(dt)
        return torch.randint(1, 3, shape, generator=g).to(dt)
    if dt in FLOATS:
        return torch.randn(shape, generator=g, dtype=torch.float64).to(dt)
    lo, hi = (0, 30) if dt == torch.uint8 else (-15, 15)
    return torch.randint(lo, hi, shape, generator=g).to(dt)


class Checker:
    """Collects mismatches; exact for integers and bool, tolerance for floats."""

    def __init__(self, rank):
        self.rank = rank
        self.failures = []
        self.checks = 0

    def same(self, what, got, want):
        self.checks += 1
        if got.dtype != want.dtype or got.shape != want.shape:
            self.failures.append("%s: got %s %s, want %s %s" % (what, got.dtype, tuple(got.shape),
                                                                  want.dtype, tuple(want.shape)))
            return
        if got.dtype in FLOATS:
            tol = {torch.float16: 1e-2, torch.bfloat16: 4e-2}.get(got.dtype, 1e-5)
            ok = torch.allclose(got.double(), want.double(), rtol=tol, atol=tol)
        else:
            ok = torch.equal(got, want)
        if not ok:
            self.failures.append("%s: got %s, want %s" % (what, got.flatten()[:8].tolist(),
                                                          want.flatten()[:8].tolist()))

    def expect_error(self, what, fn, *needles):
        """fn must raise; its message must contain every needle."""
        self.checks += 1
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any Python exception is the point
            msg = str(e)
            missing = [n for n in needles if n not in msg]
            if missing:
                self.failures.append("%s: message lacks %s: %s" % (what, missing, msg[:300]))
            return msg
        self.failures.append("%s: no exception" % what)
        return None

    def verdict(self):
        if self.failures:
            for f in self.failures[:30]:
                print("rank %d FAIL %s" % (self.rank, f), file=sys.stderr)
            print("rank %d: %d of %d checks failed" % (self.rank, len(self.failures), self.checks),
                  file=sys.stderr)
            return 1
        print("rank %d: %d checks passed" % (self.rank, self.checks))
        return 0


def finish(chk):
    sys.stdout.flush()
    code = chk.verdict()
    dist.destroy_process_group()
    os._exit(code) if code else sys.exit(0)
