#!/usr/bin/python3
"""mutate.py - mutation testing (make mutate).

Copies the source tree (git's tracked and unignored files) into a temporary
directory, builds it once, runs the fast tests on it (they must pass), then
for every mutant of tests/mutate/mutants.txt: applies the one-line change,
rebuilds (only what depends on the file), runs the fast tests until one
fails (the mutant is killed) or all pass (it survived), and restores the
file. Prints each verdict, the score and the survivors with what they
break; tests/mutate/expected.txt lists the survivors that cannot be observed
and why (they are reported, not counted against the score).

  mutate.py [--src DIR] [--only 3,7-9] [--list] [--keep] [--jobs N]
            [--log FILE]

Exit 0 when every mutant outside expected.txt is killed, 1 otherwise, 2 when
the unmutated tree fails its own fast tests.

The fast tests (FAST below) take about a minute on an idle 2-core machine:
the unit tests of the reduction kernels, plans, tuner, argument checks and
the bootstrap's peer handling,
the pairwise matrix at 2 and 3 ranks for every algorithm variant over shm,
over libfabric (rma and tagged protocols), across two simulated nodes (hier,
rd), and the group / in-place send-receive test."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name, command (run in the build dir, env top_srcdir / top_builddir set), timeout s
MATRIX = "sh {src}/tests/run_mpi.sh"
FAST = [
    ("test_reduce", "tests/device/test_reduce", 120),
    ("test_plans", "tests/collectives/test_plans", 120),
    ("test_tuning", "tests/collectives/test_tuning", 60),
    ("test_api_args", "tests/comm/test_api_args", 60),
    ("test_id", "tests/bootstrap/test_id", 60),
    ("test_bootstrap_peer", "tests/bootstrap/test_bootstrap_peer", 60),
    ("coll default", MATRIX + " '2 3' tests/collectives/mpi_coll", 240),
    ("coll ring", "ACCL_ALGO=ring ACCL_PROTO=Simple " + MATRIX + " '3' tests/collectives/mpi_coll", 240),
    ("coll tree", "ACCL_ALGO=tree ACCL_PROTO=Simple " + MATRIX + " '3' tests/collectives/mpi_coll", 240),
    ("coll direct", "ACCL_ALGO=direct ACCL_PROTO=Simple " + MATRIX + " '3' tests/collectives/mpi_coll", 240),
    ("coll LL", "ACCL_ALGO=direct ACCL_PROTO=LL " + MATRIX + " '2 3' tests/collectives/mpi_coll", 240),
    ("coll 2 nodes hier", "TOPO_TEST_PPN=2 ACCL_ALGO=hier " + MATRIX
     + " '4' {src}/tests/topology/hostid_wrap.sh tests/collectives/mpi_coll", 240),
    ("coll 3 nodes rd", "TOPO_TEST_PPN=1 ACCL_ALGO=rd " + MATRIX
     + " '3' {src}/tests/topology/hostid_wrap.sh tests/collectives/mpi_coll", 240),
    ("coll ofi rma", "ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER='tcp;ofi_rxm' " + MATRIX
     + " '3' tests/collectives/mpi_coll", 240),
    ("coll ofi tagged", "ACCL_TRANSPORT=ofi ACCL_OFI_PROVIDER='tcp;ofi_rxm' ACCL_OFI_PROTOCOL=tagged "
     "ACCL_OFI_NRAILS=2 " + MATRIX + " '3' tests/collectives/mpi_coll", 240),
    ("p2p overlap", MATRIX + " '2 3' tests/collectives/mpi_p2p_overlap", 240),
    ("bootstrap attack", MATRIX + " '3' tests/bootstrap/mpi_bootstrap_attack", 240),
]
TARGETS = ["libacc-ccl.la", "tests/device/test_reduce", "tests/collectives/test_plans",
           "tests/collectives/test_tuning", "tests/comm/test_api_args", "tests/bootstrap/test_id", "tests/bootstrap/test_bootstrap_peer",
           "tests/collectives/mpi_coll", "tests/collectives/mpi_p2p_overlap",
           "tests/bootstrap/mpi_bootstrap_attack"]


def log(msg, fh):
    print(msg, flush=True)
    if fh:
        fh.write(msg + "\n")
        fh.flush()


def parse_mutants(path):
    out = []
    for line in open(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        f = [x.strip() for x in line.rstrip("\n").split("|||")]
        if len(f) != 5:
            sys.exit("mutants.txt: bad line: " + line)
        out.append({"file": f[0], "old": f[1], "new": f[2], "occ": int(f[3]), "what": f[4]})
    return out


def parse_expected(path):
    exp = {}
    if os.path.exists(path):
        for line in open(path):
            if line.strip() and not line.startswith("#"):
                num, _, why = line.partition(" ")
                exp[int(num)] = why.strip()
    return exp


def select(spec, n):
    if not spec:
        return list(range(1, n + 1))
    picked = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        picked += list(range(int(a), int(b or a) + 1))
    return [k for k in picked if 1 <= k <= n]


def apply(text, m):
    """The mutated text, or None when the mutant is stale."""
    pos = -1
    for _ in range(m["occ"]):
        pos = text.find(m["old"], pos + 1)
        if pos < 0:
            return None
    return text[:pos] + m["new"] + text[pos + len(m["old"]):]


def sh(cmd, cwd, timeout, env=None, quiet=True):
    try:
        r = subprocess.run(cmd, shell=True, cwd=cwd, env=env, timeout=timeout, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, start_new_session=True)
        return r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or b"").decode(errors="replace") + "\n(timed out)"


def build(bdir, jobs):
    return sh("nice make -j%d %s" % (jobs, " ".join(TARGETS)), bdir, 3600)


def run_fast(src, bdir):
    """(name of the first failing test, its output tail), or (None, '') when all pass."""
    env = dict(os.environ, top_srcdir=src, top_builddir=bdir, ACCL_TIMEOUT="30", ACCL_TEST_TIMEOUT="200", ACCL_TEST_BIG="0",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    for name, cmd, tmo in FAST:
        rc, out = sh("nice sh -c " + shquote(cmd.format(src=src)), bdir, tmo, env)
        if rc != 0 and rc != 77:
            return name, out[-1500:]
    return None, ""


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--log", default="")
    a = ap.parse_args()
    mutants = parse_mutants(os.path.join(HERE, "mutants.txt"))
    expected = parse_expected(os.path.join(HERE, "expected.txt"))
    if a.list:
        for k, m in enumerate(mutants, 1):
            print("%2d %-36s %s" % (k, m["file"], m["what"]))
        return 0
    fh = open(a.log, "w") if a.log else None
    src = os.path.abspath(a.src)
    tmp = tempfile.mkdtemp(prefix="acc-ccl-mutate.")
    tree, bdir = os.path.join(tmp, "src"), os.path.join(tmp, "src", "_build")
    rc, files = sh("git ls-files -co --exclude-standard -z", src, 120)
    if rc != 0:
        sys.exit("mutate: git ls-files failed in " + src)
    for f in files.split("\0"):
        if not f or not os.path.isfile(os.path.join(src, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(tree, f)), exist_ok=True)
        shutil.copy2(os.path.join(src, f), os.path.join(tree, f))
    log("mutate: %d mutants, tree %s" % (len(mutants), tree), fh)
    t0 = time.time()
    rc, out = sh("autoreconf -fi && mkdir -p _build && cd _build && nice ../configure --enable-torch=no --disable-fuzz",
                 tree, 1800)
    if rc == 0:
        rc, out = build(bdir, a.jobs)
    if rc != 0:
        log("mutate: the unmutated tree does not build:\n" + out[-3000:], fh)
        return 2
    log("mutate: built in %.0f s" % (time.time() - t0), fh)
    t0 = time.time()
    failed, out = run_fast(tree, bdir)
    if failed:
        log("mutate: the unmutated tree fails %s:\n%s" % (failed, out), fh)
        return 2
    log("mutate: fast tests pass unmutated in %.0f s" % (time.time() - t0), fh)
    killed, survived, stale, stillborn = [], [], [], []
    for k in select(a.only, len(mutants)):
        m = mutants[k - 1]
        path = os.path.join(tree, m["file"])
        orig = open(path).read()
        text = apply(orig, m)
        if text is None:
            stale.append(k)
            log("%2d STALE     %s: text not found (%s)" % (k, m["file"], m["what"]), fh)
            continue
        t0 = time.time()
        open(path, "w").write(text)
        try:
            rc, out = build(bdir, a.jobs)
            if rc != 0:
                stillborn.append(k)
                log("%2d STILLBORN %s: does not build (%s)" % (k, m["file"], m["what"]), fh)
                continue
            failed, out = run_fast(tree, bdir)
        finally:
            open(path, "w").write(orig)
            os.utime(path)  # newer than the objects built from the mutant
        if failed:
            killed.append(k)
            log("%2d killed    by %-18s %s: %s (%.0f s)" % (k, failed, m["file"], m["what"], time.time() - t0), fh)
        else:
            survived.append(k)
            note = ("  [expected: %s]" % expected[k]) if k in expected else ""
            log("%2d SURVIVED  %s: %s (%.0f s)%s" % (k, m["file"], m["what"], time.time() - t0, note), fh)
    counted = len(killed) + len([k for k in survived if k not in expected])
    log("mutate: score %d/%d killed (%d survivors listed as unobservable in expected.txt, %d stale, %d stillborn)"
        % (len(killed), counted, len([k for k in survived if k in expected]), len(stale), len(stillborn)), fh)
    for k in survived:
        m = mutants[k - 1]
        log("  survivor %2d %s: %s%s" % (k, m["file"], m["what"],
                                          (" - " + expected[k]) if k in expected else " - NOT KILLED"), fh)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        log("mutate: tree kept in " + tmp, fh)
    return 1 if any(k not in expected for k in survived) or stale else 0


if __name__ == "__main__":
    sys.exit(main())
