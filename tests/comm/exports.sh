#!/bin/sh
# The shared library exports exactly the public API: every dynamic symbol it
# defines is a function declared in include/acc_ccl.h or include/acc_runtime.h,
# and every function declared there is exported.
lib="$top_builddir/.libs/libacc-ccl.so"
[ -f "$lib" ] || { echo "missing $lib"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
grep -oh '\bacc[A-Za-z0-9_]*[[:space:]]*(' "$top_builddir/include/acc_ccl.h" "$top_srcdir/include/acc_runtime.h" |
  tr -d '( \t' | sort -u > "$tmp/public"
nm -D --defined-only "$lib" | awk 'NF >= 3 && $2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
[ -s "$tmp/public" ] || { echo "no public declarations found"; exit 1; }
status=0
extra=$(comm -13 "$tmp/public" "$tmp/exported")
if [ -n "$extra" ]; then
  echo "exported but not public (give them hidden visibility):"; echo "$extra" | sed 's/^/  /'; status=1
fi
missing=$(comm -23 "$tmp/public" "$tmp/exported")
if [ -n "$missing" ]; then
  echo "declared in a public header but not exported (missing ACCL_EXPORT or not implemented):"
  echo "$missing" | sed 's/^/  /'; status=1
fi
[ $status -eq 0 ] && echo "exports OK: $(wc -l < "$tmp/exported") public symbols"
exit $status
