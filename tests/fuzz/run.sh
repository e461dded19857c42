#!/bin/sh
# run.sh SRCDIR BUILDDIR TARGET... - run each libFuzzer harness for
# $FUZZ_SECONDS from its seeds (tests/fuzz/corpus/<name>/) plus the corpus it
# grew before (BUILDDIR/fuzz-corpus/<name>/), then replay the kept crash
# reproducers (tests/fuzz/crashes/<name>/: defects found and reported, not
# yet fixed; they are reported, and do not fail the run). Reproducers of
# fixed defects move to tests/fuzz/regressions/<name>/: seeds of every run
# (a crash there fails it), and replayed by the unit tests. Prints one line
# per target: executions, coverage (edges, features), corpus size, crashes.
# Exit 1 when a run found a new crash, leak or timeout (the reproducer is in
# BUILDDIR/fuzz-artifacts/).
src=$1; build=$2; shift 2
secs=${FUZZ_SECONDS:-30}
status=0
mkdir -p "$build/fuzz-artifacts"
# leaks are real findings; the bootstrap reports its own fatal signals
# allocator_may_return_null: a huge malloc returns NULL as it does in
# production instead of stopping the run
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for prog in "$@"; do
  name=$(basename "$prog"); name=${name#fuzz_}
  seeds="$src/tests/fuzz/corpus/$name"
  work="$build/fuzz-corpus/$name"
  mkdir -p "$work"
  log="$build/fuzz-artifacts/$name.log"
  before=$(ls "$build/fuzz-artifacts" | grep -c "^$name-" || true)
  # FUZZ_SKIP_KNOWN: the harness skips inputs that reach a defect already
  # kept in tests/fuzz/crashes/ (replayed below without it)
  FUZZ_SKIP_KNOWN=1 "$build/$prog" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=1048576 \
    -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$seeds" \
    $(test -d "$src/tests/fuzz/regressions/$name" && echo "$src/tests/fuzz/regressions/$name") > "$log" 2>&1
  rc=$?
  after=$(ls "$build/fuzz-artifacts" | grep -c "^$name-" || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p')
  new=$((after - before))
  printf 'fuzz %-10s %s executions (%s/s) in %s s, coverage %s, crashes %d' "$name" "${execs:-?}" "${rate:-?}" "$secs" \
    "${cov:-?}" "$new"
  if [ "$new" -gt 0 ] || [ "$rc" -ne 0 ]; then
    status=1
    printf ' FAIL (exit %d; see %s and %s/fuzz-artifacts/%s-*)\n' "$rc" "$log" "$build" "$name"
    grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log" | sed 's/^/    /'
  else
    echo " PASS"
  fi
  known="$src/tests/fuzz/crashes/$name"
  if [ -d "$known" ]; then
    for f in "$known"/*; do
      [ -f "$f" ] || continue
      if "$build/$prog" -runs=1 "$f" > "$build/fuzz-artifacts/$name-replay.log" 2>&1; then
        echo "    known reproducer $(basename "$f"): no longer fails (remove it and its report)"
      else
        echo "    known reproducer $(basename "$f"): still fails (reported defect): $(grep -m1 -E 'ERROR:|runtime error' "$build/fuzz-artifacts/$name-replay.log" | cut -c1-160)"
      fi
    done
  fi
done
exit $status
