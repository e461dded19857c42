#!/usr/bin/python3
"""test_json.py - -J FILE.json / --output_file writes nccl-tests' JSON
document, field for field, and it says what the text output says.

The JSON of fresh runs is read by perf/nccl_json.py, a reader written from
nccl-tests' JSON description (version 3), which checks every key and value
type; the text output of the same run is read by perf/nccl_log.py. Then
each row's JSON numbers, printed with nccl-tests' number format, must be the
text's columns, and the header, device list and footer must agree. Also:
nccl-tests' file rules (an existing file is kept and FILE.json.0, .1, ...
written instead; a name not ending in .json writes nothing), cpu_time with
-C 1, the per-iteration objects with -I 1, null for unchecked columns, and
the MPI reference's JSON.

Exit 0 on success, 1 with a message per failed check."""

import math
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
sys.path.insert(0, os.path.join(SRC, "perf"))
sys.path.insert(0, os.path.join(SRC, "tests", "perf"))
import nccl_json  # noqa: E402
import nccl_log  # noqa: E402
from checks import check, verdict  # noqa: E402  (tests/perf, beside this file)
from test_log_parser import number  # noqa: E402  (nccl-tests' number format)

MPIRUN = [os.environ.get("MPIRUN") or "mpirun", "--oversubscribe", "--bind-to", "none", "-np", "2"]


def run(cmd, env=None):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    check(res.returncode == 0, f"{' '.join(cmd)} exited {res.returncode}: {res.stdout[-1500:]} {res.stderr[-1500:]}")
    return res.stdout


def agrees(j, t, width):
    """JSON value j (6 decimals) is what the column printed as t (number(t, width))."""
    shown = number(t, width).strip()
    if "e" in shown:
        return math.isclose(j, t, rel_tol=0.06)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(j - t) <= 0.5 * 10 ** -decimals + 2e-6 + 1e-9 * abs(t)


def same_placement(j, t, where):
    for key, width in (("time", 7), ("algbw", 6), ("busbw", 6)):
        check(agrees(j[key], t[key], width), f"{where}: {key} {j[key]} vs column {t[key]}")
    check(j["wrong"] == t["wrong"], f"{where}: nwrong {j['wrong']} vs column {t['wrong']}")
    if "iter" in t:
        check("iter" in j, f"{where}: per-iteration object missing")
        if "iter" in j:
            for k in ("min", "max", "p99", "cv"):
                check(agrees(j["iter"][k], t["iter"][k], 7),
                      f"{where}: per-iteration {k} {j['iter'][k]} vs column {t['iter'][k]}")
            ts = j["iter"]["times"]
            check(len(ts) == 3 and min(ts) <= j["iter"]["avg"] * (1 + 1e-6) and
                  j["iter"]["p50"] <= j["iter"]["max"] * (1 + 1e-6), f"{where}: per-iteration times {j['iter']}")


def compare(doc, text, argv, name):
    """The JSON document says what the text says."""
    log = nccl_log.parse(text)
    p, c = log["params"], doc["config"]
    check((c["nthreads"], c["ngpus"], c["minimum_bytes"], c["maximum_bytes"], c["step"], c["step_kind"],
           c["warmup_iters"], c["iterations"], c["aggregated_iterations"], c["validation"], c["graph"]) ==
          (p["nThread"], p["nGpus"], p["minBytes"], p["maxBytes"], p["step"], p["step_kind"], p["warmup iters"],
           p["iters"], p["agg iters"], p["validation"], p["graph"]), f"{name}: config {c} vs header {p}")
    check(doc["devices"] == log["ranks"], f"{name}: devices {doc['devices']} vs {log['ranks']}")
    # argv[0] as the program saw it (libtool's wrapper runs the binary from .libs/).
    check(doc["args"][1:] == argv[1:] and os.path.basename(doc["args"][0]) == os.path.basename(argv[0]),
          f"{name}: args {doc['args']} vs {argv}")
    check("ACCL_JSON_TEST_MARKER=1" in doc["env"], f"{name}: the environment is not recorded")
    check(len(doc["rows"]) == len(log["rows"]) > 0, f"{name}: {len(doc['rows'])} JSON rows, {len(log['rows'])} rows")
    for i, (j, t) in enumerate(zip(doc["rows"], log["rows"])):
        for k in ("size", "count", "type", "redop", "root"):
            check(j[k] == t[k], f"{name}: row {i} {k} {j[k]!r} vs {t[k]!r}")
        check(j["actual_iterations"] == p["iters"] and j["experiment_name"] == "", f"{name}: row {i} trailer")
        same_placement(j["oop"], t["oop"], f"{name}: row {i} out of place")
        same_placement(j["ip"], t["ip"], f"{name}: row {i} in place")
    check(doc["out_of_bounds"] == log["out_of_bounds"] and doc["out_of_bounds_okay"] == (log["out_of_bounds"] == 0),
          f"{name}: out of bounds {doc['out_of_bounds']} vs {log['out_of_bounds']}")
    check(math.isclose(doc["avg_busbw"], log["avg_busbw"], rel_tol=1e-5, abs_tol=1e-6) and
          doc["avg_busbw_okay"] == "unchecked", f"{name}: average {doc['avg_busbw']} vs {log['avg_busbw']}")
    check(doc["nccl_version"] == (log["version"] or {}).get("library"), f"{name}: nccl_version {doc['nccl_version']}")


def run_json(tmp, prog, flags, name, env):
    path = os.path.join(tmp, name + ".json")
    argv = [os.path.join(BUILD, "perf", prog)] + flags + ["-J", path]
    text = run(MPIRUN + argv, env)
    check(f"# Writing JSON output to {path}\n" == text.split("# acc-ccl-tests")[0], f"{name}: first line")
    try:
        doc = nccl_json.load(path)
    except (OSError, ValueError) as e:
        check(False, f"{name}: {path} is not nccl-tests JSON: {e}")
        return None, text, argv
    compare(doc, text, argv, name)
    return doc, text, argv


def main():
    tmp = tempfile.mkdtemp(prefix="perf-json-")
    env = dict(os.environ, ACCL_JSON_TEST_MARKER="1")
    small = ["-b", "8", "-e", "64K", "-f", "8", "-n", "3", "-w", "1"]
    try:
        doc, _, _ = run_json(tmp, "all_reduce_perf", small + ["-I", "1"], "all_reduce", env)
        if doc:
            check(doc["config"]["per_iter_timing"] and not doc["config"]["blocking_collectives"],
                  "all_reduce: config flags")
            check(all("iter" in r["oop"] and "iter" in r["ip"] for r in doc["rows"]), "all_reduce: -I objects")
            per = doc["rows"][-1]["oop"]["iter"]["per_process"]
            check(isinstance(per, list) and len(per) == 2 and all(len(x) == 3 for x in per),
                  f"all_reduce: per-process times {per}")
        doc, _, _ = run_json(tmp, "alltoall_perf", small + ["-C", "1", "-z", "1"], "alltoall", env)
        if doc:
            check(doc["cputime"] and doc["config"]["blocking_collectives"], "alltoall: cpu_time / blocking")
            check(all(r["ip"]["wrong"] is None and r["oop"]["wrong"] == 0 for r in doc["rows"]),
                  "alltoall: in-place nwrong null, out-of-place 0")
        run_json(tmp, "broadcast_perf", small + ["-c", "0", "-f", "2", "-d", "half", "-r", "1"], "broadcast", env)
        run_json(tmp, "mpi_ref", ["--coll", "reduce"] + small + ["-o", "mulsum"], "mpi_ref", env)

        # An existing file stays; the next free FILE.N is written and named.
        path = os.path.join(tmp, "all_reduce.json")
        with open(path) as f:
            before = f.read()
        text = run(MPIRUN + [os.path.join(BUILD, "perf", "all_reduce_perf"), "-b", "8", "-e", "8", "-n", "1",
                             "--output_file", path], env)
        check(text.startswith(f"# Writing JSON output to {path}.0\n"), f"second run: {text[:200]!r}")
        with open(path) as f:
            check(f.read() == before, "second run: the first file changed")
        try:
            nccl_json.load(path + ".0")
        except (OSError, ValueError) as e:
            check(False, f"second run: {path}.0: {e}")
        # Only .json names get JSON (nccl-tests: the type comes from the suffix).
        txt = os.path.join(tmp, "out.txt")
        text = run(MPIRUN + [os.path.join(BUILD, "perf", "all_reduce_perf"), "-b", "8", "-e", "8", "-n", "1",
                             "-J", txt], env)
        check(not os.path.exists(txt) and "Writing JSON" not in text, "a .txt name: no file, no message")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verdict("test_json")


if __name__ == "__main__":
    sys.exit(main())
