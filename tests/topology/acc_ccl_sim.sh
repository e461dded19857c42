#!/bin/sh
# acc-ccl-sim on a small config (4 trn1-like nodes): every row is sane
# (positive time, busbw at most the node's NIC limit of 8 x 12.5 GB/s for
# rings across nodes), every plan is replayed, the replay agrees with the
# tuner's closed form for the same plan (within 30%; trees within 2x: the
# closed form does not follow the chains' slices), and bad input is refused.
set -u
sim="$top_builddir/acc-ccl-sim"
topos="$top_srcdir/docs/topologies"
tmp="${TMPDIR:-/tmp}/accl_sim_$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp/out" 2>/dev/null | head -40; exit 1; }
"$sim" --topo "$topos/trn1-like.xml" --nodes 4 --min 1024 --max 268435456 > "$tmp/out" || fail "sim --nodes 4"
rows=$(grep -c '^ ' "$tmp/out")
[ "$rows" -ge 30 ] || fail "expected rows for ring, tree and hier over 10 sizes, got $rows"
grep -q '(model)' "$tmp/out" && fail "a plan of 64 ranks was not replayed"
for a in ring tree hier; do grep -q " $a " "$tmp/out" || fail "no $a row"; done
# columns: size count algo time algbw busbw model err
awk '/^ / { if ($4 <= 0 || $6 < 0 || $7 <= 0) bad = 1; if ($6 > 100.0 * 1.001 && $3 == "ring") bad = 1;
            e = $8 < 0 ? -$8 : $8; if (e > ($3 == "tree" ? 100 : 30)) bad = 1 }
     END { exit bad }' "$tmp/out" || fail "a row is insane or disagrees with the tuner's cost beyond its tolerance"
# large messages on rings reach most of the NICs' 100 GB/s
awk '/^ / && $3 == "ring" && $1 == 268435456 { exit !($6 > 80) }' "$tmp/out" || fail "ring busbw at 256 MiB below 80 GB/s"
# exactly one row per size is the tuner's choice
[ "$(grep -c ' tuner' "$tmp/out")" = 10 ] || fail "expected one tuner mark per size (10 sizes)"
"$sim" --nodes 0 > /dev/null 2>&1 && fail "--nodes 0 accepted"
"$sim" --func nope > /dev/null 2>&1 && fail "--func nope accepted"
"$sim" --topo "$tmp/missing.xml" > /dev/null 2>&1 && fail "missing topology accepted"
echo "acc_ccl_sim: PASS"
