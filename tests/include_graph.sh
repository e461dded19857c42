#!/bin/sh
# The include graph of src/ has no circle and keeps docs/design.md's layers
# (see include_graph.py).
exec /usr/bin/python3 "${top_srcdir:-.}/tests/include_graph.py" "${top_srcdir:-.}/src" "${top_srcdir:-.}/docs/design.md"
