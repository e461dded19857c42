#!/bin/sh
# acc-ccl-topo: prints plans for shipped and generated topologies, writes a
# dump that loads back identically, writes Graphviz, and rejects bad input.
set -u
tool="$top_builddir/acc-ccl-topo"
topos="$top_srcdir/docs/topologies"
tmp="${TMPDIR:-/tmp}/accl_topo_tool_$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$tool" --topo "$topos/trn1-like.xml" --nodes 2 > "$tmp/out" || fail "trn1 --nodes 2"
grep -q '^ring 1:' "$tmp/out" || fail "trn1: expected two rings"
grep -q 'nic' "$tmp/out" || fail "trn1 --nodes 2: rings should cross nodes through NICs"
# every NIC carries a channel: 8 channels, each leaving through its own efa
[ "$(grep -c '^channel [0-9]*: leaves through efa' "$tmp/out")" = 8 ] || fail "trn1 --nodes 2: expected 8 channels on NICs"
[ "$(grep '^channel [0-9]*: leaves through' "$tmp/out" | awk '{print $5}' | sort -u | wc -l)" = 8 ] ||
  fail "trn1 --nodes 2: channels do not leave through 8 different NICs"
"$tool" --topo "$topos/trn1-like.xml" --nodes 2 --dot "$tmp/n2.dot" > /dev/null || fail "trn1 --nodes 2 --dot"
grep -q 'ring 7: out efa' "$tmp/n2.dot" || fail "picture: the legend should name each channel's NIC"
"$tool" --topo "$topos/trn1-like.xml" --dump "$tmp/d.xml" --dot "$tmp/t.dot" > /dev/null || fail "dump/dot"
cmp -s "$topos/trn1-like.xml" "$tmp/d.xml" || fail "dump differs from the loaded file"
grep -q 'digraph' "$tmp/t.dot" || fail "dot output"
for spec in ring torus2d full; do
  "$tool" --topo $spec --devices 8 --ranks 12 --nodes 3 --channels 2 > /dev/null || fail "$spec"
done
"$tool" > /dev/null || fail "detected topology"
"$tool" --topo "$tmp/missing.xml" > /dev/null 2>&1 && fail "missing file accepted"
"$tool" --nodes 0 > /dev/null 2>&1 && fail "--nodes 0 accepted"
if command -v dot > /dev/null 2>&1; then
  "$tool" --topo torus2d --devices 16 --png "$tmp/t.png" > /dev/null || fail "png"
  [ -s "$tmp/t.png" ] || fail "empty png"
fi
echo "acc_ccl_topo: PASS"
