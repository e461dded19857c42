#!/usr/bin/python3
"""Runs PyTorch's own distributed test suite, DistributedTest._DistTestBase
of torch/testing/_internal/distributed/distributed_test.py, with the "accl"
backend (or with "gloo", for the reference counts). It does what upstream's
test/distributed/test_distributed_spawn.py does, which Debian's torch does not
ship: one TestCase class that mixes TestDistBackend (spawns WORLD_SIZE
processes per test, each joins the group through a file:// store) into the
suite's tests.

usage: dist_suite.py [--backend accl|gloo] [--world-size N] [-k PATTERN]...
                     [--json FILE] [--list] [-v]

How skip decisions follow Gloo. The suite reads os.environ["BACKEND"] once,
when it is imported, into its module global BACKEND; its skip decorators
(`BACKEND != "gloo"`, `BACKEND not in DistTestCases.backend_feature[...]`, ...)
are evaluated right then, and the test bodies compare the same global at run
time (`if BACKEND == "gloo": ...`) and pass it to init_process_group. So:
  1. the suite is imported with BACKEND=gloo in the environment: every
     decorator decides as for Gloo (accl is a CPU backend like Gloo);
  2. then its global BACKEND becomes GlooLikeName("accl"): a str whose value
     is "accl" (so init_process_group, new_group and get_backend use accl)
     but which compares equal to "gloo" as well, so run-time branches written
     for Gloo take the Gloo path;
  3. "accl" joins every DistTestCases.backend_feature set that holds "gloo"
     and the suite's PROFILING_SUPPORTED_BACKENDS lists, whose membership is
     tested with dist.get_backend() (the plain "accl"): the profiler checks
     run for accl exactly as for Gloo.
The spawned ranks re-import this file (multiprocessing "spawn"), inherit the
environment and so repeat these steps. os.environ["BACKEND"] stays "gloo";
torch's helpers compare it only with "nccl" and "mpi".

expecttest: torch.testing._internal.common_utils imports it and Debian lacks
it; when it cannot be imported, tests/torch/shim (a small stand-in) goes on
sys.path.

Environment, as upstream: WORLD_SIZE (default 2, or --world-size), TEMP_DIR
(default: a fresh temporary directory), INIT_METHOD (default file://, so that
test_barrier_timeout_global runs as in upstream's init-file variant; every
rank of every test joins through its own file:// store either way).

Tests that torch 1.13 itself refuses for a backend other than Gloo are in
TORCH_REFUSES with torch's message: with accl each must fail with exactly
that message (counted as "refused"); any other outcome is a failure.

Exit status: 0 when every test that ran passed (or was refused as listed),
77 when torch, the backend or the suite's module is missing, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

# Tests that torch 1.13's own Python code refuses for any backend but Gloo,
# before the backend is called: name -> torch's message.
MONITORED = "monitored_barrier is only implemented for GLOO backend."
TORCH_REFUSES = {
    "test_monitored_barrier_gloo": MONITORED,
    "test_monitored_barrier_gloo_subgroup": MONITORED,
    "test_monitored_barrier_failure_order": MONITORED,
    "test_monitored_barrier_wait_all_ranks": MONITORED,
}


def _parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("accl", "gloo"), default=os.environ.get("ACCL_SUITE_BACKEND", "accl"))
    ap.add_argument("--world-size", type=int, default=int(os.environ.get("WORLD_SIZE", "2")))
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="run only tests whose name contains this (repeatable)")
    ap.add_argument("--json", help="write each test's outcome and time to this file")
    ap.add_argument("--list", action="store_true", help="list the tests that would run, with skip reasons")
    ap.add_argument("-v", "--verbose", action="store_true", help="keep the ranks' INFO logging")
    ap.add_argument("--start", choices=("forkserver", "spawn"), default=os.environ.get("ACCL_SUITE_START", "forkserver"),
                    help="how ranks start (spawn: as upstream, much slower)")
    opt = ap.parse_args()
    if opt.world_size < 2:
        ap.error("the suite needs a world size of at least 2")
    os.environ["ACCL_SUITE_BACKEND"] = opt.backend
    os.environ["ACCL_SUITE_START"] = opt.start
    os.environ["WORLD_SIZE"] = str(opt.world_size)
    opt.own_temp = "TEMP_DIR" not in os.environ
    if opt.own_temp:
        os.environ["TEMP_DIR"] = tempfile.mkdtemp(prefix="dist_suite.")
    os.makedirs(os.path.join(os.environ["TEMP_DIR"], "barrier"), exist_ok=True)
    os.environ.setdefault("INIT_METHOD", "file://" + os.path.join(os.environ["TEMP_DIR"], "init"))
    if not opt.verbose:
        os.environ["ACCL_SUITE_QUIET"] = "1"
    sys.argv = sys.argv[:1]  # common_utils parses sys.argv when imported
    return opt


if __name__ == "__main__":
    OPTIONS = _parse_args()

SUITE_BACKEND = os.environ.get("ACCL_SUITE_BACKEND", "accl")
os.environ["BACKEND"] = "gloo"  # step 1: the suite's decorators decide as for Gloo

try:
    import expecttest  # noqa: F401
except ImportError:
    SHIM = os.path.join(HERE, "shim")
    sys.path.insert(0, SHIM)
    # Also for the forkserver, which imports the suite before any rank runs.
    os.environ["PYTHONPATH"] = SHIM + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")

try:
    import torch
    import torch.distributed as dist
    from torch.testing._internal.common_distributed import DistTestCases
    from torch.testing._internal.distributed import distributed_test as dt
except ImportError as e:
    print("skip: cannot import torch's distributed test suite: %s" % e, file=sys.stderr)
    sys.exit(77)

if SUITE_BACKEND == "accl":
    try:
        import acc_ccl_torch  # noqa: F401  (registers the backend)
    except ImportError as e:
        print("skip: cannot import acc_ccl_torch: %s" % e, file=sys.stderr)
        sys.exit(77)

    class GlooLikeName(str):
        """The backend name "accl", equal to "gloo" too (step 2 above)."""

        def __eq__(self, other):
            return isinstance(other, str) and str(other) in ("accl", "gloo")

        def __ne__(self, other):
            return not self.__eq__(other)

        __hash__ = str.__hash__

    dt.BACKEND = GlooLikeName("accl")
    for features in list(DistTestCases.backend_feature.values()) + list(DistTestCases.skip_collective.values()):
        if "gloo" in features:  # step 3
            features.add("accl")
    for allow in (dt.PROFILING_SUPPORTED_BACKENDS, dt.CUDA_PROFILING_SUPPORTED_BACKENDS,
                  dt.SEND_RECV_PROFILING_SUPPORTED_BACKENDS):
        if dist.Backend.GLOO in allow and "accl" not in allow:
            allow.append("accl")

if os.environ.get("ACCL_SUITE_QUIET"):
    import logging
    logging.getLogger("torch.testing._internal.common_distributed").setLevel(logging.WARNING)


def _shard_importable():
    try:
        import torch.distributed._shard  # noqa: F401
        return True
    except Exception:  # noqa: BLE001 - any failure means the package is unusable here
        return False


# TestDistBackend._run turns on DDP's ReplicatedTensor mode in every rank;
# then DDP imports torch.distributed._shard, which torch 1.13 cannot import
# on Python 3.11 (dataclasses rejects its TensorProperties default:
# "mutable default ... is not allowed"), failing 9 DDP tests for any backend.
# Where that import fails, the mode stays off (DDP's default).
import torch.nn.parallel._replicated_tensor_ddp_utils as _rt  # noqa: E402

if not getattr(_rt, "_accl_suite_checked", False):
    _rt._accl_suite_checked = True
    if not _shard_importable():
        _set_replicated = _rt._set_ddp_with_replicated_tensor
        _rt._set_ddp_with_replicated_tensor = lambda value: _set_replicated(False)


# How ranks start. "spawn" is upstream's way: every rank of every test is a
# fresh interpreter that imports torch and the suite (about 3 s each on this
# machine: ws 2 took 20 minutes). "forkserver" (the default) imports them
# once in a server process that forks each rank: still a new process per rank
# and test, created the same way, in the state the suite's module import
# leaves; the test's TEMP_DIR and INIT_METHOD, which upstream's ranks read
# from the environment when they import the suite, are passed to each rank.
START_METHOD = os.environ.get("ACCL_SUITE_START", "forkserver")
_forkserver = None
_PRELOAD = ["torch", "torch.distributed", "torch.testing._internal.distributed.distributed_test"] + \
    (["acc_ccl_torch"] if SUITE_BACKEND == "accl" else [])


def _rank_entry(env, rank, test_name, file_name, pipe):
    os.environ.update(env)
    dt.INIT_METHOD = os.environ.get("INIT_METHOD", dt.INIT_METHOD)
    TestDistBackendWithSpawn._run(rank, test_name, file_name, pipe)


class TestDistBackendWithSpawn(dt.TestDistBackend, dt.DistributedTest._DistTestBase):
    def setUp(self):
        super().setUp()
        if START_METHOD == "spawn":
            self._spawn_processes()
        else:
            self._forkserver_processes()
        torch.backends.cudnn.flags(allow_tf32=False).__enter__()

    def _forkserver_processes(self):
        global _forkserver
        if _forkserver is None:
            _forkserver = torch.multiprocessing.get_context("forkserver")
            # Python 3.11's forkserver cannot preload __main__ itself (it asks
            # for a "main_path" that get_preparation_data never provides): it
            # preloads the heavy modules, and each rank re-runs this file's
            # cheap top level against them.
            _forkserver.set_forkserver_preload(_PRELOAD)
        env = {k: os.environ[k] for k in ("TEMP_DIR", "INIT_METHOD") if k in os.environ}
        self.processes = []
        for rank in range(int(self.world_size)):
            parent_conn, child_conn = torch.multiprocessing.Pipe()
            proc = _forkserver.Process(target=_rank_entry, name="process %d" % rank,
                                       args=(env, rank, self._current_test_name(), self.file_name, child_conn))
            proc.start()
            self.pid_to_pipe[proc.pid] = parent_conn
            self.processes.append(proc)


class _Result(unittest.TextTestResult):
    """Records each test's outcome and time; applies TORCH_REFUSES."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        self.refused = []
        self._start = {}

    @staticmethod
    def _name(test):
        return test.id().split(".")[-1]

    def startTest(self, test):
        self._start[self._name(test)] = time.monotonic()
        super().startTest(test)

    def _record(self, test, outcome, detail=""):
        name = self._name(test)
        took = time.monotonic() - self._start.get(name, time.monotonic())
        self.outcomes[name] = {"outcome": outcome, "seconds": round(took, 2), "detail": detail[-4000:]}

    def _refused(self, test, err):
        name = self._name(test)
        if SUITE_BACKEND != "accl" or name not in TORCH_REFUSES:
            return False
        text = self._exc_info_to_string(err, test)
        if TORCH_REFUSES[name] not in text:
            return False
        self.refused.append(name)
        self._record(test, "refused", TORCH_REFUSES[name])
        if self.showAll:
            self.stream.writeln("refused by torch: " + TORCH_REFUSES[name])
        return True

    def addSuccess(self, test):
        name = self._name(test)
        if SUITE_BACKEND == "accl" and name in TORCH_REFUSES:
            # The list is stale: torch no longer refuses it. Make it visible.
            self.addFailure(test, (AssertionError, AssertionError(
                "listed in TORCH_REFUSES but passed; update dist_suite.py"), None))
            return
        super().addSuccess(test)
        self._record(test, "passed")

    def addError(self, test, err):
        if self._refused(test, err):
            return
        super().addError(test, err)
        self._record(test, "failed", self._exc_info_to_string(err, test))

    def addFailure(self, test, err):
        if err[2] is not None and self._refused(test, err):
            return
        super().addFailure(test, err)
        self._record(test, "failed", self._exc_info_to_string(err, test) if err[2] is not None else str(err[1]))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)


def _load(patterns):
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    return loader.loadTestsFromTestCase(TestDistBackendWithSpawn)


def _skip_reason(test):
    method = getattr(type(test), test._testMethodName)
    return getattr(method, "__unittest_skip_why__", None) if getattr(method, "__unittest_skip__", False) else None


def main(opt):
    suite = _load(opt.patterns)
    if opt.list:
        for test in suite:
            why = _skip_reason(test)
            print("%s%s" % (test._testMethodName, "  [skip: %s]" % why if why else ""))
        return 0
    start = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    seconds = time.monotonic() - start
    counts = {k: 0 for k in ("passed", "failed", "skipped", "refused")}
    for o in result.outcomes.values():
        counts[o["outcome"]] += 1
    ran = counts["passed"] + counts["failed"] + counts["refused"]
    print("dist_suite: backend=%s world_size=%s tests=%d ran=%d passed=%d failed=%d refused=%d skipped=%d "
          "seconds=%.0f" % (SUITE_BACKEND, os.environ["WORLD_SIZE"], len(result.outcomes), ran, counts["passed"],
                            counts["failed"], counts["refused"], counts["skipped"], seconds))
    for name, o in sorted(result.outcomes.items()):
        if o["outcome"] == "failed":
            print("dist_suite: FAILED %s (%.0f s)" % (name, o["seconds"]))
    for name in result.refused:
        print("dist_suite: refused by torch 1.13 for non-Gloo backends: %s: %s" % (name, TORCH_REFUSES[name]))
    if opt.json:
        with open(opt.json, "w") as f:
            json.dump({"backend": SUITE_BACKEND, "world_size": int(os.environ["WORLD_SIZE"]),
                       "seconds": round(seconds, 1), "counts": counts, "tests": result.outcomes}, f, indent=1,
                      sort_keys=True)
    if counts["failed"]:
        return 1
    return 0 if counts["passed"] else 77


if __name__ == "__main__":
    try:
        code = main(OPTIONS)
    finally:
        if OPTIONS.own_temp:
            shutil.rmtree(os.environ["TEMP_DIR"], ignore_errors=True)
    sys.exit(code)
