#!/bin/sh
# make check's brief fuzz: every libFuzzer harness for FUZZ_CHECK_SECONDS
# (default 5) from its seeds, through `make fuzz` (which builds a clang tree
# under fuzz/ the first time). Skips (77) without clang; fails on a new crash,
# leak or timeout. `make fuzz` alone runs them longer (FUZZ_SECONDS).
command -v "${MAKE:-make}" >/dev/null 2>&1 || { echo "fuzz_check: no make"; exit 77; }
out=$(${MAKE:-make} -s -C "$top_builddir" fuzz FUZZ_SECONDS="${FUZZ_CHECK_SECONDS:-5}" 2>&1)
rc=$?
printf '%s\n' "$out"
case "$out" in *"make fuzz: SKIP"*) exit 77 ;; esac
exit $rc
