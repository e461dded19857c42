"""A small stand-in for the `expecttest` package, which Debian does not ship
and torch.testing._internal.common_utils imports. dist_suite.py puts this
directory on sys.path only when the real package cannot be imported.

What torch's test utilities use from it: the module flag ACCEPT (set from
the --accept option, here also from EXPECTTEST_ACCEPT=1) and the base class
TestCase, which offers assertExpectedInline / assertExpectedRaisesInline.
The distributed suite never calls the two assertions; they compare, and
fail with both texts, but cannot rewrite a source file (the real package's
--accept mode), so with ACCEPT set they fail saying so.
"""
import os
import textwrap
import unittest

ACCEPT = os.environ.get("EXPECTTEST_ACCEPT", "") not in ("", "0")


def _normalize(expect):
    # Inline expectations are written as indented triple-quoted strings that
    # start with a newline; compare their dedented text.
    text = textwrap.dedent(expect)
    if text.startswith("\n"):
        text = text[1:]
    return text


class TestCase(unittest.TestCase):
    longMessage = True

    def assertExpectedInline(self, actual, expect, skip=0):
        if not isinstance(actual, str):
            raise TypeError("assertExpectedInline compares strings, got %s" % type(actual).__name__)
        want = _normalize(expect)
        if actual == want:
            return
        if ACCEPT:
            self.fail("this expecttest stand-in cannot accept new output; the actual text is:\n" + actual)
        self.assertMultiLineEqual(want, actual)

    def assertExpectedRaisesInline(self, exc_type, callable_, expect, *args, **kwargs):
        try:
            callable_(*args, **kwargs)
        except exc_type as e:
            self.assertExpectedInline(str(e), expect, skip=1)
            return
        self.fail("%s was not raised" % exc_type.__name__)
