#!/usr/bin/env python3
"""faults.py - the fault campaign: break acc-ccl the way clusters and attackers do.

Ranks are plain processes (tests/faults/fault_rank), never mpirun: a killed
rank must not take the job down. Every scenario has a bounded run time and
prints one line:

    SCENARIO | trusted: what a trusted library does | observed: ... | PASS or FAIL

  faults.py [--quick] [--list] [NAME...]

--quick runs the sample that `make check` runs; no argument runs every
scenario (`make check-faults`). The exit status is 1 when any scenario
failed, 77 when none ran. Environment: FAULTS_BUILDDIR (the build tree,
default: $top_builddir or the current directory).
"""
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("FAULTS_BUILDDIR") or os.environ.get("top_builddir") or os.getcwd()
RANK_PROG = os.path.join(BUILD, "tests/faults/fault_rank")
CLIENT_PROG = os.path.join(BUILD, "tests/faults/fault_client")

CODES = {0: "acclSuccess", 1: "acclDeviceError", 2: "acclSystemError", 3: "acclInternalError",
         4: "acclInvalidArgument", 5: "acclInvalidUsage", 6: "acclRemoteError", 7: "acclInProgress",
         8: "acclTimeout"}
SUCCESS, INVALID_ARGUMENT, INVALID_USAGE, REMOTE_ERROR, TIMEOUT = 0, 4, 5, 6, 8


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


class Proc:
    """A child process whose stdout lines we collect (merged with stderr)."""

    def __init__(self, argv, env):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.pid = self.p.pid

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
    """RESULT lines -> {phase: dict}."""
    out = {}
    for line in lines:
        if not line.startswith("RESULT "):
            continue
        head, _, err = line.partition(" err=")
        fields = dict(kv.split("=", 1) for kv in head.split()[1:])
        fields["err"] = err
        for k in ("rank", "code", "async", "wrong"):
            fields[k] = int(fields[k])
        fields["secs"] = float(fields["secs"])
        out[fields["phase"]] = fields
    return out


class Job:
    """Ranks of one communicator, started and judged together."""

    def __init__(self, tmp, base_env):
        self.tmp = tmp
        self.env = dict(base_env)
        self.ranks = {}
        self.idfile = os.path.join(tmp, "id-%s" % secrets.token_hex(4))

    def start(self, rank, nranks, op="init", nbytes=1 << 20, iters=1000000, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        argv = [RANK_PROG, str(rank), str(nranks), self.idfile, op, str(nbytes), str(iters)]
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

    def kill_all(self):
        for p in self.ranks.values():
            p.kill()


def base_env(timeout=30, boot_timeout=20):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("ACCL_") and k not in ("ACCL_SIM_ISA",):
            del env[k]
    env.update({"ACCL_TIMEOUT": str(timeout), "ACCL_BOOTSTRAP_TIMEOUT": str(boot_timeout),
                "ACCL_DEBUG": "WARN", "ACCL_SOCKET_IFNAME": "lo"})
    return env


def leftovers(before, pids):
    """/dev/shm entries that name one of our processes."""
    new = shm_entries() - before
    return sorted(n for n in new if any(str(p) in n for p in pids) or "accl" in n.lower() or "acc-ccl" in n)


def warn_lines(procs):
    return sum(1 for p in procs for line in p.lines() if " ACCL WARN " in line)


# ----------------------------------------------------------------- scenarios

SCENARIOS = []


def scenario(name, trusted, quick=True):
    def deco(fn):
        SCENARIOS.append((name, trusted, quick, fn))
        return fn
    return deco


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


def pinned_env(key=None):
    env = {"ACCL_COMM_ID": "127.0.0.1:%d" % free_port()}
    if key is not None:
        env["ACCL_COMM_SECRET"] = key
    return env


@scenario("secret-outsider", "an outsider without the shared secret is refused; the job's ranks start")
def s_outsider(tmp):
    job = Job(tmp, base_env())
    env = pinned_env(secrets.token_hex(16))
    job.env.update(env)
    job.start(0, 2)
    clients = [Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "hello", "2", "1", key], job.env)
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
    job = Job(tmp, base_env())
    job.env.update(pinned_env())
    job.env["ACCL_COMM_SECRET_REQUIRED"] = "1"
    job.start(0, 2)
    job.start(1, 2)
    res = job.finish(time.monotonic() + 20)
    ok = all(res[r][0] == 0 and res[r][1].get("init", {}).get("code") == INVALID_USAGE and
             res[r][1]["init"]["err"] and res[r][1]["init"]["secs"] < 2 for r in (0, 1))
    return ok, describe(res)


@scenario("secret-mismatch", "ranks holding different secrets fail with a message (never join each other's job)")
def s_mismatch(tmp):
    job = Job(tmp, base_env(boot_timeout=5))
    job.env.update(pinned_env())
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
        job = Job(tmp, base_env())
        job.env.update(pinned_env())
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
    job = Job(tmp, base_env())
    key = secrets.token_hex(16)
    env = pinned_env(key)
    job.env.update(env)
    job.start(0, 2)
    # a client that knows the secret: a buggy launcher or rank, the worst case
    c = Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "hello", str(2**31 - 1), "0", key], job.env)
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
    job = Job(tmp, base_env(boot_timeout=4))
    job.env.update(pinned_env(secrets.token_hex(8)))
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
    job = Job(tmp, base_env())
    env = pinned_env(secrets.token_hex(8))
    job.env.update(env)
    job.start(0, 4)
    hold = Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "hold", "1000", "8"], job.env)
    junk = [Proc([CLIENT_PROG, env["ACCL_COMM_ID"], "garbage", "65536"], job.env) for _ in range(20)]
    hold.wait_line("CLIENT", time.monotonic() + 20)
    for r in (1, 2, 3):
        job.start(r, 4)
    res = job.finish(time.monotonic() + 40)
    for p in [hold] + junk:
        p.kill()
    warns = warn_lines(job.ranks.values())
    ok = init_ok(res, [0, 1, 2, 3]) and warns < 40
    return ok, "%s; %d WARN lines" % (describe(res), warns)


# ---------------------------------------------------------------- driver

def main(argv):
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")]
    if "--list" in argv:
        for name, trusted, q, _ in SCENARIOS:
            print("%-24s %s%s" % (name, trusted, "" if q else " (full run only)"))
        return 0
    for prog in (RANK_PROG, CLIENT_PROG):
        if not os.access(prog, os.X_OK):
            print("faults: %s is not built" % prog)
            return 77
    ran = failed = 0
    for name, trusted, q, fn in SCENARIOS:
        if names and name not in names:
            continue
        if quick and not q and not names:
            continue
        before = shm_entries()
        with tempfile.TemporaryDirectory(prefix="accl-faults-") as tmp:
            t0 = time.monotonic()
            try:
                ok, observed = fn(tmp)
            except Exception as e:  # a broken scenario is a failure, never a pass
                ok, observed = False, "scenario raised %r" % (e,)
            secs = time.monotonic() - t0
        left = leftovers(before, [])
        if left:
            ok = False
            observed += "; left in /dev/shm: %s" % " ".join(left)
        ran += 1
        failed += not ok
        print("%s | trusted: %s | observed: %s (%.1f s) | %s" % (name, trusted, observed, secs,
                                                                 "PASS" if ok else "FAIL"), flush=True)
    print("faults: %d scenarios, %d passed, %d failed" % (ran, ran - failed, failed))
    if ran == 0:
        return 77
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
