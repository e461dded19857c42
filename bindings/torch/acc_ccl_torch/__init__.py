"""acc-ccl as a torch.distributed backend.

Importing this package registers the backend "accl"::

    import acc_ccl_torch  # noqa: F401
    torch.distributed.init_process_group("accl", rank=r, world_size=n)

CPU tensors only; every process uses one simulated accelerator
(LOCAL_RANK, else RANK, modulo ACCL_SIM_DEVICES).
"""
import inspect
import os

import torch.distributed as dist

# acc-ccl's network transport loads libfabric, whose PSM provider
# (libinfinipath) installs SIGTERM / SIGSEGV handlers that call exit() from
# the handler unless IPATH_NO_BACKTRACE is set: a rank terminated mid-work (as
# torch's test harness terminates the others when one fails) then corrupts
# its heap or deadlocks in exit handlers instead of dying. Set before the
# first communicator loads the provider; a value the user set is kept.
os.environ.setdefault("IPATH_NO_BACKTRACE", "1")

from . import _C

BACKEND_NAME = "accl"
ProcessGroupAccl = _C.ProcessGroupAccl


def _create_process_group(store, rank, size, timeout):
    return _C.create_process_group(store, rank, size, timeout)


def _register():
    if BACKEND_NAME.upper() in getattr(dist.Backend, "_plugins", {}):
        return  # already registered (re-import)
    kwargs = {}
    # torch >= 2.1 asks which devices a backend serves; 1.13 has no such argument.
    if "devices" in inspect.signature(dist.Backend.register_backend).parameters:
        kwargs["devices"] = ["cpu"]
    dist.Backend.register_backend(BACKEND_NAME, _create_process_group, **kwargs)


_register()
