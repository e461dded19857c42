#!/usr/bin/python3
"""test_flags.py - every nccl-tests 2.19 flag is accepted with its meaning,
and usage errors exit as nccl-tests' do.

Each case runs a perf program on tiny sizes and checks what the flag must
change: the header, the rows (read by perf/nccl_log.py), the values (#wrong
0), the exit status. Features acc-ccl or its runtime lacks behave as
nccl-tests behaves when its NCCL or CUDA lacks them (a line, then ignored:
-G -R -x -M; refused with status 255: -D -V).

Exit 0 on success, 1 with a message per failed check."""

import os
import re
import signal
import subprocess
import sys
import time

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
sys.path.insert(0, os.path.join(SRC, "perf"))
import nccl_log  # noqa: E402
from checks import check, verdict  # noqa: E402  (tests/perf, beside this file)

MPIRUN = os.environ.get("MPIRUN") or "mpirun"
SMALL = ["-b", "8", "-e", "1K", "-f", "4", "-n", "2", "-w", "1"]
LONG_OPTIONS = ["nthreads", "ngpus", "minbytes", "maxbytes", "stepbytes", "stepfactor", "iters", "agg_iters",
                "warmup_iters", "run_cycles", "parallel_init", "check", "op", "datatype", "root", "blocking",
                "stream_null", "timeout", "cudagraph", "report_cputime", "report_timestamps", "output_file",
                "average", "local_register", "cta_policy", "device_implementation", "device_cta_count", "memory",
                "unalign", "per_iter_timing", "per_iter_skip", "help"]


def prog(name):
    return os.path.join(BUILD, "perf", name)


def run(args, np=None, env=None, rc=0, what=None):
    """Runs args (under mpirun when np is given); checks the exit status."""
    cmd = ([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", str(np)] if np else []) + args
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, **(env or {})))
    check(res.returncode == rc, f"{what or ' '.join(args)}: exit {res.returncode}, expected {rc}\n"
                                f"{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res.stdout, res.stderr


def rows_ok(parsed, what, na_in_place=False, na=False):
    rows = parsed["rows"]
    check(len(rows) > 0, f"{what}: no rows")
    for r in rows:
        for place in ("oop", "ip"):
            want_na = na or (na_in_place and place == "ip")
            got = r[place]["wrong"]
            check(got is None if want_na else got == 0, f"{what}: {place} #wrong {got} at {r['size']} {r['type']}")
    check(parsed["out_of_bounds"] == 0, f"{what}: out of bounds {parsed['out_of_bounds']}")


def usage_and_errors():
    out, _ = run([prog("all_reduce_perf"), "-h"])
    check(out.startswith("USAGE: all_reduce_perf"), f"-h: usage {out[:80]!r}")
    for opt in LONG_OPTIONS:
        check(re.search(rf"--{opt}[ \]]", out), f"-h: --{opt} missing from the usage")
    out, err = run([prog("all_reduce_perf"), "-q"], what="unknown option")
    check("USAGE:" in out and "invalid option" in err, "unknown option: usage and getopt's message")
    out, _ = run([prog("all_reduce_perf"), "-b"], what="missing value")
    check("USAGE:" in out, "missing value: usage")
    run([prog("all_reduce_perf"), "-b", "1X"], rc=255, what="-b 1X")
    run([prog("all_reduce_perf"), "-b", "2M", "-e", "1M"], rc=255, what="-b > -e")
    for flag in (["-D", "1"], ["-V", "4"]):
        _, err = run([prog("all_reduce_perf")] + SMALL + flag, rc=255, what=" ".join(flag))
        check(flag[0] in err, f"{flag}: message {err!r}")
    for flag in (["-a", "4"], ["-z", "4"], ["-t", "0"], ["-g", "0"], ["-u", "-1"]):
        run([prog("all_reduce_perf")] + SMALL + flag, rc=255, what=" ".join(flag))


def ignored_features():
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-G", "2", "-R", "1", "-x", "1", "-M", "1"])
    for flag in ("-G", "-R", "-x", "-M"):
        check(re.search(rf"^Option {flag} .*Ignoring$", out, re.M), f"{flag}: no 'Ignoring' line")
    p = nccl_log.parse(out)
    check(p["params"].get("graph") == 0, f"-G: header graph {p['params']}")
    rows_ok(p, "-G -R -x -M")


def names_and_values():
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-d", "fp16", "-o", "bogus"])
    p = nccl_log.parse(out)
    check("fp16" in out and "bogus" in out, "-d/-o unknown names: message")
    check(all(r["type"] == "float" and r["redop"] == "sum" for r in p["rows"]),
          "-d/-o unknown names fall back to float / sum, as nccl-tests")
    out, _ = run([prog("reduce_scatter_perf"), "-b", "256", "-e", "256", "-n", "1", "-o", "all", "-d", "all"], np=2)
    p = nccl_log.parse(out)
    combos = {(r["type"], r["redop"]) for r in p["rows"]}
    check(len(combos) == 60 and ("bfloat16", "mulsum") in combos, f"-o all -d all: {len(combos)} combinations")
    rows_ok(p, "-o all -d all")
    out, _ = run([prog("sendrecv_perf"), "-b", "64", "-e", "64", "-n", "1", "-o", "all"], np=2)
    p = nccl_log.parse(out)
    check([r["redop"] for r in p["rows"]] == ["sum", "prod", "max", "min", "avg", "mulsum"],
          f"sendrecv -o all: labels {[r['redop'] for r in p['rows']]}")
    rows_ok(p, "sendrecv -o all", na_in_place=True)
    out, _ = run([prog("all_gather_perf"), "-b", "1K", "-e", "4K", "-i", "1K", "-n", "1", "-u", "1", "-d", "all"],
                 np=2)
    p = nccl_log.parse(out)
    check(p["params"].get("unalign") == 1 and p["params"].get("step_kind") == "bytes", f"-u -i: {p['params']}")
    check(sorted({r["size"] for r in p["rows"]}) == [1024, 2048, 3072, 4096], "-i 1K: sizes")
    rows_ok(p, "-u 1 -d all")


def layout():
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-t", "2"], np=2)
    p = nccl_log.parse(out)
    check(p["params"].get("nThread") == 2 and [r["rank"] for r in p["ranks"]] == [0, 1, 2, 3],
          f"-t 2: {p['params']} {p['ranks']}")
    check(len({r["pid"] for r in p["ranks"]}) == 2, "-t 2: two processes, two ranks each")
    rows_ok(p, "-t 2")
    out, _ = run([prog("all_gather_perf")] + SMALL + ["-g", "2"], np=2)
    p = nccl_log.parse(out)
    check(p["params"].get("nGpus") == 2 and [r["device"] for r in p["ranks"]] == [0, 1, 2, 3],
          f"-g 2: devices {p['ranks']}")
    rows_ok(p, "-g 2")
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-t", "2", "-g", "2", "-p", "1"])
    p = nccl_log.parse(out)
    check("# Parallel Init Enabled" in out and len(p["ranks"]) == 4, "-t 2 -g 2 -p 1: header, 4 ranks")
    rows_ok(p, "-t 2 -g 2 -p 1")
    out, _ = run([prog("broadcast_perf")] + SMALL + ["-y", "1", "-t", "2"], np=1)
    rows_ok(nccl_log.parse(out), "-y 1 -t 2")
    _, err = run([prog("broadcast_perf")] + SMALL + ["-y", "1", "-g", "2"], rc=6, what="-y 1 -g 2")
    check("-y 1 with -g" in err, "-y 1 -g 2: refused with a reason (acc-ccl limitation)")
    # nccl-tests' memory rule: 2200 MiB devices keep 2 GiB, the rest is shared by the buffers.
    out, _ = run([prog("all_reduce_perf"), "-b", "1G", "-e", "1G", "-n", "1", "-w", "0", "-c", "0"],
                 env={"ACCL_SIM_MEM": "2200M"})
    limit = ((2200 << 20) - (2 << 30)) // 2
    check(f"# Reducing maxBytes to {limit} due to memory limitation" in out and
          [r["size"] for r in nccl_log.parse(out)["rows"]] == [limit // 4 * 4], f"memory limit: {out[-600:]}")
    out, err = run([prog("all_reduce_perf")] + SMALL + ["-g", "3"], env={"ACCL_SIM_DEVICES": "2"}, rc=5,
                   what="more devices than present")
    check("# Using devices" in out and "only 2 found" in err, f"-g 3 on 2 devices: {err!r}")


def timing_modes():
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-N", "3", "-m", "3", "-a", "2"], np=2)
    p = nccl_log.parse(out)
    sizes = [8, 32, 128, 512]
    check([r["size"] for r in p["rows"]] == sizes * 3 and p["params"].get("agg iters") == 3, "-N 3 -m 3: rows")
    rows_ok(p, "-N 3")
    for z, line in (("1", "wait and barrier after each inner"), ("2", "no barrier"), ("3", "time excludes barrier")):
        out, _ = run([prog("reduce_perf")] + SMALL + ["-z", z, "-a", z], np=2)
        check(f"# Blocking Enabled: " in out and line in out, f"-z {z}: header line")
        rows_ok(nccl_log.parse(out), f"-z {z}")
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-C", "1", "-T", "60", "-a", "0"], np=2)
    p = nccl_log.parse(out)
    check(p["columns"].count("cputime") == 2, f"-C 1: columns {p['columns']}")
    rows_ok(p, "-C 1 -T 60")
    out, _ = run([prog("scatter_perf"), "-b", "8", "-e", "1K", "-f", "4", "-n", "5", "-I", "1", "-K", "2", "-S", "1"],
                 np=2)
    p = nccl_log.parse(out)
    check("summary skips first 2 iterations" in out and "i_p99" in p["columns"] and "timestamp" in p["columns"],
          f"-I 1 -K 2 -S 1: header {p['columns']}")
    check(all("iter" in r["oop"] and "timestamp" in r for r in p["rows"]), "-I -S: per-row columns")
    for r in p["rows"]:
        it = r["oop"]["iter"]
        check(it["min"] <= it["p99"] <= it["max"] and it["cv"] >= 0, f"-I: statistics {it}")
    rows_ok(p, "-I 1")
    _, err = run([prog("all_reduce_perf")] + SMALL + ["-I", "2", "-K", "5"])
    check("-I" in err and "-K" in err, f"-I 2 -K 5: corrections reported {err!r}")
    out, _ = run([prog("all_reduce_perf")] + SMALL + ["-c", "0"], np=2)
    rows_ok(nccl_log.parse(out), "-c 0", na=True)
    out, _ = run([prog("all_reduce_perf"), "-b", "0", "-e", "1K", "-f", "2", "-n", "1"])
    check(len(nccl_log.parse(out)["rows"]) == 1, "-b 0 -f 2: one row, then the sweep stops")


def timeout_fires():
    """-T: a rank that stops answering makes the others abort after -T seconds
    (status 4 and nccl-tests' "Test timeout" line), instead of waiting forever."""
    cmd = [MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", prog("all_reduce_perf"), "-b", "64K",
           "-e", "64K", "-n", "1000000", "-w", "1", "-c", "0", "-z", "2", "-T", "3"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, victim, start = [], None, time.time()
    try:
        for line in proc.stdout:
            out.append(line)
            m = re.match(r"^#  Rank\s+1 Group\s+\d+ Pid\s+(\d+)", line)
            if m:
                victim = int(m.group(1))
            if line.startswith("#        (B)") and victim:
                time.sleep(1)  # inside the timed loop now
                os.kill(victim, signal.SIGSTOP)
                break
        rest, _ = proc.communicate(timeout=120)
        out.append(rest)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        check(False, "-T 3: the job did not end within 120 s of a rank stopping")
        return
    finally:
        if victim:
            try:
                os.kill(victim, signal.SIGCONT)
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
    text = "".join(out)
    check(victim is not None, "-T: rank 1's pid not found")
    # As in nccl-tests the line may follow the row's first columns.
    check(re.search(r"\S+: Test timeout \(3s\) common\.c:\d+$", text, re.M), f"-T 3: no timeout line\n{text[-1500:]}")
    check(proc.returncode == 4, f"-T 3: exit {proc.returncode}, expected 4")
    check(time.time() - start < 100, "-T 3: took too long")


def roots_and_counts():
    for coll in ("broadcast", "gather", "scatter"):
        for root in ("-1", "all"):
            out, _ = run([prog(f"{coll}_perf"), "-b", "96", "-e", "96", "-n", "1", "-r", root], np=3)
            p = nccl_log.parse(out)
            check([r["root"] for r in p["rows"]] == [0, 1, 2], f"{coll} -r {root}: roots {p['rows']}")
            rows_ok(p, f"{coll} -r {root}")
    run([prog("reduce_perf")] + SMALL + ["-r", "2"], np=2, rc=6, what="reduce -r 2 on 2 ranks")
    out, _ = run([prog("hypercube_perf")] + SMALL, np=3)
    check("nRanks 3 is not a power of 2, skipping" in out and not nccl_log.parse(out)["rows"],
          "hypercube on 3 ranks: skipped")
    out, _ = run([prog("hypercube_perf")] + SMALL + ["-g", "2"], np=2)
    rows_ok(nccl_log.parse(out), "hypercube on 4 ranks")


def long_options_and_min_bw():
    args = ["--nthreads", "1", "--ngpus", "2", "--minbytes", "8", "--maxbytes", "64", "--stepfactor", "2",
            "--iters", "2", "--warmup_iters", "0", "--agg_iters", "2", "--run_cycles", "1", "--parallel_init", "0",
            "--check", "1", "--op", "max", "--datatype", "int32", "--root", "0", "--blocking", "0",
            "--stream_null", "0", "--timeout", "0", "--report_cputime", "0", "--report_timestamps", "0",
            "--average", "1", "--unalign", "2", "--per_iter_timing", "0", "--per_iter_skip", "0"]
    out, _ = run([prog("all_reduce_perf")] + args)
    p = nccl_log.parse(out)
    pm = p["params"]
    check((pm.get("nGpus"), pm.get("minBytes"), pm.get("maxBytes"), pm.get("step"), pm.get("warmup iters"),
           pm.get("agg iters"), pm.get("unalign")) == (2, 8, 64, 2, 0, 2, 2), f"long options: {pm}")
    check(all(r["type"] == "int32" and r["redop"] == "max" for r in p["rows"]), "long options: -d/-o")
    rows_ok(p, "long options")
    out, _ = run([prog("all_reduce_perf")] + SMALL, env={"ACCL_TESTS_MIN_BW": "1e9"}, rc=7, what="min bw")
    check(re.search(r"^# Avg bus bandwidth\s+: \S+ FAILED$", out, re.M), "ACCL_TESTS_MIN_BW: FAILED")
    out, _ = run([prog("all_reduce_perf")] + SMALL, env={"ACCL_TESTS_MIN_BW": "0"})
    check(re.search(r"^# Avg bus bandwidth\s+: \S+ OK$", out, re.M), "ACCL_TESTS_MIN_BW=0: OK")


def main():
    for group in (usage_and_errors, ignored_features, names_and_values, layout, timing_modes, timeout_fires,
                  roots_and_counts, long_options_and_min_bw):
        group()
    return verdict("test_flags")


if __name__ == "__main__":
    sys.exit(main())
