"""`python -m unittest -v NAME...` as a script, for test/cpython/run.py.

    python unittest_main.py RESULTS.json [--exclude TEST_ID ...] -v test.test_int [test.test_x.Class ...]

The tracer runs scripts, not `-m module`, so this file is the traced script (the
same file runs the untraced baseline). It is unittest's own main program, with a
result class that also writes each test's outcome to RESULTS.json (id -> "ok",
"FAIL", "ERROR", "skipped", "xfail", "xpass", and for failures the traceback's
last lines), and that leaves out the tests named with --exclude (full ids, e.g.
test.test_math.MathTests.test_sumprod_stress: too slow), so that run.py can name the tests whose outcome changed. The summary
("Ran N tests", "OK (skipped=…)", "FAILED (failures=…, errors=…)") is unittest's,
on stderr, as usual. Standard library only, Python 3.8+.
"""

import sys
import unittest

results_path = sys.argv.pop(1)
excluded = set()
while len(sys.argv) > 2 and sys.argv[1] == "--exclude":
    excluded.add(sys.argv[2])
    del sys.argv[1:3]
sys.argv[0] = "python -m unittest"
outcomes = {}


def _tail(err):
    text = err if isinstance(err, str) else ""
    return "\n".join(text.rstrip().splitlines()[-6:])[-1500:]


class RecordingResult(unittest.TextTestResult):
    def _put(self, test, outcome, detail=""):
        outcomes[test.id()] = [outcome, detail]

    def addSuccess(self, test):
        super().addSuccess(test)
        self._put(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._put(test, "FAIL", _tail(self.failures[-1][1]))

    def addError(self, test, err):
        super().addError(test, err)
        self._put(test, "ERROR", _tail(self.errors[-1][1]))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._put(test, "skipped", str(reason)[:200])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._put(test, "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._put(test, "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            if issubclass(err[0], test.failureException):
                self._put(subtest, "FAIL", _tail(self.failures[-1][1]))
            else:
                self._put(subtest, "ERROR", _tail(self.errors[-1][1]))


def _without(suite):
    kept = []
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            kept.append(_without(t))
        elif t.id() not in excluded:
            kept.append(t)
    return unittest.TestSuite(kept)


class Loader(unittest.TestLoader):
    def loadTestsFromNames(self, names, module=None):
        return _without(super().loadTestsFromNames(names, module))


class RecordingRunner(unittest.TextTestRunner):
    resultclass = RecordingResult


def _write():
    import json

    with open(results_path, "w") as f:
        json.dump(outcomes, f)


try:
    unittest.main(module=None, testRunner=RecordingRunner, testLoader=Loader())
finally:
    _write()
