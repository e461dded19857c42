"""nccl_log.py - a small nccl-tests log parser, written the way people parse
those logs (skip '#' lines, split data rows on whitespace, read the footer by
its label), for nccl-tests 2.19's layout and the acc-ccl tools' (the same).
perf/compare and the tests in tests/perf use it; anything it reads from our
output it reads from nccl-tests' output too.

parse(text) -> dict with
  version: {tests, version, lib, headers, library} from '# X-tests version ...'
           (tests "nccl" or "acc-ccl", lib "nccl" or "accl"), or None
  program: the name after 'Collective test starting:', or None
  params: the '# nThread ...' line as a dict of ints (nThread, nGpus,
          minBytes, maxBytes, step, warmup iters, iters, agg iters,
          validation, graph, unalign) plus step_kind ('factor' or 'bytes')
  ranks:  list of {rank, group, pid, host, device, bus, name}
  columns: the labels of the column header line (time or cputime, ...)
  rows:   list of {size, count, type, redop, root,
                   oop: {time, algbw, busbw, wrong}, ip: {...}}
          (wrong is None when the column says N/A; redop "" when the column
          is empty, as HyperCube's; with -I each placement has an extra
          'iter': {min, max, p99, cv}; with -S a row has 'timestamp')
  out_of_bounds: int or None, avg_busbw: float or None
  other:  lines that are neither comments nor rows (warnings, launcher noise)
"""

import re

_VERSION = re.compile(r"^# (\S+)-tests version (\S+) (\S+)-headers=(-?\d+) \S+-library=(-?\d+)$")
_START = re.compile(r"^# Collective test starting: (\S+)")
_RANK = re.compile(r"^#\s+Rank\s+(\d+)\s+Group\s+(\d+)\s+Pid\s+(\d+)\s+on\s+(\S+)\s+device\s+(-?\d+)"
                   r"\s+\[([^\]]*)\]\s*(.*)$")
_OOB = re.compile(r"^#\s*Out of bounds values\s*:\s*(\d+)")
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*(\S+)")
_PARAM = re.compile(r"([A-Za-z][A-Za-z ]*?):?\s+(\d+)(?:\((factor|bytes)\))?")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_CLOCK = re.compile(r"^\d\d:\d\d:\d\d$")


def _number(tok):
    return None if tok == "N/A" else float(tok)


def _is_int(tok):
    return re.match(r"^-?\d+$", tok) is not None


def _placement(fields):
    time, algbw, busbw, wrong = fields
    w = _number(wrong)
    return {"time": float(time), "algbw": float(algbw), "busbw": float(busbw),
            "wrong": None if w is None else int(w)}


def _iters(fields):
    lo, hi, p99, cv = (float(f) for f in fields)
    return {"min": lo, "max": hi, "p99": p99, "cv": cv}


def _params(line):
    out = {}
    for key, value, kind in _PARAM.findall(line.lstrip("# ")):
        key = key.strip()
        if key == "step":
            out["step_kind"] = kind
        out[key] = int(value)
    return out


def parse_row(line):
    """One data row as a dict, or None when the line is not a row."""
    toks = line.split()
    if len(toks) < 11 or not _is_int(toks[0]) or not _is_int(toks[1]):
        return None
    row = {}
    if len(toks) >= 2 and _DATE.match(toks[-2]) and _CLOCK.match(toks[-1]):
        row["timestamp"] = toks[-2] + " " + toks[-1]
        toks = toks[:-2]
    size, count, dtype, rest = toks[0], toks[1], toks[2], toks[3:]
    # An empty redop column (HyperCube) leaves the root's integer in its place.
    redop = "" if _is_int(rest[0]) else rest.pop(0)
    if len(rest) in (9, 17):
        root = rest.pop(0)
    elif len(rest) == 8:
        root = "-1"  # logs from before the root column existed
    else:
        return None
    try:
        row.update({"size": int(size), "count": int(count), "type": dtype, "redop": redop, "root": int(root)})
        if len(rest) == 8:
            row["oop"], row["ip"] = _placement(rest[0:4]), _placement(rest[4:8])
        else:
            row["oop"], row["ip"] = _placement(rest[0:4]), _placement(rest[8:12])
            row["oop"]["iter"], row["ip"]["iter"] = _iters(rest[4:8]), _iters(rest[12:16])
    except ValueError:
        return None
    return row


def parse(text):
    result = {"version": None, "program": None, "params": {}, "ranks": [], "columns": [], "rows": [],
              "out_of_bounds": None, "avg_busbw": None, "other": []}
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("#"):
            m = _RANK.match(line)
            if m:
                rank, group, pid, host, dev, bus, name = m.groups()
                result["ranks"].append({"rank": int(rank), "group": int(group), "pid": int(pid), "host": host,
                                        "device": int(dev), "bus": bus, "name": name})
            elif _VERSION.match(line):
                tests, version, lib, headers, library = _VERSION.match(line).groups()
                result["version"] = {"tests": tests, "version": version, "lib": lib,
                                     "headers": int(headers), "library": int(library)}
            elif _START.match(line):
                result["program"] = _START.match(line).group(1)
            elif line.startswith("# nThread"):
                result["params"] = _params(line)
            elif re.match(r"^#\s+size\s+count\s", line):
                result["columns"] = line[1:].split()
            elif _OOB.match(line):
                result["out_of_bounds"] = int(_OOB.match(line).group(1))
            elif _AVG.match(line):
                try:
                    result["avg_busbw"] = float(_AVG.match(line).group(1))
                except ValueError:
                    result["avg_busbw"] = None
            continue
        row = parse_row(line)
        if row is None:
            result["other"].append(line)
        else:
            result["rows"].append(row)
    return result
