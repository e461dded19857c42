"""Rank script of the install check (started by tests/torch/launch.py -n 2):
acc_ccl_torch must come from the installed Python directory ($ACCL_INST_PYDIR)
and load the installed libacc-ccl ($ACCL_INST_LIBDIR), and an all_reduce
through it must be right."""
import os
import sys

import torch
import torch.distributed as dist

import acc_ccl_torch

pydir = os.path.realpath(os.environ["ACCL_INST_PYDIR"])
libdir = os.path.realpath(os.environ["ACCL_INST_LIBDIR"])
rank = int(os.environ["RANK"])
where = os.path.realpath(acc_ccl_torch.__file__)
if not where.startswith(pydir + os.sep):
    sys.exit("acc_ccl_torch imported from %s, not from %s" % (where, pydir))
libs = {os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps")
        if "libacc-ccl.so" in line.split()[-1]}
if len(libs) != 1 or os.path.dirname(libs.pop()) != libdir:
    sys.exit("libacc-ccl loaded from %s, not from %s" % (sorted(libs), libdir))

dist.init_process_group("accl")
t = torch.arange(8, dtype=torch.float32) * (rank + 1)
dist.all_reduce(t)
want = torch.arange(8, dtype=torch.float32) * 3
if not torch.equal(t, want):
    sys.exit("rank %d: all_reduce gave %s, expected %s" % (rank, t.tolist(), want.tolist()))
dist.destroy_process_group()
print("rank %d: all_reduce through the installed acc_ccl_torch: right" % rank)
