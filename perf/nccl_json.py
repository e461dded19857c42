"""nccl_json.py - a reader of nccl-tests' JSON output (-J FILE.json, format
version 3 as nccl-tests 2.19 writes it), written from that format's
description: a top-level object with the run (version, start_time, args,
env, nccl_version), the "config" object (the header's parameters and the
device list), "results" (one object per printed row: size, count, type,
redop, root as the printed, padded string, then out_of_place / in_place with
time or cpu_time, alg_bw, bus_bw and nwrong, null when not checked; with -I
also out_of_place_per_iter / in_place_per_iter), the out_of_bounds and
average_bus_bandwidth summaries, errors and end_time. Booleans are the
strings "true" / "false"; NaN is the string "nan".

load(path) checks the document against that format (SchemaError names the
first difference) and returns it in perf/nccl_log.py's shape, so a log and a
JSON record of the same run can be compared directly:
  {version, nccl_version, args, env, config, devices, cputime,
   rows: [{size, count, type, redop, root, oop: {time, algbw, busbw, wrong}, ip, ...}],
   out_of_bounds, avg_busbw, errors}
"""

import json

FORMAT_VERSION = 3


class SchemaError(ValueError):
    pass


def _need(obj, key, kinds, where):
    if not isinstance(obj, dict) or key not in obj:
        raise SchemaError(f"{where}: no key {key!r}")
    value = obj[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise SchemaError(f"{where}.{key}: {type(value).__name__} {value!r}, expected {kinds}")
    return value


def _flag(obj, key, where):
    value = _need(obj, key, (str,), where)
    if value not in ("true", "false"):
        raise SchemaError(f"{where}.{key}: {value!r} is not \"true\" or \"false\"")
    return value == "true"


def _number(value, where):
    if value == "nan":
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(f"{where}: {value!r} is not a number")
    return float(value)


def _placement(res, key, where, cputime):
    p = _need(res, key, (dict,), where)
    w = f"{where}.{key}"
    time_key = "cpu_time" if cputime else "time"
    out = {"time": _number(_need(p, time_key, (int, float, str), w), w + "." + time_key),
           "algbw": _number(_need(p, "alg_bw", (int, float, str), w), w + ".alg_bw"),
           "busbw": _number(_need(p, "bus_bw", (int, float, str), w), w + ".bus_bw")}
    if "nwrong" not in p:
        raise SchemaError(f"{w}: no key 'nwrong'")
    out["wrong"] = None if p["nwrong"] is None else int(_number(p["nwrong"], w + ".nwrong"))
    per = res.get(key + "_per_iter")
    if per is not None:
        pw = f"{where}.{key}_per_iter"
        stats = {k: _number(_need(per, k, (int, float, str), pw), pw + "." + k)
                 for k in ("min_us", "max_us", "avg_us", "p50_us", "p95_us", "p99_us", "stdev_us", "cv_pct")}
        times = _need(per, "times_us", (list,), pw)
        out["iter"] = {"min": stats["min_us"], "max": stats["max_us"], "p99": stats["p99_us"], "cv": stats["cv_pct"],
                       "avg": stats["avg_us"], "p50": stats["p50_us"], "p95": stats["p95_us"],
                       "stdev": stats["stdev_us"], "skipped": _need(per, "skipped_iterations", (int,), pw),
                       "times": [_number(t, pw + ".times_us") for t in times],
                       "per_process": per.get("per_process_max_times_us")}
    return out


def load(path):
    with open(path) as f:
        doc = json.load(f)
    return read(doc)


def read(doc):
    w = "document"
    version = _need(doc, "version", (int,), w)
    if version != FORMAT_VERSION:
        raise SchemaError(f"version {version}, this reader knows {FORMAT_VERSION}")
    for key in ("start_time", "end_time"):
        _need(doc, key, (str,), w)
    args = _need(doc, "args", (list,), w)
    env = _need(doc, "env", (list,), w)
    if not all(isinstance(a, str) for a in args + env):
        raise SchemaError("args / env: not all strings")
    cfg = _need(doc, "config", (dict,), w)
    config = {k: _need(cfg, k, (int,), "config") for k in
              ("nthreads", "ngpus", "minimum_bytes", "maximum_bytes", "warmup_iters", "iterations",
               "aggregated_iterations", "validation", "graph", "per_iter_skip")}
    if ("step_factor" in cfg) == ("step_bytes" in cfg):
        raise SchemaError("config: exactly one of step_factor and step_bytes")
    config["step"] = _need(cfg, "step_factor" if "step_factor" in cfg else "step_bytes", (int,), "config")
    config["step_kind"] = "factor" if "step_factor" in cfg else "bytes"
    for k in ("blocking_collectives", "per_iter_timing", "parallel_init"):
        config[k] = _flag(cfg, k, "config")
    devices = []
    for i, d in enumerate(_need(cfg, "devices", (list,), "config")):
        dw = f"config.devices[{i}]"
        devices.append({"rank": _need(d, "rank", (int,), dw), "group": _need(d, "group", (int,), dw),
                        "pid": _need(d, "pid", (int,), dw), "host": _need(d, "hostname", (str,), dw),
                        "device": _need(d, "device", (int,), dw), "bus": _need(d, "device_hex", (str,), dw),
                        "name": _need(d, "device_info", (str,), dw)})
    results = _need(doc, "results", (list,), w)
    cputime = bool(results) and "cpu_time" in results[0].get("out_of_place", results[0].get("in_place", {}))
    rows = []
    for i, res in enumerate(results):
        rw = f"results[{i}]"
        root = _need(res, "root", (str,), rw)
        try:
            root = int(root)
        except ValueError as e:
            raise SchemaError(f"{rw}.root: {root!r} is not a padded integer") from e
        rows.append({"size": _need(res, "size", (int,), rw), "count": _need(res, "count", (int,), rw),
                     "type": _need(res, "type", (str,), rw), "redop": _need(res, "redop", (str,), rw),
                     "root": root, "oop": _placement(res, "out_of_place", rw, cputime),
                     "ip": _placement(res, "in_place", rw, cputime),
                     "actual_iterations": _need(res, "actual_iterations", (int,), rw),
                     "experiment_name": _need(res, "experiment_name", (str,), rw)})
    oob = _need(doc, "out_of_bounds", (dict,), w)
    avg = _need(doc, "average_bus_bandwidth", (dict,), w)
    okay = _need(avg, "okay", (str,), "average_bus_bandwidth")
    if okay not in ("unchecked", "true", "false"):
        raise SchemaError(f"average_bus_bandwidth.okay: {okay!r}")
    errors = _need(doc, "errors", (list,), w)
    return {"version": version, "nccl_version": _need(doc, "nccl_version", (int,), w), "args": args, "env": env,
            "config": config, "devices": devices, "cputime": cputime, "rows": rows,
            "out_of_bounds": _need(oob, "count", (int,), "out_of_bounds"),
            "out_of_bounds_okay": _flag(oob, "okay", "out_of_bounds"),
            "avg_busbw": _number(_need(avg, "bandwidth", (int, float, str), "average_bus_bandwidth"),
                                 "average_bus_bandwidth.bandwidth"),
            "avg_busbw_okay": okay, "errors": errors}
