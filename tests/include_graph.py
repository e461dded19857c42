#!/usr/bin/env python3
"""include_graph.py - the include graph of src/ has no circle.

Reads the #include "..." lines of every .c and .h file under src/ and checks:
  1. between files: a file and its header are one unit (ofi_cq.c + ofi_cq.h);
     unit A depends on unit B when a file of A includes B's header. A header
     with no .c of its own (types, inline functions, a folder's shared
     declarations) is no unit: whoever includes it depends on what it
     includes. No unit depends on itself through others (a circle means two
     files call each other, whatever the direction of the headers); no
     header includes itself through others.
  2. between modules (src/<module>/, sub-folders belong to their module,
     src/init.c is the module "init.c"): a module includes only modules of
     its own layer or below, in the order docs/design.md gives in its line
     "Layers, bottom up: ...", and the module graph has no circle.
  3. a transport's own headers (src/transport/<name>/...) are included only
     inside src/transport/.
Usage: include_graph.py SRCDIR DESIGN_MD. Prints every violation; exit 1 if any.
"""
import os
import re
import sys

# Circles between files of one module that are meant, each with its reason;
# the test fails when one is no longer there (then delete it here).
ALLOWED = {
    ("core/param", "core/log"): "the logger reads its own settings (ACCL_DEBUG...) through the parameter table, "
                                "and the table logs what it reads",
    ("transport/transport", "transport/shm/shm"): "the dispatcher names each transport's table, and a transport "
                                                  "asks the dispatcher which pairs are its own (acclTransportOf), "
                                                  "as NCCL's transport.cc and its transports do",
    ("collectives/plan", "collectives/tuning"): "NOT meant: found when main's call signatures (plan.c's acclSigText "
                                                "calls tuning's acclFuncName) merged in; to remove, move "
                                                "acclFuncName below plan (then delete this entry)",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.relpath(os.path.join(root, n), src)
                with open(os.path.join(src, p), encoding="utf-8", errors="replace") as f:
                    files[p] = INCLUDE.findall(f.read())
    return files


def resolve(src, files, frm, inc):
    """The file under src/ an include names (relative to src/ or to the includer), or None."""
    for cand in (inc, os.path.normpath(os.path.join(os.path.dirname(frm), inc))):
        if cand in files:
            return cand
    return None


def unit(path):
    return os.path.splitext(path)[0]


def module(path):
    parts = path.split(os.sep)
    return parts[0] if len(parts) > 1 else path


def find_cycle(graph):
    """One circle of the directed graph (list of nodes), or None."""
    color, stack = {}, []

    def visit(n):
        color[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if color.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in color:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = 2
        return None

    for n in sorted(graph):
        if n not in color:
            c = visit(n)
            if c:
                return c
    return None


def layers(design):
    with open(design, encoding="utf-8") as f:
        text = " ".join(f.read().split())
    m = re.search(r"Layers, bottom up: ([^.]+(?:\.c)?[^.]*)\.", text)
    if not m:
        sys.exit("include_graph: no 'Layers, bottom up: ...' line in " + design)
    rank = {}
    for i, layer in enumerate(m.group(1).split(";")):
        for name in re.split(r",| and ", layer):
            name = name.strip()
            if name:
                rank[name] = i
    return rank


def main():
    src, design = sys.argv[1], sys.argv[2]
    files = read_files(src)
    rank = layers(design)
    errors = []
    modules, headers = {}, {}
    direct = {}  # file -> files under src/ it includes
    for frm, incs in sorted(files.items()):
        for inc in incs:
            to = resolve(src, files, frm, inc)
            if to is None:
                continue  # a public or generated header (acc_ccl.h, config.h)
            direct.setdefault(frm, set()).add(to)
            if frm.endswith(".h"):
                headers.setdefault(frm, set()).add(to)
            mf, mt = module(frm), module(to)
            if mf not in rank or mt not in rank:
                errors.append("%s: module %s or %s is in no layer of %s" % (frm, mf, mt, design))
                continue
            if mf != mt:
                modules.setdefault(mf, set()).add(mt)
                if rank[mt] > rank[mf]:
                    errors.append("%s includes %s: module %s is above %s" % (frm, inc, mt, mf))
            if to.startswith("transport" + os.sep) and to.count(os.sep) > 1 and mf != "transport":
                errors.append("%s includes %s: a transport's own header outside src/transport/" % (frm, inc))
    c = find_cycle(headers)
    if c:
        errors.append("circle between headers: " + " -> ".join(c))
    # units: a header-only file is transparent (its includes count for its includer)
    real = {unit(p) for p in files if p.endswith(".c")}

    def targets(f, seen):
        out = set()
        for to in direct.get(f, ()):
            if unit(to) in real:
                out.add(unit(to))
            elif to not in seen:
                seen.add(to)
                out |= targets(to, seen)
        return out

    units = {}
    for f in files:
        u = unit(f)
        if u in real:
            units.setdefault(u, set()).update(t for t in targets(f, {f}) if t != u)
    for (a, b), why in ALLOWED.items():
        if b in units.get(a, ()) and a in units.get(b, ()):
            units[a].discard(b)
            print("include_graph: allowed circle %s <-> %s: %s" % (a, b, why))
        else:
            errors.append("allowed circle %s <-> %s is gone: delete it from ALLOWED" % (a, b))
    c = find_cycle(units)
    if c:
        errors.append("circle between files: " + " -> ".join(c))
    c = find_cycle(modules)
    if c:
        errors.append("circle between modules: " + " -> ".join(c))
    for e in errors:
        print("include_graph: " + e)
    nedges = sum(len(v) for v in units.values())
    print("include_graph: %d files, %d unit edges, %d modules: %s" %
          (len(files), nedges, len(modules), "FAIL" if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
