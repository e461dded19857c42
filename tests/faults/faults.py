#!/usr/bin/env python3
"""faults.py - the fault campaign: break acc-ccl the way clusters and attackers do.

Ranks are plain processes (tests/faults/fault_rank), never mpirun: a killed
rank must not take the job down. Every scenario has a bounded run time and
prints one line:

    SCENARIO | trusted: what a trusted library does | observed: ... | PASS or FAIL

  faults.py [--help] [--quick] [--list] [--repeat N] [--no-known] [--exclude GLOB]... [NAME-or-GLOB...]

--quick runs the sample that `make check` runs (only scenarios that pass at
the current main: none marked known_defect); no argument runs every scenario
(`make check-faults`). --repeat N runs each selected scenario N times and
adds a summary line per scenario (the kill matrix of issue 20 asks for 20).
--no-known leaves out the scenarios marked known_defect.

A scenario marked known_defect="issue 22 X" reproduces a defect that the
library still has: it runs in the full run, reports FAIL as any other, and is
listed at the end. When the defect is fixed it reports PASS and the list says
the mark can go.

The exit status is 1 when any scenario failed, 77 when none ran.
Environment: FAULTS_BUILDDIR (the build tree, default: $top_builddir or the
current directory), FAULTS_SOAK_SECS (length of each soak scenario of the
full run, default 600; the quick sample runs 60 s over shm), FAULTS_SOAK_SEED
(replay a soak: its seed is printed).
"""
import fnmatch
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("FAULTS_BUILDDIR") or os.environ.get("top_builddir") or os.getcwd())
RANK_PROG = os.path.join(BUILD, "tests/faults/fault_rank")
CLIENT_PROG = os.path.join(BUILD, "tests/faults/fault_client")
SOAK_PROG = os.path.join(BUILD, "tests/faults/fault_soak")
HERE = os.path.dirname(os.path.abspath(__file__))
NETNS_SH = os.path.join(HERE, "..", "lib", "netns.sh")

CODES = {0: "acclSuccess", 1: "acclDeviceError", 2: "acclSystemError", 3: "acclInternalError",
         4: "acclInvalidArgument", 5: "acclInvalidUsage", 6: "acclRemoteError", 7: "acclInProgress",
         8: "acclTimeout"}
SUCCESS, SYSTEM_ERROR, INVALID_ARGUMENT, INVALID_USAGE, REMOTE_ERROR, TIMEOUT = 0, 2, 4, 5, 6, 8
MiB = 1 << 20

OFI_ENV = {"ACCL_TRANSPORT": "ofi", "ACCL_OFI_PROVIDER": "tcp;ofi_rxm"}
CRASH_RE = re.compile(r":(\d+) terminated with signal (\d+)")  # the library's fatal-signal handler (then exit 1)
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|WARNING: ThreadSanitizer")


def code_name(c):
    return CODES.get(c, str(c))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def shm_entries():
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()


def names_rank(err, r):
    """The error text names rank r ("rank 1", "ranks 0, 1", "peer rank 1 (pid ...)")."""
    return bool(re.search(r"\branks?\b[^0-9]{0,24}(\d+\D{1,3}){0,16}?\b%d\b" % r, err or "", re.I))


# Every process a scenario starts, so that the driver can scan their output
# for sanitizer reports and kill whatever is left when the scenario ends.
PROCS = []
CWD = [None]  # the running scenario's directory


class Proc:
    """A child process whose stdout lines we collect (merged with stderr)."""

    def __init__(self, argv, env, cwd=None):
        self.log = tempfile.TemporaryFile(mode="w+")
        # in the scenario's directory: a crash handler may drop files in the
        # working directory (libinfinipath, loaded by libfabric's psm provider,
        # writes NAME.80s-PID,HOST.btr backtraces)
        self.p = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True, cwd=cwd or CWD[0])
        self.pid = self.p.pid
        PROCS.append(self)

    def lines(self):
        self.log.seek(0)
        return self.log.read().splitlines()

    def wait_line(self, prefix, deadline):
        while time.monotonic() < deadline:
            for line in self.lines():
                if line.startswith(prefix):
                    return line
            if self.p.poll() is not None:
                for line in self.lines():
                    if line.startswith(prefix):
                        return line
                return None
            time.sleep(0.02)
        return None

    def wait(self, deadline):
        """Exit status, or None if it is still running at the deadline (then it is killed)."""
        while time.monotonic() < deadline:
            rc = self.p.poll()
            if rc is not None:
                return rc
            time.sleep(0.02)
        self.kill()
        return None

    def send(self, sig):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self, sig=signal.SIGKILL):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass


def parse_results(lines):
    """RESULT lines -> {phase: dict}; HYGIENE, CHILD, AFTER, THREADS, INFO, DYING lines under their names."""
    out = {}
    for line in lines:
        for tag in ("HYGIENE ", "CHILD ", "AFTER ", "THREADS ", "INFO ", "DYING "):
            if line.startswith(tag):
                head, _, err = line.partition(" err=")
                d = dict(kv.split("=", 1) for kv in head.split()[1:] if "=" in kv)
                if err:
                    d["err"] = err
                out.setdefault(tag.strip(), []).append(d)
        if not line.startswith("RESULT "):
            continue
        head, _, err = line.partition(" err=")
        fields = dict(kv.split("=", 1) for kv in head.split()[1:])
        fields["err"] = err
        for k in ("rank", "code", "async", "wrong", "guard"):
            if k in fields:
                fields[k] = int(fields[k])
        for k in ("secs", "at"):
            if k in fields:
                fields[k] = float(fields[k])
        out[fields["phase"]] = fields
    return out


class Netns:
    """N network namespaces ("nodes") made by tests/lib/netns.sh, removed on exit."""

    def __init__(self, n):
        self.n = n
        self.prefix = "acclf%dn%s" % (os.getpid() % 100000, secrets.token_hex(2))
        self.ok = False
        self.why = ""

    def __enter__(self):
        p = subprocess.run(["sh", NETNS_SH, "up", self.prefix, str(self.n)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        self.ok = p.returncode == 0
        self.why = p.stdout.strip()
        return self

    def __exit__(self, *exc):
        subprocess.run(["sh", NETNS_SH, "down", self.prefix], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        return False

    def name(self, i):
        return "%s%d" % (self.prefix, i)


class Job:
    """Ranks of one communicator, started and judged together. With netns,
    rank r runs inside namespace r // per (its own "node")."""

    def __init__(self, tmp, base_env, netns=None, per=1):
        self.tmp = tmp
        self.env = dict(base_env)
        self.ranks = {}
        self.idfile = os.path.join(tmp, "id-%s" % secrets.token_hex(4))
        self.netns = netns
        self.per = per

    def start(self, rank, nranks, op="init", nbytes=1 << 20, iters=1000000, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        argv = [RANK_PROG, str(rank), str(nranks), self.idfile, op, str(nbytes), str(iters)]
        if self.netns:
            ns = self.netns.name(rank // self.per)
            e.update({"ACCL_HOSTID": ns, "ACCL_SOCKET_IFNAME": "accl0", "ACCL_OFI_PROVIDER": "tcp;ofi_rxm"})
            argv = ["ip", "netns", "exec", ns] + argv
        self.ranks[rank] = Proc(argv, e)
        return self.ranks[rank]

    def finish(self, deadline):
        """Wait for every rank; returns {rank: (exit status or None, results)}."""
        res = {}
        for r, p in self.ranks.items():
            rc = p.wait(deadline)
            res[r] = (rc, parse_results(p.lines()))
        return res

    def pids(self):
        return [p.pid for p in self.ranks.values()]

    def start_all(self, nranks, op, nbytes=1 << 20, iters=1000000, rank_env=None):
        """Every rank of nranks runs op (rank_env: rank -> more environment
        for that rank); returns the job."""
        for r in range(nranks):
            self.start(r, nranks, op, nbytes, iters, env=(rank_env or {}).get(r))
        return self

    def wait_looping(self, secs=180):
        """Waits (secs at most) for every rank's first call of its loop: None,
        or the verdict of a job that never ran its loop (then killed)."""
        deadline = time.monotonic() + secs
        looping = [self.ranks[r].wait_line("LOOP", deadline) for r in sorted(self.ranks)]
        if all(looping):
            return None
        res = self.finish(time.monotonic() + 1)
        self.kill_all()
        return False, "the job never ran its loop: %s" % describe(res)

    def kill_all(self):
        for p in self.ranks.values():
            p.kill()


def base_env(timeout=30, boot_timeout=20, transport=None):
    """The environment of a scenario's ranks: ours without ACCL_* and
    FAULT_* settings, then the timeouts, and the transport's settings."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("ACCL_") and k not in ("ACCL_SIM_ISA",):
            del env[k]
        if k.startswith("FAULT_"):
            del env[k]
    env.update({"ACCL_TIMEOUT": str(timeout), "ACCL_BOOTSTRAP_TIMEOUT": str(boot_timeout),
                "ACCL_DEBUG": "WARN", "ACCL_SOCKET_IFNAME": "lo"})
    if transport:
        env.update(transport_env(transport))
    return env


def leftovers(before, pids):
    """/dev/shm entries that name one of our processes."""
    new = shm_entries() - before
    return sorted(n for n in new if any(str(p) in n for p in pids) or "accl" in n.lower() or "acc-ccl" in n)


def warn_lines(procs):
    return sum(1 for p in procs for line in p.lines() if " ACCL WARN " in line)


# ----------------------------------------------------------------- scenarios

SCENARIOS = []


def scenario(name, trusted, quick=True, known_defect=None):
    def deco(fn):
        SCENARIOS.append((name, trusted, quick, known_defect, fn))
        return fn
    return deco


def add_scenario(name, trusted, fn, quick=False, known_defect=None):
    SCENARIOS.append((name, trusted, quick, known_defect, fn))


# Defects seen only in a sanitizer build (ASan / UBSan / TSan): marked as
# known there only.
SAN_DEFECTS = {}


def known_mark(name, known):
    return known or (SAN_DEFECTS.get(name) if sanitized_build() else None)


def init_ok(res, ranks):
    return all(res[r][0] == 0 and res[r][1].get("init", {}).get("code") == SUCCESS and
               res[r][1].get("destroy", {}).get("code") == SUCCESS for r in ranks)


def describe(res):
    parts = []
    for r in sorted(res):
        rc, phases = res[r]
        if rc is None:
            parts.append("rank %d hung" % r)
            continue
        for ph in ("init", "loop", "destroy"):
            if ph in phases:
                f = phases[ph]
                txt = "rank %d %s %s %.2fs" % (r, ph, code_name(f["code"]), f["secs"])
                if f["code"] != SUCCESS and not f["err"]:
                    txt += " (empty error text)"
                parts.append(txt)
                if f["code"] != SUCCESS:
                    break
    return ", ".join(parts)


def exit_text(rc):
    if rc is None:
        return "hung (killed at the deadline)"
    if rc < 0:
        return "killed by signal %d" % -rc
    return "exit %d" % rc


def pinned_env(key=None):
    env = {"ACCL_COMM_ID": "127.0.0.1:%d" % free_port()}
    if key is not None:
        env["ACCL_COMM_SECRET"] = key
    return env


def pinned_job(tmp, key=None, **base):
    """A job (base_env(**base)) whose root is pinned at a free port of ours,
    its ranks holding `key` as ACCL_COMM_SECRET; the job's env["ACCL_COMM_ID"]
    is the root's address."""
    job = Job(tmp, base_env(**base))
    job.env.update(pinned_env(key))
    return job


@scenario("secret-outsider", "an outsider without the shared secret is refused; the job's ranks start")
def s_outsider(tmp):
    job = pinned_job(tmp, secrets.token_hex(16))
    job.start(0, 2)
    clients = [Proc([CLIENT_PROG, job.env["ACCL_COMM_ID"], "hello", "2", "1", key], job.env)
               for key in ("-", "guess")]  # the address-derived secret, and a wrong key
    seen = [c.wait_line("CLIENT", time.monotonic() + 20) for c in clients]
    job.start(1, 2)
    res = job.finish(time.monotonic() + 30)
    for c in clients:
        c.kill()
    refused = all(s in ("CLIENT closed",) or (s or "").startswith("CLIENT refused") for s in seen)
    ok = refused and init_ok(res, [0, 1])
    return ok, "outsiders: %s; %s" % (" / ".join(s or "no answer" for s in seen), describe(res))


@scenario("secret-required", "ACCL_COMM_SECRET_REQUIRED=1 without a secret refuses to start, at once, saying why")
def s_required(tmp):
    job = pinned_job(tmp)
    job.env["ACCL_COMM_SECRET_REQUIRED"] = "1"
    job.start(0, 2)
    job.start(1, 2)
    res = job.finish(time.monotonic() + 20)
    ok = all(res[r][0] == 0 and res[r][1].get("init", {}).get("code") == INVALID_USAGE and
             res[r][1]["init"]["err"] and res[r][1]["init"]["secs"] < 2 for r in (0, 1))
    return ok, describe(res)


@scenario("secret-mismatch", "ranks holding different secrets fail with a message (never join each other's job)")
def s_mismatch(tmp):
    job = pinned_job(tmp, boot_timeout=5)
    job.start(0, 2, env={"ACCL_COMM_SECRET": "alpha"})
    time.sleep(0.3)
    job.start(1, 2, env={"ACCL_COMM_SECRET": "beta"})
    res = job.finish(time.monotonic() + 20)
    ok = all(res[r][0] == 0 and res[r][1].get("init", {}).get("code", 0) != SUCCESS and res[r][1]["init"]["err"]
             and res[r][1]["init"]["secs"] < 10 for r in (0, 1))
    return ok, describe(res)


@scenario("secret-keyfile", "a key file others can read is refused; an owner-only one works")
def s_keyfile(tmp):
    path = os.path.join(tmp, "key")
    with open(path, "w") as f:
        f.write(secrets.token_hex(16) + "\n")
    obs = []
    ok = True
    for mode, want in ((0o644, INVALID_ARGUMENT), (0o600, SUCCESS)):
        os.chmod(path, mode)
        job = pinned_job(tmp)
        job.env["ACCL_COMM_SECRET_FILE"] = path
        job.start(0, 2)
        job.start(1, 2)
        res = job.finish(time.monotonic() + 30)
        good = all(res[r][0] == 0 and res[r][1].get("init", {}).get("code") == want for r in (0, 1))
        if want != SUCCESS:
            good = good and all(res[r][1]["init"]["err"] for r in (0, 1))
        ok = ok and good
        obs.append("mode %o: %s" % (mode, describe(res)))
    return ok, "; ".join(obs)


@scenario("root-huge-nranks", "a hello claiming 2^31-1 ranks is refused before any allocation; the job starts")
def s_huge(tmp):
    key = secrets.token_hex(16)
    job = pinned_job(tmp, key)
    job.start(0, 2)
    # a client that knows the secret: a buggy launcher or rank, the worst case
    c = Proc([CLIENT_PROG, job.env["ACCL_COMM_ID"], "hello", str(2**31 - 1), "0", key], job.env)
    seen = c.wait_line("CLIENT", time.monotonic() + 20)
    job.start(1, 2)
    res = job.finish(time.monotonic() + 30)
    c.kill()
    warns = warn_lines(job.ranks.values())
    ok = (seen or "").startswith("CLIENT refused") and init_ok(res, [0, 1]) and warns < 20
    return ok, "client: %s; %s; %d WARN lines" % (seen or "no answer", describe(res), warns)


@scenario("root-wrong-nranks", "a rank with another nranks is refused at once and says so; the others time out "
          "naming the missing rank")
def s_wrong_nranks(tmp):
    job = pinned_job(tmp, secrets.token_hex(8), boot_timeout=4)
    job.start(0, 2)
    time.sleep(0.3)
    job.start(1, 3)
    res = job.finish(time.monotonic() + 20)
    r0, r1 = res[0][1].get("init", {}), res[1][1].get("init", {})
    ok = (res[0][0] == 0 and res[1][0] == 0 and r1.get("code") == INVALID_USAGE and r1.get("secs", 99) < 2
          and r1.get("err") and r0.get("code") == TIMEOUT and "1" in r0.get("err", ""))
    return ok, describe(res)


@scenario("root-flood", "1000 silent connections and garbage while the job starts: the job starts, the log stays short")
def s_flood(tmp):
    job = pinned_job(tmp, secrets.token_hex(8))
    job.start(0, 4)
    hold = Proc([CLIENT_PROG, job.env["ACCL_COMM_ID"], "hold", "1000", "8"], job.env)
    junk = [Proc([CLIENT_PROG, job.env["ACCL_COMM_ID"], "garbage", "65536"], job.env) for _ in range(20)]
    hold.wait_line("CLIENT", time.monotonic() + 20)
    for r in (1, 2, 3):
        job.start(r, 4)
    res = job.finish(time.monotonic() + 40)
    for p in [hold] + junk:
        p.kill()
    warns = warn_lines(job.ranks.values())
    ok = init_ok(res, [0, 1, 2, 3]) and warns < 40
    return ok, "%s; %d WARN lines" % (describe(res), warns)




# ------------------------------------------------- issue 20 item 1: killed ranks
# Transports: "shm" (one node), "ofi" (one host, ACCL_TRANSPORT=ofi over
# tcp;ofi_rxm), "nsK" (K network namespaces as nodes, ranks spread evenly:
# shm inside a namespace, ofi between).

def transport_env(transport):
    if transport == "ofi":
        return dict(OFI_ENV)
    return {}


def ns_count(transport):
    return int(transport[2:]) if transport.startswith("ns") else 0


class Placement:
    """Where the ranks of a scenario run: one host, or K namespaces."""

    def __init__(self, transport, np):
        self.k = ns_count(transport)
        self.np = np
        self.netns = Netns(self.k) if self.k else None

    def __enter__(self):
        if self.netns:
            self.netns.__enter__()
        return self

    def __exit__(self, *exc):
        if self.netns:
            self.netns.__exit__(*exc)
        return False

    def skip(self):
        if self.netns and not self.netns.ok:
            return "no network namespaces here: %s" % self.netns.why
        return None

    def job(self, tmp, env):
        if self.netns:
            return Job(tmp, env, netns=self.netns, per=self.np // self.k)
        return Job(tmp, env)

    def loop_job(self, tmp, env, op, nbytes, rank_env=None):
        """A job of every rank running op's loop on nbytes (rank_env: rank ->
        more environment for that rank)."""
        return self.job(tmp, env).start_all(self.np, op, nbytes, rank_env=rank_env)


def exited(res, ranks, problems):
    """(rank, its phases) of each of ranks; a rank that did not exit 0 adds a problem."""
    for r in ranks:
        rc, ph = res[r]
        if rc != 0:
            problems.append("rank %d %s" % (r, exit_text(rc)))
        yield r, ph


def survivors_summary(res, survivors, t_event, bound, codes_ok, victim, need_name=True, need_async=True):
    """Judge the survivors of a killed / stopped rank. Returns (ok, text)."""
    problems = {}  # problem -> ranks

    def bad(what, r):
        problems.setdefault(what, []).append(r)

    lat, codes, named, abort = [], set(), 0, set()
    for r in survivors:
        rc, ph = res[r]
        if rc != 0:
            bad(exit_text(rc), r)
        loop = ph.get("loop") or ph.get("init")
        if not loop or (loop["phase"] == "init" and loop["code"] == SUCCESS):
            if rc == 0:
                bad("no failure reported", r)
            continue
        codes.add(loop["code"])
        d = loop["at"] - t_event
        lat.append(d)
        if loop["code"] not in codes_ok:
            bad(code_name(loop["code"]), r)
        if d > bound[1] or d < bound[0]:
            bad("outside %g-%g s" % bound, r)
        if names_rank(loop["err"], victim):
            named += 1
        elif need_name:
            bad("error text does not name rank %d (%r)" % (victim, loop["err"][:100]), r)
        if need_async and loop["phase"] == "loop" and loop["async"] not in (REMOTE_ERROR, SYSTEM_ERROR, TIMEOUT):
            bad("async error %s" % code_name(loop["async"]), r)
        if "destroy" in ph:
            abort.add(ph["destroy"]["code"])
            if ph["destroy"]["code"] != SUCCESS:
                bad("abort/destroy returned %s" % code_name(ph["destroy"]["code"]), r)
        elif rc == 0 and loop["phase"] == "loop":
            bad("no abort/destroy result", r)
        for h in ph.get("HYGIENE", []):
            if int(h["fds1"]) > int(h["fds0"]) or int(h["thr1"]) > int(h["thr0"]):
                bad("left fds %s->%s threads %s->%s %s" % (h["fds0"], h["fds1"], h["thr0"], h["thr1"],
                                                          h.get("extra", "")[:160]), r)
    text = "survivors: %s in %s s, error names rank %d: %d/%d, abort %s" % (
        "/".join(code_name(c) for c in sorted(codes)) or "no error",
        "%.2f-%.2f" % (min(lat), max(lat)) if lat else "-", victim, named, len(survivors),
        "/".join(code_name(c) for c in sorted(abort)) or "-")
    if problems:
        text += "; " + "; ".join("rank%s %s: %s" % ("s" if len(rs) > 1 else "", ",".join(map(str, rs)), what)
                                 for what, rs in problems.items())
    return not problems, text


KILL_BYTES = {"allreduce": 256 * MiB, "allgather": 32 * MiB, "sendrecv": 64 * MiB}


def run_kill(tmp, transport, op, np, nbytes=None, victim=1, timeout=20, env=None, bound=2.0, finish="abort",
             after=False, need_name=True):
    nbytes = nbytes or KILL_BYTES[op]
    with Placement(transport, np) as pl:
        if pl.skip():
            return None, pl.skip()
        e = base_env(timeout=timeout, transport=transport)
        if env:
            e.update(env)
        if finish == "destroy":
            e["FAULT_FINISH"] = "destroy"
        if after:
            e["FAULT_AFTER"] = "1"
        job = pl.loop_job(tmp, e, op, nbytes)
        never = job.wait_looping()
        if never:
            return never
        time.sleep(random.uniform(0.2, 0.8))  # in the middle of a call
        t_kill = time.monotonic()
        job.ranks[victim].kill()
        res = job.finish(t_kill + timeout + 15)
        survivors = [r for r in range(np) if r != victim]
        ok, text = survivors_summary(res, survivors, t_kill, (0, bound), (REMOTE_ERROR, SYSTEM_ERROR), victim,
                                     need_name=need_name)
        if res[victim][0] != -signal.SIGKILL:
            ok = False
            text += "; the killed rank: %s" % exit_text(res[victim][0])
        if after:
            aft = [res[r][1].get("after") for r in survivors]
            launch = [float(x[0]["launch_secs"]) for x in (res[r][1].get("AFTER") for r in survivors) if x]
            codes = set(a["code"] for a in aft if a)
            slow = [a["secs"] for a in aft if a and a["secs"] > 0.5]
            text += "; next call: %s%s" % ("/".join(code_name(c) for c in sorted(codes)) or "none",
                                           " (launch took %.3f s)" % max(launch) if launch else "")
            if not all(aft) or SUCCESS in codes or slow or any(c not in (REMOTE_ERROR, SYSTEM_ERROR) for c in codes):
                ok = False
                if SUCCESS in codes:
                    text += " (the call was accepted and enqueued)"
                if slow:
                    text += " (took up to %.1f s)" % max(slow)
        return ok, "np %d %s %s %d MiB: %s" % (np, transport, op, nbytes // MiB, text)


# Defects the campaign found beyond issue 22 (docs/reliability.md lists them):
#   C1  after an asynchronous failure (dead peer, timeout) the survivor's
#       acclGetLastError(comm) is empty: the WARN naming the dead rank is the
#       engine thread's last error, not the caller's
#   C2  a hello recorded from an earlier job pinned at the same address with
#       the same ACCL_COMM_SECRET was accepted by a later job's root (fixed:
#       hellos answer a fresh challenge; root-replay)
#   C3  a rank killed inside init across nodes: the survivors crash (SIGSEGV
#       in acclOfiTeardown on the failed acclOfiSetup path)
C1 = "campaign C1 (empty error text)"


def kill_known(transport, np):
    # issue 22 A1 (ofi survivors hanging or crashing in acclCommAbort, 8 of 42
    # runs then) did not happen in 20 repetitions at np 4 and 8 on this build:
    # these fail on C1 only; abort-under-load-ofi and soak-ofi show A1's hang
    # C1 is fixed; on one node every transport's waits check the peers' pids,
    # across nodes the bootstrap ring tells (A2)
    return None


def make_kill(transport, op, np, quick=False, **kw):
    name = "kill-%s-%s-np%d%s" % (transport, op, np, "-destroy" if kw.get("finish") == "destroy" else "")
    known = kill_known(transport, np)
    add_scenario(name, "SIGKILL of rank 1 in a %s loop: every survivor fails with acclRemoteError/SystemError "
                       "naming rank 1 within 2 s, sees it as the async error, aborts, exits 0, leaves no fd, "
                       "thread or /dev/shm entry" % op,
                 lambda tmp: run_kill(tmp, transport, op, np, **kw), quick=quick, known_defect=known)


for _t, _nps in (("shm", (2, 4, 8)), ("ofi", (2, 4, 8)), ("ns2", (2, 4, 8)), ("ns4", (4, 8))):
    for _op in ("allreduce", "allgather", "sendrecv"):
        for _np in _nps:
            make_kill(_t, _op, _np)
    make_kill(_t, "allreduce", 4, finish="destroy")

# the quick sample: a small shm kill (np 2, 16 MiB)
# (the error text is not judged here: kill-shm-* do, and fail today)
add_scenario("kill-shm-quick", "SIGKILL of rank 1 in a 16 MiB AllReduce loop at np 2 over shm: the survivor fails "
                               "within 2 s with acclRemoteError/SystemError, aborts, exits 0, leaves nothing "
                               "(the error text is judged by kill-shm-*)",
             lambda tmp: run_kill(tmp, "shm", "allreduce", 2, nbytes=16 * MiB, need_name=False), quick=True)


# ------------------------------------------------- issue 22 A3: a kill during init

def run_kill_in_init(tmp, transport, np, boot_timeout=30):
    """Rank 1 (started last) SIGKILLs itself at 10 %, 50 % and 90 % of the
    time its init takes in a calibration run: early in the bootstrap, in
    the middle, late in transport set-up."""
    with Placement(transport, np) as pl:
        if pl.skip():
            return None, pl.skip()

        def once(tag, die_ms):
            e = base_env(boot_timeout=boot_timeout, transport=transport)
            job = pl.job(tmp, e)
            job.idfile += "-" + tag
            for r in range(np):
                if r != 1:
                    job.start(r, np, "init")
            time.sleep(0.5)  # the others wait inside init
            job.start(1, np, "init", env={"FAULT_DIE_MS": str(die_ms)} if die_ms else None)
            return job.finish(time.monotonic() + boot_timeout + 20)

        cal = once("cal", 0)
        t_init = cal[1][1].get("init", {}).get("secs")
        if not init_ok(cal, range(np)) or not t_init:
            return False, "calibration run failed: %s" % describe(cal)
        ok_all, texts = True, []
        for frac in (0.1, 0.5, 0.9):
            ms = max(1, int(t_init * 1000 * frac))
            res = once("%d" % ms, ms)
            dying = res[1][1].get("DYING")
            if not dying:
                texts.append("at %d ms: init finished first" % ms)
                continue
            survivors = [r for r in range(np) if r != 1]
            ok, text = survivors_summary(res, survivors, float(dying[0]["at"]), (0, 2.0),
                                         (REMOTE_ERROR, SYSTEM_ERROR, TIMEOUT), 1, need_async=False)
            ok_all = ok_all and ok
            texts.append("killed at %d ms (%d %%): %s" % (ms, frac * 100, text))
        return ok_all, "np %d %s, init takes %.1f s, ACCL_BOOTSTRAP_TIMEOUT=%d; %s" % (
            np, transport, t_init, boot_timeout, " | ".join(texts))


add_scenario("kill-in-init-shm-np4", "rank 1 SIGKILLed inside acclCommInitRank: the others' init fails within 2 s "
                                     "with an error naming rank 1 (not the whole bootstrap timeout)",
             lambda tmp: run_kill_in_init(tmp, "shm", 4))
add_scenario("kill-in-init-ns2-np4", "the same across 2 namespace nodes",
             lambda tmp: run_kill_in_init(tmp, "ns2", 4))


# ------------------------------------------------- issue 22 A4: the next call after a failure

# issue 22 A4 (the next call succeeded) was fixed at the branch point; C1
# (empty text) since
add_scenario("after-failure-shm", "after a peer died and a call failed, the next call returns the communicator's "
                                  "error at once (< 0.5 s) and enqueues nothing",
             lambda tmp: run_kill(tmp, "shm", "allreduce", 2, nbytes=16 * MiB, after=True), quick=True)
add_scenario("after-failure-ofi", "the same over ofi",
             lambda tmp: run_kill(tmp, "ofi", "allreduce", 2, nbytes=16 * MiB, after=True))


# ------------------------------------------------- issue 20 item 2: stopped ranks

def run_stop(tmp, transport, np, timeout=10, nbytes=64 * MiB):
    with Placement(transport, np) as pl:
        if pl.skip():
            return None, pl.skip()
        job = pl.loop_job(tmp, base_env(timeout=timeout, transport=transport), "allreduce", nbytes)
        never = job.wait_looping()
        if never:
            return never
        time.sleep(random.uniform(0.2, 0.8))
        t_stop = time.monotonic()
        job.ranks[1].send(signal.SIGSTOP)
        survivors = [r for r in range(np) if r != 1]
        res = {r: (job.ranks[r].wait(t_stop + timeout + 10), None) for r in survivors}
        t_cont = time.monotonic()
        job.ranks[1].send(signal.SIGCONT)
        rc1 = job.ranks[1].wait(t_cont + timeout + 5)
        res = {r: (res[r][0], parse_results(job.ranks[r].lines())) for r in survivors}
        res[1] = (rc1, parse_results(job.ranks[1].lines()))
        ok, text = survivors_summary(res, survivors, t_stop, (timeout, timeout + 2), (TIMEOUT, REMOTE_ERROR), 1,
                                     need_name=False)
        codes = [res[r][1].get("loop", {}).get("code") for r in survivors]
        if TIMEOUT not in codes:
            ok = False
            text += "; no survivor reported acclTimeout"
        loop1 = res[1][1].get("loop")
        if rc1 != 0 or not loop1 or loop1["code"] == SUCCESS or loop1["wrong"]:
            ok = False
        text += "; the stopped rank after SIGCONT: %s" % (
            "%s after %.1f s, wrong=%d, %s" % (code_name(loop1["code"]), loop1["at"] - t_cont, loop1["wrong"],
                                               exit_text(rc1)) if loop1 else exit_text(rc1))
        return ok, "np %d %s, ACCL_TIMEOUT=%d, rank 1 SIGSTOPped: %s" % (np, transport, timeout, text)


for _t in ("shm", "ofi", "ns2"):
    add_scenario("stop-%s-np4" % _t, "SIGSTOP of rank 1 with ACCL_TIMEOUT=10: survivors fail with acclTimeout "
                                     "10-12 s later; after SIGCONT the stopped rank fails cleanly too",
                 (lambda t: lambda tmp: run_stop(tmp, t, 4))(_t), quick=_t == "shm")


# ------------------------------------------------- issue 20 item 3 / issue 22 B6: mismatched calls

MM_CONFIGS = [
    ("shm", {}, 64 * MiB),
    ("shm-ring", {"ACCL_ALGO": "ring"}, 64 * MiB),
    ("shm-tree", {"ACCL_ALGO": "tree"}, 64 * MiB),
    ("shm-direct", {"ACCL_ALGO": "direct"}, 64 * MiB),
    ("shm-ll", {"ACCL_PROTO": "LL"}, 8192),
    ("ofi", dict(OFI_ENV), 8 * MiB),
    ("ofi-ring", dict(OFI_ENV, ACCL_ALGO="ring"), 8 * MiB),
    ("ofi-rd", dict(OFI_ENV, ACCL_ALGO="rd"), 8192),
]
MM_KINDS = {
    "count": "counts differ (rank r: BYTES*(n-r)/n)",
    "dtype": "the last rank says int32, the others float32",
    "op": "the last rank says max, the others sum",
    "root": "Broadcast: the last rank says root 1, the others root 0",
    "coll": "the last rank calls AllGather, the others AllReduce",
    "skip": "the last rank skips the second of three AllReduces of different sizes",
}


def run_mismatch(tmp, kind, env, nbytes, np=4, timeout=10):
    e = base_env(timeout=timeout)
    e.update(env)
    res = Job(tmp, e).start_all(np, "mm-" + kind, nbytes).finish(time.monotonic() + 60 + timeout + 15)
    problems, codes, secs, guard, wrong = [], set(), [], 0, 0
    for r, ph in exited(res, range(np), problems):
        loop = ph.get("loop")
        if not loop:
            if "warmup" in ph:
                problems.append("rank %d: the matching call failed first" % r)
            continue
        codes.add(loop["code"])
        secs.append(loop["secs"])
        guard += loop["guard"]
        wrong += loop["wrong"] if loop["code"] == SUCCESS else 0
        if loop["code"] in (SUCCESS, TIMEOUT):
            problems.append("rank %d %s" % (r, code_name(loop["code"])))
        elif not loop["err"]:
            problems.append("rank %d: empty error text" % r)
        if loop["secs"] > timeout + 2:
            problems.append("rank %d took %.1f s" % (r, loop["secs"]))
    if guard:
        problems.append("%d bytes of neighbouring allocations overwritten" % guard)
    if wrong:
        problems.append("%d wrong elements returned with acclSuccess" % wrong)
    text = "np %d, %s: %s in %s s" % (np, MM_KINDS[kind], "/".join(code_name(c) for c in sorted(codes)) or "no result",
                                      "%.2f-%.2f" % (min(secs), max(secs)) if secs else "-")
    if problems:
        text += "; " + "; ".join(sorted(set(problems))[:8])
    return not problems, text


for _cfg, _env, _bytes in MM_CONFIGS:
    for _kind in MM_KINDS:
        add_scenario("mismatch-%s-%s" % (_kind, _cfg),
                     "mismatched calls (%s), %s%s: every rank returns an error that is not a timeout, within "
                     "ACCL_TIMEOUT, and nothing outside this rank's own output is written" % (
                         MM_KINDS[_kind], _cfg, " (%s)" % ", ".join("%s=%s" % kv for kv in _env.items()) if _env else ""),
                     (lambda k, e, b: lambda tmp: run_mismatch(tmp, k, e, b))(_kind, _env, _bytes),
                     quick=_cfg == "shm-ll",
                     # over ofi the FIFO steps carry no call signature yet (sizes only). On one
                     # node a root mismatch reached only the ranks that receive from the
                     # disagreeing rank until every plan waited for its peers' signatures
                     # (sigFinal; the others finished first with acclSuccess in CI, shm-ll np 4)
                     known_defect="issue 22 B6 (ofi)" if _cfg.startswith("ofi") and not (
                         _cfg == "ofi-rd" and _kind in ("count", "coll", "skip")) else None)


# ------------------------------------------------- issue 22 B7, B8: buffers checked against their allocation

def run_badbuf(tmp, op, nbytes, want=INVALID_ARGUMENT, np=2, limit=2.0):
    res = Job(tmp, base_env(timeout=15)).start_all(np, op, nbytes).finish(time.monotonic() + 60)
    problems, codes, secs, guard = [], set(), [], 0
    for r, ph in exited(res, range(np), problems):
        call = ph.get("call")
        if not call:
            continue
        codes.add(call["code"])
        secs.append(call["secs"])
        guard += call["guard"]
        if call["code"] != want:
            problems.append("rank %d %s (expected %s)" % (r, code_name(call["code"]), code_name(want)))
        elif not call["err"]:
            problems.append("rank %d: empty error text" % r)
        if call["secs"] > limit:
            problems.append("rank %d took %.1f s" % (r, call["secs"]))
    if guard:
        problems.append("%d bytes of the next allocations overwritten" % guard)
    text = "%s in %s s" % ("/".join(code_name(c) for c in sorted(codes)) or "no result",
                           "%.2f-%.2f" % (min(secs), max(secs)) if secs else "-")
    if problems:
        text += "; " + "; ".join(problems)
    return not problems, text


add_scenario("badbuf-oversize", "out-of-place AllReduce of 256 KiB on two 4 KiB device buffers: acclInvalidArgument "
                                "before anything is written",
             lambda tmp: run_badbuf(tmp, "badbuf-size", 256 << 10), quick=True)
add_scenario("badbuf-freed", "AllReduce on a freed device pointer: acclInvalidArgument",
             lambda tmp: run_badbuf(tmp, "badbuf-freed", 1 * MiB), quick=True)
add_scenario("badbuf-huge-count", "count = SIZE_MAX of int8 on a 4 KiB buffer: refused (acclInvalidArgument) at once",
             lambda tmp: run_badbuf(tmp, "badbuf-huge", 4096), quick=True)


# ------------------------------------------------- issue 22 B9, B10, B11; use after destroy

def phase_codes(ph, names):
    return ", ".join("%s %s" % (n, code_name(ph[n]["code"])) for n in names if n in ph)


def run_simple(tmp, op, np, judge, nbytes=1 * MiB, iters=1, env=None, limit=60):
    e = base_env(timeout=15)
    if env:
        e.update(env)
    res = Job(tmp, e).start_all(np, op, nbytes, iters).finish(time.monotonic() + limit)
    problems, texts = [], []
    for r, ph in exited(res, range(np), problems):
        p, t = judge(r, ph)
        problems += p
        if t and t not in texts:
            texts.append(t)
    text = "; ".join(texts)
    if problems:
        text += "; " + "; ".join(problems[:8])
    return not problems, text


def judge_stale(r, ph):
    p = []
    if ph.get("countA", {}).get("code") != INVALID_ARGUMENT:
        p.append("rank %d acclCommCount(A) %s" % (r, code_name(ph.get("countA", {}).get("code"))))
    if ph.get("destroyAagain", {}).get("code") != INVALID_ARGUMENT:
        p.append("rank %d acclCommDestroy(A) %s" % (r, code_name(ph.get("destroyAagain", {}).get("code"))))
    if ph.get("useB", {}).get("code") != SUCCESS or ph.get("useB", {}).get("wrong"):
        p.append("rank %d B afterwards: %s" % (r, code_name(ph.get("useB", {}).get("code"))))
    same = ph.get("INFO", [{}])[0].get("same_address")
    return p, "B at A's address: %s; %s" % ("yes" if same == "1" else "no" if same == "0" else "?",
                                            phase_codes(ph, ("countA", "destroyAagain", "useB")))


add_scenario("stale-handle", "after acclCommDestroy(A) and a new B (perhaps at A's address), calls with A return "
                             "acclInvalidArgument and B keeps working",
             lambda tmp: run_simple(tmp, "stale-handle", 2, judge_stale), quick=True)


def judge_group_destroy(r, ph):
    p = []
    d = ph.get("destroyInGroup", {}).get("code")
    if d not in (INVALID_USAGE, SUCCESS):
        p.append("rank %d destroy in the group: %s" % (r, code_name(d)))
    if "groupEnd" not in ph:
        p.append("rank %d: acclGroupEnd never returned" % r)
    if d == INVALID_USAGE and ph.get("destroy", {}).get("code") != SUCCESS:
        p.append("rank %d: the later destroy failed" % r)
    return p, phase_codes(ph, ("destroyInGroup", "groupEnd", "destroy"))


add_scenario("group-destroy", "acclCommDestroy inside an open group then acclGroupEnd: acclInvalidUsage from the "
                              "destroy (or the destruction deferred), never a crash",
             lambda tmp: run_simple(tmp, "group-destroy", 2, judge_group_destroy))


def judge_threads(r, ph):
    p = []
    loop = ph.get("loop", {})
    th = ph.get("THREADS", [{}])[0]
    if loop.get("wrong", 1):
        p.append("rank %d: %s wrong results" % (r, loop.get("wrong", "no")))
    if loop.get("code", 0) != SUCCESS and not loop.get("err"):
        p.append("rank %d: empty error text" % r)
    return p, "rank %d: ok %s refused %s wrong %s%s" % (r, th.get("ok"), th.get("refused"), th.get("wrong"),
                                                        (", then " + code_name(loop["code"])) if loop.get("code") else "")


add_scenario("threads-one-comm", "two threads on one communicator (own streams, 200 AllReduces each, counts differ "
                                 "by thread): never a silently wrong result (acclInvalidUsage for the intruder)",
             lambda tmp: run_simple(tmp, "threads", 2, judge_threads, nbytes=64 << 10, iters=200, limit=90))


def judge_uad(r, ph):
    p = []
    for n in ("count", "asyncError", "allreduce", "destroyAgain"):
        c = ph.get(n, {}).get("code")
        if c != INVALID_ARGUMENT:
            p.append("rank %d %s after destroy: %s" % (r, n, code_name(c)))
        elif not ph[n]["err"]:
            p.append("rank %d %s: empty error text" % (r, n))
    return p, phase_codes(ph, ("count", "asyncError", "allreduce", "destroyAgain"))


add_scenario("use-after-destroy", "calls on a destroyed communicator return acclInvalidArgument with a text",
             lambda tmp: run_simple(tmp, "use-after-destroy", 2, judge_uad), quick=True)


# ------------------------------------------------- issue 22 A5, issue 20 item 5: fork, abort under load

def judge_fork(want_child_code):
    def judge(r, ph):
        p = []
        child = ph.get("CHILD", [])
        status = [c.get("status") for c in child if "status" in c]
        codes = [int(c["code"]) for c in child if "code" in c]
        if status != ["exit0"]:
            p.append("rank %d child: %s" % (r, status[0] if status else "no status"))
        if want_child_code is not None and codes != [want_child_code]:
            p.append("rank %d child's call: %s" % (r, code_name(codes[0]) if codes else "no result"))
        loop = ph.get("loop", {})
        if loop.get("code") != SUCCESS or loop.get("wrong"):
            p.append("rank %d parent afterwards: %s wrong=%s" % (r, code_name(loop.get("code")), loop.get("wrong")))
        if ph.get("destroy", {}).get("code") != SUCCESS:
            p.append("rank %d destroy %s" % (r, code_name(ph.get("destroy", {}).get("code"))))
        return p, "child: %s%s; parent: loop %s" % (
            "/".join(status) or "-", (" call " + "/".join(code_name(c) for c in codes)) if codes else "",
            code_name(loop.get("code")))
    return judge


add_scenario("fork-child-exits", "a child forked after init exits at once (exit handlers run); the parent's "
                                 "communicator goes on working",
             lambda tmp: run_simple(tmp, "fork-exit", 2, judge_fork(None), iters=20), quick=True)
add_scenario("fork-child-calls", "a child forked after init calls AllReduce on the parent's communicator: "
                                 "acclInvalidUsage in the child, the parent unaffected",
             lambda tmp: run_simple(tmp, "fork-call", 2, judge_fork(INVALID_USAGE), iters=20),
             quick=True)


def run_abort_load(tmp, transport, np=4, nbytes=64 * MiB, timeout=10):
    with Placement(transport, np) as pl:
        if pl.skip():
            return None, pl.skip()
        job = pl.loop_job(tmp, base_env(timeout=timeout, transport=transport), "allreduce", nbytes,
                          {2: {"FAULT_ABORT_MS": "500"}})
        res = job.finish(time.monotonic() + 120 + timeout)
        ab = res[2][1].get("abort")
        problems = []
        if res[2][0] != 0:
            problems.append("the aborting rank %s" % exit_text(res[2][0]))
        if not ab or ab["code"] != SUCCESS or ab["secs"] > 2:
            problems.append("acclCommAbort under load: %s" % (
                "%s in %.2f s" % (code_name(ab["code"]), ab["secs"]) if ab else "no result"))
        loop2 = res[2][1].get("loop")
        if not loop2 or loop2["code"] == SUCCESS and not ab:
            problems.append("the aborting rank's loop: %s" % (code_name(loop2["code"]) if loop2 else "no result"))
        t_abort = ab["at"] if ab else time.monotonic()
        others = [r for r in range(np) if r != 2]
        ok, text = survivors_summary(res, others, t_abort - (ab["secs"] if ab else 0), (0, 2.0),
                                     (REMOTE_ERROR, SYSTEM_ERROR), 2, need_name=False)
        text = "rank 2 aborts 0.5 s into a %d MiB AllReduce loop: abort %s; the others: %s" % (
            nbytes // MiB, "%s in %.2f s" % (code_name(ab["code"]), ab["secs"]) if ab else "none", text)
        if problems:
            text += "; " + "; ".join(problems)
        return ok and not problems, "np %d %s, %s" % (np, transport, text)


add_scenario("abort-under-load-shm", "acclCommAbort from another thread while AllReduces run: returns within 2 s, "
                                     "no crash; the other ranks fail within 2 s (acclRemoteError/SystemError) and "
                                     "exit 0",
             lambda tmp: run_abort_load(tmp, "shm"), quick=True)
add_scenario("abort-under-load-ofi", "the same over ofi", lambda tmp: run_abort_load(tmp, "ofi"))


# ------------------------------------------------- issue 20 item 5: resource hygiene

def sanitized_build():
    """The build tree was configured with sanitizers (its RSS says nothing: ASan keeps freed memory)."""
    try:
        with open(os.path.join(BUILD, "Makefile")) as f:
            return any(line.startswith("SAN_FLAGS") and "-fsanitize" in line for line in f)
    except OSError:
        return False


def slope(ys):
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2.0, sum(ys) / float(n)
    num = sum((i - mx) * (y - my) for i, y in enumerate(ys))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def run_cycles(tmp, np, cycles, transport="shm"):
    e = base_env(timeout=30, transport=transport)
    job = Job(tmp, e).start_all(np, "cycles", 1 * MiB, cycles)
    res = job.finish(time.monotonic() + 60 + cycles * 3)
    problems, texts = [], []
    for r, ph in exited(res, range(np), problems):
        rows = [(int(x["fds"]), int(x["thr"]), int(x["rss"]), int(x["shm"]))
                for x in (dict(kv.split("=", 1) for kv in line.split()[1:]) for line in job.ranks[r].lines()
                          if line.startswith("CYCLE "))]
        if len(rows) < cycles:
            fail = [v for k, v in ph.items() if isinstance(v, dict) and v.get("code")]
            problems.append("rank %d completed %d of %d cycles%s" % (
                r, len(rows), cycles, (" (%s %s: %s)" % (fail[0]["phase"], code_name(fail[0]["code"]),
                                                          fail[0]["err"][:100])) if fail else ""))
            continue
        tail = rows[len(rows) // 10:]  # after the warm-up
        sl = [slope([t[i] for t in tail]) for i in range(4)]
        h = ph.get("HYGIENE", [{}])[0]
        texts.append("rank %d: %d cycles, slopes per cycle fds %+.4f threads %+.4f RSS %+.2f KiB /dev/shm %+.4f; "
                     "fds %s->%s threads %s->%s RSS %s->%s KiB" % (
                         r, len(rows), sl[0], sl[1], sl[2], sl[3], h.get("fds0"), h.get("fds1"), h.get("thr0"),
                         h.get("thr1"), h.get("rss0"), h.get("rss1")))
        if tail[-1][0] > tail[0][0] or tail[-1][1] > tail[0][1] or tail[-1][3] > tail[0][3]:
            problems.append("rank %d: fds/threads/shm grew after the warm-up" % r)
        if sl[2] > 4.0 and not sanitized_build():
            problems.append("rank %d: RSS grows %.1f KiB per cycle" % (r, sl[2]))
        if h and (int(h["fds1"]) > int(h["fds0"]) or int(h["thr1"]) > int(h["thr0"])):
            problems.append("rank %d: left %s" % (r, h.get("extra") or "threads"))
    text = "; ".join(texts) + ("; (sanitizer build: RSS not judged)" if sanitized_build() else "")
    if problems:
        text += "; " + "; ".join(problems)
    return not problems, text


add_scenario("hygiene-cycles-quick", "30 init / AllReduce / destroy cycles in one process: fds, threads and "
                                     "/dev/shm flat, RSS slope under 4 KiB per cycle",
             lambda tmp: run_cycles(tmp, 2, 30), quick=True)
add_scenario("hygiene-cycles-1000", "1000 init / AllReduce / destroy cycles in one process (np 2, shm): fds, "
                                    "threads and /dev/shm flat, RSS slope under 4 KiB per cycle",
             lambda tmp: run_cycles(tmp, 2, 1000))
add_scenario("hygiene-cycles-ofi", "200 cycles over ofi: the same",
             lambda tmp: run_cycles(tmp, 2, 200, transport="ofi"))



# ------------------------------------------------- issue 20 item 4: more hostile bootstrap clients

@scenario("root-hostile-mix", "truncated hellos (right secret), a wrong secret, garbage, a huge nranks and silent "
          "connections while 4 ranks start: the job starts in bounded time, each rejection is logged at most "
          "once, the root keeps no descriptor", quick=False)
def s_hostile_mix(tmp):
    key = secrets.token_hex(8)
    job = pinned_job(tmp, key)
    job.start(0, 4)
    addr = job.env["ACCL_COMM_ID"]
    clients = [Proc([CLIENT_PROG, addr, "truncated", "4", "1", key, str(n)], job.env) for n in (1, 8, 32, 63)]
    clients += [Proc([CLIENT_PROG, addr, "hello", "4", "2", "not-the-key"], job.env),
                Proc([CLIENT_PROG, addr, "garbage", "300"], job.env),
                Proc([CLIENT_PROG, addr, "hello", str(2**31 - 1), "3", key], job.env),
                Proc([CLIENT_PROG, addr, "silent", "8"], job.env)]
    time.sleep(0.5)
    t0 = time.monotonic()
    for r in (1, 2, 3):
        job.start(r, 4)
    res = job.finish(time.monotonic() + 60)
    for c in clients:
        c.kill()
    warns = warn_lines(job.ranks.values())
    h = res[0][1].get("HYGIENE", [{}])[0]
    slow = max((res[r][1].get("init", {}).get("at", 0) - t0) for r in range(4))
    ok = init_ok(res, range(4)) and warns <= len(clients) + 2 and slow < 10
    fds_ok = h and int(h["fds1"]) <= int(h["fds0"])
    ok = ok and bool(fds_ok)
    return ok, "%s; the job started %.1f s after its last rank; %d WARN lines for %d hostile clients; root's fds %s->%s" % (
        describe(res), slow, warns, len(clients), h.get("fds0"), h.get("fds1"))


@scenario("root-replay", "a hello recorded from a previous job pinned at the same address with the same "
          "ACCL_COMM_SECRET, replayed before the real rank: refused at once (it does not answer the root's fresh "
          "challenge), logged once; the new job starts", quick=False)
def s_replay(tmp):
    key = secrets.token_hex(8)
    env = pinned_env(key)
    rec = os.path.join(tmp, "hello.rec")
    # job A: rank 1 says hello to a recorder standing where the root was
    recorder = Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "record", rec], base_env())
    recorder.wait_line("CLIENT listening", time.monotonic() + 10)
    a = Job(tmp, base_env(boot_timeout=5))
    a.env.update(env)
    a.start(1, 2)
    got = recorder.wait_line("CLIENT recorded", time.monotonic() + 20)
    a.finish(time.monotonic() + 20)
    recorder.kill()
    if not got:
        return False, "could not record a hello"
    # job B, the same address and key: the recording goes first
    b = Job(tmp, base_env(boot_timeout=8))
    b.env.update(env)
    b.start(0, 2)
    t0 = time.monotonic()
    replay = Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "replay", rec], b.env)
    seen = replay.wait_line("CLIENT", time.monotonic() + 20)
    refusedIn = time.monotonic() - t0
    b.start(1, 2)
    res = b.finish(time.monotonic() + 30)
    replay.kill()
    logged = sum(1 for line in b.ranks[0].lines() if " ACCL WARN " in line and "replayed hello" in line)
    ok = (init_ok(res, [0, 1]) and (seen or "").startswith(("CLIENT closed", "CLIENT refused")) and logged == 1
          and refusedIn < 5)
    return ok, "recorded %s; the replay: %s in %.2f s, %d WARN line(s) about it; the new job: %s" % (
        got.split(" ", 2)[2], seen or "no answer", refusedIn, logged, describe(res))

# ------------------------------------------------- issue 20 item 4: a corrupted unique id

def run_uid_corrupt(tmp):
    # bits in the magic, version, family, port, flags, address, secret, reserved bytes and checksum
    cases = ["bit:%d" % b for b in (0, 35, 40, 60, 70, 100, 150, 200, 300, 500, 800, 959, 960, 1000, 1023)]
    cases += ["random:%d" % k for k in (1, 2, 3, 4)]
    problems, codes, slow = [], set(), 0.0
    for c in cases:
        job = Job(tmp, base_env(boot_timeout=5))
        job.idfile += c.replace(":", "-")
        job.start(0, 2, "init", env={"FAULT_ID_CORRUPT": c})
        res = job.finish(time.monotonic() + 20)
        rc, ph = res[0]
        init = ph.get("init")
        if rc != 0 or not init:
            problems.append("%s: %s" % (c, exit_text(rc)))
            continue
        codes.add(init["code"])
        slow = max(slow, init["secs"])
        if init["code"] != INVALID_ARGUMENT or not init["err"] or init["secs"] > 1:
            problems.append("%s: %s in %.2f s%s" % (c, code_name(init["code"]), init["secs"],
                                                     "" if init["err"] else " (empty error text)"))
    text = "%d corrupted ids (15 single bit flips across every field, 4 random): %s, at most %.2f s" % (
        len(cases), "/".join(code_name(x) for x in sorted(codes)), slow)
    if problems:
        text += "; " + "; ".join(problems[:6])
    return not problems, text


add_scenario("uid-corrupt", "a unique id with a flipped bit or random bytes is refused at once "
                            "(acclInvalidArgument) with an error text",
             run_uid_corrupt, quick=False)

# ------------------------------------------------- issue 20 item 6: the random soak

MAX_STEP_SECS = 15  # one collective, split or re-init: seconds on a loaded 2-core machine at most


def run_soak(tmp, transport, np, secs):
    with Placement(transport, np) as pl:
        if pl.skip():
            return None, pl.skip()
        e = base_env(timeout=30, boot_timeout=60, transport=transport)
        seed = int(os.environ.get("FAULTS_SOAK_SEED", "0")) or random.getrandbits(48)
        idfile = os.path.join(tmp, "soak-%s" % secrets.token_hex(4))
        procs = []
        for r in range(np):
            argv = [SOAK_PROG, str(r), str(np), idfile, str(secs), str(seed)]
            env = dict(e)
            if pl.netns:
                ns = pl.netns.name(r // (np // pl.k))
                env.update({"ACCL_HOSTID": ns, "ACCL_SOCKET_IFNAME": "accl0", "ACCL_OFI_PROVIDER": "tcp;ofi_rxm"})
                argv = ["ip", "netns", "exec", ns] + argv
            procs.append(Proc(argv, env))
        deadline = time.monotonic() + secs + 150
        rcs = [p.wait(deadline) for p in procs]
        problems, stats = [], []
        for r, p in enumerate(procs):
            lines = p.lines()
            soak = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in lines if l.startswith("SOAK ")]
            hang = [l for l in lines if l.startswith("HANG ")]
            badl = [l for l in lines if l.startswith("BAD ")]
            if rcs[r] != 0:
                problems.append("rank %d %s" % (r, exit_text(rcs[r])))
            if hang:
                problems.append(hang[0])
            if not soak:
                problems.append("rank %d: no summary" % r)
                continue
            st = soak[0]
            stats.append(st)
            if float(st["maxstep"]) > MAX_STEP_SECS:
                problems.append("rank %d: step %s took %s s" % (r, st["maxstep_at"], st["maxstep"]))
            if int(st["wrong"]) or int(st["errors"]):
                problems.append("rank %d: %s wrong elements, %s failed calls (%s)" % (r, st["wrong"], st["errors"],
                                                                                   badl[0][:200] if badl else ""))
        text = "np %d %s, %d s, seed %d" % (np, transport, secs, seed)
        if stats:
            st = stats[0]
            text += (": %s steps, %s collectives, %s splits, %s aborts, %s re-inits on rank 0; wrong %d, failed calls %d, "
                     "longest step %.1f s" % (st["steps"], st["colls"], st["splits"], st["aborts"], st["reinits"],
                                              sum(int(x["wrong"]) for x in stats), sum(int(x["errors"]) for x in stats),
                                              max(float(x["maxstep"]) for x in stats)))
        if problems:
            text += "; " + "; ".join(problems[:6])
        return not problems, text


def soak_secs():
    return int(os.environ.get("FAULTS_SOAK_SECS", "600"))


add_scenario("soak-shm-quick", "60 s (CI's minute) of random collectives, sizes, dtypes, splits, aborts and re-inits over shm "
                               "(np 3): every result right, no call fails, no step longer than 15 s",
             lambda tmp: run_soak(tmp, "shm", 3, 60), quick=True)
add_scenario("soak-ofi-quick", "the same over ofi (np 2, 30 s)",
             lambda tmp: run_soak(tmp, "ofi", 2, 30), known_defect="issue 22 A1 (SIGSEGV inside libfabric's "
                                                                     "fi_close(ep) in acclCommAbort with sends in flight)")
add_scenario("soak-shm", "FAULTS_SOAK_SECS (600) s of the random soak over shm, np 4",
             lambda tmp: run_soak(tmp, "shm", 4, soak_secs()))
add_scenario("soak-ofi", "FAULTS_SOAK_SECS (600) s of the random soak over ofi, np 4",
             lambda tmp: run_soak(tmp, "ofi", 4, soak_secs()), known_defect="issue 22 A1")
add_scenario("soak-ns2", "FAULTS_SOAK_SECS (600) s of the random soak across 2 namespace nodes, np 4",
             lambda tmp: run_soak(tmp, "ns2", 4, soak_secs()), known_defect="issue 22 A1")

# ---------------------------------------------------------------- driver

def selected(argv):
    quick = "--quick" in argv
    no_known = "--no-known" in argv
    excl = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--exclude"]
    pats = [a for i, a in enumerate(argv) if not a.startswith("--") and not (i and argv[i - 1] == "--exclude")]
    out = []
    for name, trusted, q, known, fn in SCENARIOS:
        known = known_mark(name, known)
        sc = (name, trusted, q, known, fn)
        if any(fnmatch.fnmatchcase(name, p) for p in excl):
            continue
        if pats:
            if not any(fnmatch.fnmatchcase(name, p) for p in pats):
                continue
        elif quick and (not q or known):
            continue
        if no_known and known:
            continue
        out.append(sc)
    return out


def run_one(name, fn):
    """(ok or None for skipped, observed, seconds)."""
    del PROCS[:]
    before = shm_entries()
    with tempfile.TemporaryDirectory(prefix="accl-faults-") as tmp:
        CWD[0] = tmp
        t0 = time.monotonic()
        try:
            ok, observed = fn(tmp)
        except Exception as e:  # a broken scenario is a failure, never a pass
            ok, observed = False, "scenario raised %r" % (e,)
        secs = time.monotonic() - t0
        for p in PROCS:
            p.kill()
        btr = sorted(f for f in os.listdir(tmp) if f.endswith(".btr"))
        if btr:  # backtraces of crashed ranks: kept for whoever fixes them
            keep = os.path.join(BUILD, "faults-crashes")
            os.makedirs(keep, exist_ok=True)
            for f in btr:
                with open(os.path.join(tmp, f)) as src, open(os.path.join(keep, "%s-%s" % (name, f)), "w") as dst:
                    dst.write(src.read())
            observed += "; backtraces in %s/%s-*.btr" % (keep, name)
        CWD[0] = None
    procs = list(PROCS)
    for p in procs:  # nothing outlives its scenario
        p.kill()
    crashes = sorted(set("%s (pid %s)" % (signal.Signals(int(m.group(2))).name, m.group(1)) for p in procs
                         for m in (CRASH_RE.search(line) for line in p.lines()) if m))
    if crashes:
        ok = False
        observed += "; crashed: %s" % ", ".join(crashes)
    san = [line for p in procs for line in p.lines() if SANITIZER_RE.search(line)]
    if san:
        ok = False
        observed += "; sanitizer: %s (%d report lines)" % (san[0].strip()[:200], len(san))
    left = leftovers(before, [p.pid for p in procs])
    if left:
        ok = False if ok is not None else ok
        observed += "; left in /dev/shm: %s" % " ".join(left)
    return ok, observed, secs


OPTIONS = ("--quick", "--list", "--repeat", "--no-known", "--exclude")


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    bad = [a for a in argv if a.startswith("-") and a not in OPTIONS]
    if bad:  # never fall through to the full campaign on a typo
        print("faults: unknown option %s (options: %s)" % (" ".join(bad), " ".join(OPTIONS)))
        return 2
    repeat = 1
    if "--repeat" in argv:
        i = argv.index("--repeat")
        repeat = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if "--list" in argv:
        for name, trusted, q, known, _ in selected([a for a in argv if a != "--list"] or ["*"]):
            print("%-34s %s%s%s" % (name, trusted, "" if q and not known else " (full run only)",
                                    " [known defect: %s]" % known if known else ""))
        return 0
    for prog in (RANK_PROG, CLIENT_PROG, SOAK_PROG):
        if not os.access(prog, os.X_OK):
            print("faults: %s is not built" % prog)
            return 77
    ran = failed = skipped = 0
    known_failing, known_passing, unexpected = [], [], []
    for name, trusted, q, known, fn in selected(argv):
        passes = 0
        runs = 0
        for rep in range(repeat):
            ok, observed, secs = run_one(name, fn)
            tag = "SKIP" if ok is None else "PASS" if ok else "FAIL"
            if known and not ok and ok is not None:
                tag += " (known defect: %s)" % known
            label = name if repeat == 1 else "%s #%d" % (name, rep + 1)
            print("%s | trusted: %s | observed: %s (%.1f s) | %s" % (label, trusted, observed, secs, tag), flush=True)
            if ok is None:
                break
            runs += 1
            passes += bool(ok)
        if runs == 0:
            skipped += 1
            continue
        ran += 1
        if repeat > 1:
            print("%s | %d of %d repetitions passed | %s" % (name, passes, runs, "PASS" if passes == runs else "FAIL"),
                  flush=True)
        if passes != runs:
            failed += 1
            (known_failing if known else unexpected).append(name)
        elif known:
            known_passing.append("%s (%s)" % (name, known))
    print("faults: %d scenarios, %d passed, %d failed, %d skipped" % (ran, ran - failed, failed, skipped))
    if known_failing:
        print("faults: failing, known defects (issue 22): %s" % " ".join(known_failing))
    if unexpected:
        print("faults: failing, not marked as known: %s" % " ".join(unexpected))
    if known_passing:
        print("faults: marked known_defect but PASS now (remove the mark): %s" % " ".join(known_passing))
    if ran == 0:
        return 77
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
