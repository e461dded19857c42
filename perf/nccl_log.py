"""nccl_log.py - a small nccl-tests log parser, written the way people parse
those logs (skip '#' lines, split data rows on whitespace, read the footer by
its label). perf/compare and tests/perf/test_log_parser.py use it; anything
it reads from our output it would read from nccl-tests' output too.

parse(text) -> dict with
  rows:   list of {size, count, type, redop, root,
                   oop: {time, algbw, busbw, wrong}, ip: {...}}
          (wrong is None when the column says N/A)
  params: the '# nThread ...' line as a dict of ints (nThread, nGpus,
          minBytes, maxBytes, warmup iters, iters, agg iters, validation, graph)
  ranks:  list of {rank, group, pid, host, device}
  out_of_bounds: int or None, avg_busbw: float or None
"""

import re

_RANK = re.compile(r"^#\s+Rank\s+(\d+)\s+Group\s+(\d+)\s+Pid\s+(\d+)\s+on\s+(\S+)\s+device\s+(-?\d+)")
_OOB = re.compile(r"^#\s*Out of bounds values\s*:\s*(\d+)")
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*([0-9.eE+-]+|nan|inf)")
_PARAM = re.compile(r"([A-Za-z][A-Za-z ]*?):?\s+(\d+)(?:\((?:factor|bytes)\))?")


def _number(tok):
    return None if tok == "N/A" else float(tok)


def _placement(fields):
    time, algbw, busbw, wrong = fields
    w = _number(wrong)
    return {"time": float(time), "algbw": float(algbw), "busbw": float(busbw),
            "wrong": None if w is None else int(w)}


def _params(line):
    out = {}
    for key, value in _PARAM.findall(line.lstrip("# ")):
        out[key.strip()] = int(value)
    return out


def parse(text):
    result = {"rows": [], "params": {}, "ranks": [], "out_of_bounds": None, "avg_busbw": None}
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("#"):
            m = _RANK.match(line)
            if m:
                rank, group, pid, host, dev = m.groups()
                result["ranks"].append({"rank": int(rank), "group": int(group), "pid": int(pid),
                                        "host": host, "device": int(dev)})
            elif line.startswith("# nThread"):
                result["params"] = _params(line)
            elif _OOB.match(line):
                result["out_of_bounds"] = int(_OOB.match(line).group(1))
            elif _AVG.match(line):
                result["avg_busbw"] = float(_AVG.match(line).group(1))
            continue
        fields = line.split()
        if len(fields) == 13:    # size count type redop root | 4 out-of-place | 4 in-place
            size, count, dtype, redop, root = fields[:5]
            rest = fields[5:]
        elif len(fields) == 12:  # logs before the root column existed
            size, count, dtype, redop = fields[:4]
            root, rest = "-1", fields[4:]
        else:
            continue             # not a data row (warnings, launcher noise)
        try:
            row = {"size": int(size), "count": int(count), "type": dtype, "redop": redop,
                   "root": int(root), "oop": _placement(rest[0:4]), "ip": _placement(rest[4:8])}
        except ValueError:
            continue
        result["rows"].append(row)
    return result
