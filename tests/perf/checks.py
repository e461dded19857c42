"""checks.py - the tally that the perf tools' tests share: check() prints and
counts a failed check, verdict() prints the test's PASS / FAIL line and gives
its exit status."""

failures = 0


def check(cond, what):
    global failures
    if not cond:
        print("FAIL:", what)
        failures += 1


def verdict(name):
    print(f"{name}:", "FAIL" if failures else "PASS", f"({failures} failed checks)")
    return 1 if failures else 0
