"""acc_ccl_torch leaves the process's signals alone.

With --driver (how signals.sh starts it, through run_torch.sh): 10 jobs of 4
ranks each (40 processes), alternately over shared memory and over libfabric
(ACCL_TRANSPORT=ofi). Every rank imports acc_ccl_torch, runs an all_reduce
and reports READY; then ranks 0 and 1 get SIGINT (Ctrl-C) and must leave
through KeyboardInterrupt (exit 42), ranks 2 and 3 get SIGTERM and must die
by that signal. A rank still alive 60 s later has been left behind: it is
killed and the test fails (so is a rank not READY within 240 s). Every wait
is bounded, and every rank of a job is gone when the next one starts.

Without --driver it is one such rank.
"""
import glob
import os
import signal
import subprocess
import sys
import threading
import time

JOBS = 10
RANKS = 4
KEYBOARD_INTERRUPT_EXIT = 42
READY_TIMEOUT = 240  # s from start to READY
EXIT_TIMEOUT = 60  # s from the signal to the exit


def os_handlers():
    """The handlers the kernel has for SIGINT and SIGTERM (signal.getsignal
    only knows what Python itself installed)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    out = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        act = ctypes.create_string_buffer(512)  # struct sigaction; the handler comes first
        if libc.sigaction(sig, None, act) != 0:
            sys.exit("sigaction(%d) failed: errno %d" % (sig, ctypes.get_errno()))
        out.append(ctypes.c_void_p.from_buffer(act).value or 0)
    return out


def rank_main():
    import torch
    import torch.distributed as dist

    before = os_handlers()  # Python's SIGINT handler, SIGTERM's default

    def check_handlers(when):
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            sys.exit("SIGINT handler %s %s" % (signal.getsignal(signal.SIGINT), when))
        now = os_handlers()
        if now != before or before[1] != 0:
            sys.exit("SIGINT / SIGTERM handlers %s %s, were %s" % ([hex(h) for h in now], when,
                                                                   [hex(h) for h in before]))

    try:
        import acc_ccl_torch  # noqa: F401
    except ImportError as e:
        print("skip: cannot import acc_ccl_torch: %s" % e, file=sys.stderr)
        sys.exit(77)
    check_handlers("after import acc_ccl_torch")
    dist.init_process_group("accl")
    rank, size = dist.get_rank(), dist.get_world_size()
    t = torch.full((1024,), float(rank + 1))
    dist.all_reduce(t)
    if t[0].item() != size * (size + 1) / 2:
        sys.exit("rank %d: all_reduce gave %g" % (rank, t[0].item()))
    check_handlers("after an all_reduce")
    try:  # from READY on, Ctrl-C must surface here
        print("READY", flush=True)
        time.sleep(120)
    except KeyboardInterrupt:
        print("rank %d: KeyboardInterrupt" % rank, flush=True)
        sys.exit(KEYBOARD_INTERRUPT_EXIT)
    sys.exit("rank %d: no signal came" % rank)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def remove_shm_files(pid):
    """A rank ended by a signal cannot clean up: the libfabric shm provider's
    region files (/dev/shm/PID:N:N) stay (its own handlers, which would
    remove them, are what acc-ccl keeps out of the process). Removes this
    rank's; returns how many there were."""
    n = 0
    for path in glob.glob("/dev/shm/%d:*" % pid):
        try:
            os.unlink(path)
            n += 1
        except OSError:
            pass
    return n


def first_lines(procs, timeout):
    """The first line of each rank's output, None where none came within
    timeout seconds (a rank hung before READY)."""
    lines = [None] * len(procs)

    def read(i, p):
        lines[i] = p.stdout.readline()

    readers = [threading.Thread(target=read, args=(i, p), daemon=True) for i, p in enumerate(procs)]
    for t in readers:
        t.start()
    deadline = time.monotonic() + timeout
    for t in readers:
        t.join(max(0.0, deadline - time.monotonic()))
    return lines


def run_job(job, transport):
    port = str(free_port())
    procs = []
    errors = []
    try:
        for r in range(RANKS):
            env = dict(os.environ, RANK=str(r), WORLD_SIZE=str(RANKS), LOCAL_RANK=str(r),
                       LOCAL_WORLD_SIZE=str(RANKS), MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                       ACCL_TRANSPORT=transport)
            procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__)], env=env,
                                          stdout=subprocess.PIPE, text=True))
        # READY from every rank (or its early exit); a loaded machine is slow to import torch
        for r, line in enumerate(first_lines(procs, READY_TIMEOUT)):
            if line is None:
                errors.append("rank %d not ready within %d s" % (r, READY_TIMEOUT))
            elif line.strip() != "READY":
                errors.append("rank %d did not get ready (%r)" % (r, line))
        if errors:  # the job failed: its other ranks are killed below
            procs_signalled = []
        else:
            procs_signalled = procs
            for r, p in enumerate(procs):
                p.send_signal(signal.SIGINT if r < 2 else signal.SIGTERM)
        deadline = time.monotonic() + EXIT_TIMEOUT
        for r, p in enumerate(procs_signalled):
            try:
                rc = p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                errors.append("rank %d left behind: still running %d s after its signal" % (r, EXIT_TIMEOUT))
                continue
            rest = p.stdout.read()
            want = KEYBOARD_INTERRUPT_EXIT if r < 2 else -signal.SIGTERM
            if rc != want:
                errors.append("rank %d: exit %s after %s, expected %s %s" % (
                    r, rc, "SIGINT" if r < 2 else "SIGTERM", want, rest.strip()))
    finally:  # nothing of this job outlives it
        leftover = 0
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            leftover += remove_shm_files(p.pid)
    print("job %d (%s): %s%s" % (job, transport, "; ".join(errors) if errors else
                                 "Ctrl-C raised KeyboardInterrupt, SIGTERM ended ranks by the signal",
                                 " (removed %d /dev/shm files of the libfabric shm provider that ranks ended"
                                 " by a signal left)" % leftover if leftover else ""),
          flush=True)
    return errors


def driver_main():
    os.environ.pop("RANK", None)
    failed = 0
    for job in range(JOBS):
        failed += bool(run_job(job, "shm" if job % 2 == 0 else "ofi"))
    print("%d processes in %d jobs: %d jobs failed" % (JOBS * RANKS, JOBS, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if "--driver" in sys.argv[1:]:
        sys.exit(driver_main())
    rank_main()
