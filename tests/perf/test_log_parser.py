#!/usr/bin/python3
"""test_log_parser.py - our output is nccl-tests 2.19.6's, byte for byte
apart from the library's and the device's names.

A real nccl-tests 2.19.6 log from another system (tests/perf/
nccl_tests_2.19.6.log, source in nccl_tests_2.19.6.log.source) and fresh runs
of our tools are read with the same parser (perf/nccl_log.py). Then every
line of both is printed again from the parsed values with one formatter,
written from nccl-tests' format (widths, the 2/1/0-decimal number rule, the
padded root, the #wrong and N/A columns): each must come out identical to
the line it was read from. The column header lines carry no values and must
equal the real log's. The values must also be consistent: counts follow
nccl-tests' rules, busbw is algbw times the collective's factor, #wrong 0,
the footer's average is the mean of the rows.

Exit 0 on success, 1 with a message per failed check."""

import os
import subprocess
import sys

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
sys.path.insert(0, os.path.join(SRC, "perf"))
import nccl_log  # noqa: E402
from checks import check, verdict  # noqa: E402  (tests/perf, beside this file)

REAL_LOG = os.path.join(SRC, "tests", "perf", "nccl_tests_2.19.6.log")
MPIRUN = os.environ.get("MPIRUN") or "mpirun"
FACTORS = {"all_reduce": lambda n: 2.0 * (n - 1) / n, "all_gather": lambda n: (n - 1) / n,
           "reduce_scatter": lambda n: (n - 1) / n, "alltoall": lambda n: (n - 1) / n,
           "gather": lambda n: (n - 1) / n, "scatter": lambda n: (n - 1) / n,
           "broadcast": lambda n: 1.0, "reduce": lambda n: 1.0, "sendrecv": lambda n: 1.0,
           "hypercube": lambda n: 1.0}
BLOCKED = ("all_gather", "reduce_scatter", "alltoall", "gather", "scatter", "hypercube")


# ---------------------------------------------------------------- the formatter

def number(value, width):
    """nccl-tests' width-limited number: 2 decimals, else 1, else 0, else exponent."""
    for decimals in (2, 1, 0):
        text = "%*.*f" % (width, decimals, value)
        if len(text) <= width:
            return text
    return ("%*.1e" if width >= 7 else "%*.0e") % (width, value)


def placement(p):
    text = "  %7s  %6s  %6s" % (number(p["time"], 7), number(p["algbw"], 6), number(p["busbw"], 6))
    text += "    N/A" if p["wrong"] is None else "  %6g" % p["wrong"]
    if "iter" in p:
        it = p["iter"]
        text += "  %7s  %7s  %7s  %7s" % (number(it["min"], 7), number(it["max"], 7), number(it["p99"], 7),
                                          number(it["cv"], 7))
    return text


def row_line(r):
    text = "%12d  %12d  %8s  %6s  %6s" % (r["size"], r["count"], r["type"], r["redop"], "%6i" % r["root"])
    text += placement(r["oop"]) + placement(r["ip"])
    if "timestamp" in r:
        text += "%21s" % r["timestamp"]
    return text


def header_lines(parsed):
    """The lines before the column header, printed again from parsed values."""
    v, p = parsed["version"], parsed["params"]
    lines = ["# %s-tests version %s %s-headers=%d %s-library=%d" % (v["tests"], v["version"], v["lib"],
                                                                   v["headers"], v["lib"], v["library"]),
             "# Collective test starting: %s" % parsed["program"],
             "# nThread %d nGpus %d minBytes %d maxBytes %d step: %d(%s) warmup iters: %d iters: %d "
             "agg iters: %d validation: %d graph: %d unalign: %d" % (
                 p["nThread"], p["nGpus"], p["minBytes"], p["maxBytes"], p["step"], p["step_kind"],
                 p["warmup iters"], p["iters"], p["agg iters"], p["validation"], p["graph"], p["unalign"])]
    return lines


def rank_line(r):
    return "#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s" % (
        r["rank"], r["group"], r["pid"], r["host"], r["device"], r["bus"], r["name"])


def footer_lines(parsed):
    oob = parsed["out_of_bounds"]
    return ["# %-20s : %d %s" % ("Out of bounds values", oob, "FAILED" if oob else "OK"),
            "# %-20s : %g " % ("Avg bus bandwidth", parsed["avg_busbw"]),
            "#",
            "# Collective test concluded: %s" % parsed["program"]]


def check_format(text, name, reference_columns=None):
    """Every line of the log, printed again from what the parser read, is the line itself."""
    parsed = nccl_log.parse(text)
    lines = text.split("\n")
    check(parsed["version"] is not None and parsed["program"], f"{name}: version and program lines")
    if parsed["version"] is None:
        return parsed
    want = header_lines(parsed)
    check(lines[:3] == want, f"{name}: header lines\n  got  {lines[:3]}\n  want {want}")
    ranks = [ln for ln in lines if ln.startswith("#  Rank ")]
    check(len(ranks) == len(parsed["ranks"]) and ranks == [rank_line(r) for r in parsed["ranks"]],
          f"{name}: device lines {ranks}")
    rows = [ln for ln in lines if ln and not ln.startswith("#") and nccl_log.parse_row(ln)]
    check(len(rows) == len(parsed["rows"]) and len(rows) > 0, f"{name}: {len(rows)} data rows")
    for ln, r in zip(rows, parsed["rows"]):
        check(row_line(r) == ln, f"{name}: row printed differently\n  got  {ln!r}\n  want {row_line(r)!r}")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# Out of bounds"))
    check(lines[start:start + 4] == footer_lines(parsed),
          f"{name}: footer {lines[start:start + 4]} != {footer_lines(parsed)}")
    if reference_columns is not None:
        cols = [ln for ln in lines if ln.startswith("#") and ("out-of-place" in ln or "(elements)" in ln
                                                               or " size " in ln)]
        check(cols == reference_columns, f"{name}: column header lines\n  got  {cols}\n  want {reference_columns}")
    return parsed


# ---------------------------------------------------------------- the values

def expected_counts(coll, size, tsize, n):
    """(size column, count column) of a swept size, by nccl-tests 2.19's rules."""
    count = size // tsize
    if coll in BLOCKED:
        block = (count // n) & ~(16 // tsize - 1)
        return block * n * tsize, block
    return count * tsize, count


def check_values(parsed, coll, n, sizes, name):
    rows = parsed["rows"]
    check([(r["size"], r["count"]) for r in rows] == [expected_counts(coll, s, 4, n) for s in sizes],
          f"{name}: size and count columns {[(r['size'], r['count']) for r in rows]}")
    redop = {"all_reduce": "sum", "reduce_scatter": "sum", "reduce": "sum", "sendrecv": "sum",
             "hypercube": ""}.get(coll, "none")
    root = 0 if coll in ("broadcast", "reduce", "gather", "scatter") else -1
    busbws = []
    for r in rows:
        check(r["type"] == "float" and r["redop"] == redop and r["root"] == root,
              f"{name}: type/redop/root {r['type']} {r['redop']!r} {r['root']}")
        for place in ("oop", "ip"):
            p = r[place]
            if place == "ip" and coll in ("alltoall", "sendrecv"):
                check(p["wrong"] is None, f"{name}: in-place #wrong should read N/A, as nccl-tests")
            else:
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
    check(sorted(r["rank"] for r in parsed["ranks"]) == list(range(n)), f"{name}: rank lines")


def sweep(lo, hi, factor):
    out, s = [], lo
    while s <= hi:
        out.append(s)
        s *= factor
    return out


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(res.returncode == 0, f"{' '.join(cmd)} exited {res.returncode}: {res.stdout[-1500:]} {res.stderr[-1500:]}")
    return res.stdout


def main():
    # 1. The real nccl-tests 2.19.6 log: the formatter reproduces it, its values are consistent.
    with open(REAL_LOG) as f:
        real = f.read()
    reference = [ln for ln in real.split("\n") if ln.startswith("#") and
                 ("out-of-place" in ln or "(elements)" in ln or " size " in ln)]
    check(len(reference) == 3, f"real log: {len(reference)} column header lines")
    parsed = check_format(real, "nccl-tests 2.19.6 log")
    check(parsed["version"]["tests"] == "nccl" and parsed["version"]["version"] == "2.19.6",
          f"real log version {parsed['version']}")
    check_values(parsed, "all_gather", 2, sweep(512 << 20, 16 << 30, 2), "nccl-tests 2.19.6 log")

    # 2. Our tools, at np 2, read by the same parser and reproduced by the same formatter.
    sizes = sweep(8, 256 << 10, 16)
    flags = ["-b", "8", "-e", "256K", "-f", "16", "-n", "2", "-w", "1", "-c", "1"]
    mpirun = [MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2"]
    for coll in FACTORS:
        out = run(mpirun + [os.path.join(BUILD, "perf", f"{coll}_perf")] + flags)
        p = check_format(out, f"{coll}_perf", reference)
        check(p["version"] and p["version"]["tests"] == "acc-ccl" and p["version"]["lib"] == "accl",
              f"{coll}_perf: version line {p['version']}")
        check(p["program"] == f"{coll}_perf", f"{coll}_perf: program {p['program']}")
        check_values(p, coll, 2, sizes, f"{coll}_perf")
    for coll in ("all_reduce", "alltoall", "hypercube"):
        out = run(mpirun + [os.path.join(BUILD, "perf", "mpi_ref"), "--coll", coll] + flags)
        p = check_format(out, f"mpi_ref --coll {coll}", reference)
        check_values(p, coll, 2, sizes, f"mpi_ref --coll {coll}")

    # 3. The parser itself: an N/A column, an empty redop, the pre-2022 layout without root.
    old = nccl_log.parse("           8             2   float     sum    10.5    0.00    0.00  5e-07"
                         "    10.4    0.00    0.00  N/A\n")
    check(len(old["rows"]) == 1 and old["rows"][0]["root"] == -1 and old["rows"][0]["ip"]["wrong"] is None,
          f"parser: old layout {old}")
    cube = nccl_log.parse("          64             8     float              -1     3.10    0.02    0.02       0"
                          "     2.90    0.02    0.02       0\n")
    check(len(cube["rows"]) == 1 and cube["rows"][0]["redop"] == "" and cube["rows"][0]["root"] == -1,
          f"parser: empty redop {cube}")

    return verdict("test_log_parser")


if __name__ == "__main__":
    sys.exit(main())
