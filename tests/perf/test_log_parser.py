#!/usr/bin/python3
"""test_log_parser.py - the nccl-tests log parser (perf/nccl_log.py) reads our
output unchanged, and what it reads is consistent: the columns line up under
the header as in nccl-tests, sizes and counts follow nccl-tests' rules, busbw
is algbw times the collective's factor, nothing is wrong, and the footer's
average is the mean of the rows.

Reads tests/perf/sample_allreduce.log (a captured run) and fresh runs of
perf/mpi_ref at np 2 (the same driver and printing code as the acc-ccl tools).
Exit 0 on success, 1 with a message on the first failed check."""

import os
import subprocess
import sys

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
sys.path.insert(0, os.path.join(SRC, "perf"))
import nccl_log  # noqa: E402

FACTORS = {"allreduce": lambda n: 2.0 * (n - 1) / n, "allgather": lambda n: (n - 1) / n,
           "reduce_scatter": lambda n: (n - 1) / n, "alltoall": lambda n: (n - 1) / n,
           "broadcast": lambda n: 1.0, "reduce": lambda n: 1.0, "sendrecv": lambda n: 1.0}
HEADER_LABELS = ["size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong",
                 "time", "algbw", "busbw", "#wrong"]
failures = 0


def check(cond, what):
    global failures
    if not cond:
        print("FAIL:", what)
        failures += 1


def right_edges(line, tokens):
    """End column of each token, scanning left to right."""
    edges, pos = [], 0
    for tok in tokens:
        pos = line.index(tok, pos) + len(tok)
        edges.append(pos)
    return edges


def check_columns(text, name):
    """Every data row's fields end where the header's labels end (right-aligned)."""
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("#") and " size " in ln and "#wrong" in ln]
    check(len(header) >= 1, f"{name}: column header line present")
    if not header:
        return
    want = right_edges(header[0], HEADER_LABELS)
    rows = [ln for ln in lines if ln and not ln.startswith("#") and len(ln.split()) == 13]
    check(len(rows) > 0, f"{name}: data rows present")
    for ln in rows:
        got = right_edges(ln, ln.split())
        check(got == want, f"{name}: row columns {got} != header columns {want}: {ln!r}")


def expected_counts(coll, size, tsize, n):
    """(size column, count column) for a swept byte size, as nccl-tests computes them."""
    count = size // tsize
    if coll in ("allgather", "reduce_scatter", "alltoall"):
        align = max(16 // tsize, 1)
        block = (count // n) // align * align
        return block * n * tsize, block
    return count * tsize, count


def check_run(parsed, coll, n, sizes, name):
    rows = parsed["rows"]
    check([r["size"] for r in rows] == [expected_counts(coll, s, 4, n)[0] for s in sizes],
          f"{name}: size column {[r['size'] for r in rows]}")
    check([r["count"] for r in rows] == [expected_counts(coll, s, 4, n)[1] for s in sizes],
          f"{name}: count column {[r['count'] for r in rows]}")
    busbws = []
    for r in rows:
        check(r["type"] == "float", f"{name}: type {r['type']}")
        check(r["redop"] == ("sum" if coll in ("allreduce", "reduce_scatter", "reduce") else "none"),
              f"{name}: redop {r['redop']}")
        check(r["root"] == (0 if coll in ("broadcast", "reduce") else -1), f"{name}: root {r['root']}")
        for place in ("oop", "ip"):
            p = r[place]
            check(p["wrong"] == 0, f"{name}: {place} #wrong {p['wrong']} at size {r['size']}")
            check(p["time"] > 0, f"{name}: {place} time {p['time']}")
            # Both columns are rounded to 2 decimals.
            check(abs(p["busbw"] - p["algbw"] * FACTORS[coll](n)) <= 0.011 * (1 + FACTORS[coll](n)),
                  f"{name}: busbw {p['busbw']} != algbw {p['algbw']} x factor")
            busbws.append(p["busbw"])
    check(parsed["out_of_bounds"] == 0, f"{name}: out of bounds {parsed['out_of_bounds']}")
    avg = sum(busbws) / len(busbws) if busbws else 0
    check(parsed["avg_busbw"] is not None and abs(parsed["avg_busbw"] - avg) <= 0.006,
          f"{name}: avg busbw {parsed['avg_busbw']} != mean of rows {avg}")
    check(len(parsed["ranks"]) == n, f"{name}: {len(parsed['ranks'])} rank lines")
    check(sorted(r["rank"] for r in parsed["ranks"]) == list(range(n)), f"{name}: rank numbers")


def sweep(lo, hi, factor):
    out, s = [], lo
    while s <= hi:
        out.append(s)
        s *= factor
    return out


def main():
    # 1. A captured log, as it was printed.
    with open(os.path.join(SRC, "tests", "perf", "sample_allreduce.log")) as f:
        sample = f.read()
    parsed = nccl_log.parse(sample)
    p = parsed["params"]
    check(p.get("minBytes") == 8 and p.get("maxBytes") == 1048576 and p.get("iters") == 20,
          f"sample: header parameters {p}")
    check_columns(sample, "sample")
    check_run(parsed, "allreduce", 2, sweep(8, 1048576, 4), "sample")

    # 2. Fresh runs of the same driver through MPI.
    mpirun = os.environ.get("MPIRUN") or "mpirun"
    prog = os.path.join(BUILD, "perf", "mpi_ref")
    for coll in ("allreduce", "allgather", "reduce_scatter", "broadcast", "alltoall"):
        cmd = [mpirun, "--oversubscribe", "--bind-to", "none", "-np", "2", prog, "-C", coll,
               "-b", "64", "-e", "256K", "-f", "16", "-n", "2", "-w", "1", "-c", "1"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        check(res.returncode == 0, f"{coll}: {' '.join(cmd)} exited {res.returncode}: {res.stderr[-2000:]}")
        check_columns(res.stdout, coll)
        run = nccl_log.parse(res.stdout)
        check(run["params"].get("iters") == 2 and run["params"].get("warmup iters") == 1,
              f"{coll}: header parameters {run['params']}")
        check_run(run, coll, 2, sweep(64, 256 << 10, 16), coll)

    # 3. The parser itself: N/A columns and the pre-2022 layout without root.
    old = nccl_log.parse("           8             2   float     sum    10.5    0.00    0.00  5e-07"
                         "    10.4    0.00    0.00  N/A\n")
    check(len(old["rows"]) == 1 and old["rows"][0]["root"] == -1 and old["rows"][0]["ip"]["wrong"] is None,
          f"parser: old layout {old}")

    print("test_log_parser:", "FAIL" if failures else "PASS", f"({failures} failed checks)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
