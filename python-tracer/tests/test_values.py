"""Safe reprs: bounded, sampled, never raising, slow types asked once."""

from __future__ import annotations

import collections
import sys
import unittest

from support import TRACER, TracerTestCase, by_type

sys.path.insert(0, TRACER)
from now_tracer.values import LIMIT, Reprs  # noqa: E402


class ReprUnitTests(unittest.TestCase):
    def setUp(self):
        self.r = Reprs()

    def test_simple(self):
        r = self.r
        self.assertEqual(r(1), "1")
        self.assertEqual(r(-2.5), "-2.5")
        self.assertEqual(r(None), "None")
        self.assertEqual(r(True), "True")
        self.assertEqual(r("a'b"), '"a\'b"')
        self.assertEqual(r(b"\x00"), "b'\\x00'")

    def test_long_strings_and_ints(self):
        r = self.r
        s = r("x" * 1000)
        self.assertEqual(len(s), LIMIT)
        self.assertTrue(s.endswith("\u2026"))
        self.assertEqual(r(10 ** 5000), "<int 16610 bits>")
        self.assertEqual(r(-(10 ** 100)), str(-(10 ** 100)))

    def test_containers(self):
        r = self.r
        self.assertEqual(r(list(range(100))), "[0, 1, 2, \u2026, 98, 99] (len=100)")
        self.assertEqual(r(tuple(range(10))), "(0, 1, 2, \u2026, 8, 9) (len=10)")
        self.assertEqual(r((1,)), "(1,)")
        self.assertEqual(r({i: str(i) for i in range(6)}), "{0: '0', 1: '1', 2: '2', \u2026, 4: '4', 5: '5'} (len=6)")
        self.assertEqual(r(set()), "set()")
        self.assertEqual(r(frozenset({1})), "frozenset({1})")
        self.assertEqual(r(collections.deque(range(7))), "deque([0, 1, 2, \u2026, 5, 6]) (len=7)")
        self.assertEqual(r([[[[[1]]]]]), "[[[[\u2026]]]]")
        Point = collections.namedtuple("Point", "x y")
        self.assertEqual(r(Point(1, 2)), "Point(x=1, y=2)")

        class MyList(list):
            pass

        self.assertEqual(r(MyList(range(20))), "[0, 1, 2, \u2026, 18, 19] (len=20)")
        self.assertEqual(len(r(list(range(10 ** 6)))), len("[0, 1, 2, \u2026, 999998, 999999] (len=1000000)"))
        loop = []
        loop.append(loop)
        self.assertEqual(r(loop), "[[[[\u2026]]]]")

    def test_broken_and_slow_reprs(self):
        import time

        calls = []

        class Broken:
            def __repr__(self):
                raise KeyError("no")

        class Slow:
            def __repr__(self):
                calls.append(1)
                time.sleep(0.02)
                return "Slow()"

        class Huge:
            def __repr__(self):
                return "h" * 20000

        class NotStr:
            def __repr__(self):
                return 42

        # not asked at all by default (test_safe_values); here they are allowed
        prefix = "test_values.ReprUnitTests.test_broken_and_slow_reprs.<locals>."
        self.r = r = Reprs(allow=[prefix + c.__name__ for c in (Broken, Slow, Huge, NotStr)])
        self.assertEqual(r(Broken()), "<repr failed: KeyError>")
        self.assertEqual(r([Broken()]), "[<repr failed: KeyError>]")
        self.assertEqual(r(NotStr()), "<repr failed: TypeError>")
        self.assertEqual(r(Slow()), "Slow()")
        self.assertTrue(r(Slow()).endswith("Slow object>"))
        self.assertEqual(len(calls), 1)
        self.assertEqual(len(r(Huge())), LIMIT)
        self.assertTrue(r(Huge()).endswith("Huge object>"))

    def test_exception_messages(self):
        class BadStr(Exception):
            def __str__(self):
                raise ValueError

        # the script's __str__ is not called: the arguments stand for it
        self.assertEqual(self.r.exc_message(BadStr()), "")
        self.assertEqual(self.r.exc_message(BadStr("a", 2)), "('a', 2)")
        self.assertEqual(self.r.exc_message(KeyError("k")), "'k'")
        self.assertEqual(self.r.exc_message(ValueError("x" * 500))[-1], "\u2026")
        # A built-in __str__ over built-in scalars and tuples of them runs no script code:
        # a SyntaxError reads as Python prints it.
        try:
            compile("x = (", "main.py", "exec")
        except SyntaxError as e:
            self.assertRegex(self.r.exc_message(e), r"^'\(' was never closed \(main\.py, line 1\)$|^unexpected EOF")
        class Odd:
            def __str__(self):
                raise AssertionError("the script's __str__ ran")
        self.assertEqual(self.r.exc_message(ValueError(("a", Odd()))), "('a', <test_values.ReprUnitTests.test_exception_messages.<locals>.Odd object>)")


class ValuesInTrialTests(TracerTestCase):
    def test_values_in_events(self):
        main = """
            import time
            asked = []
            class Broken:
                def __repr__(self):
                    raise RuntimeError("repr is broken")
            class Slow:
                def __repr__(self):
                    asked.append(1)
                    time.sleep(0.02)
                    return "Slow()"
            def take(x):
                return x
            take(Broken())
            for _ in range(5):
                take(Slow())
            take(list(range(1000)))
            take("y" * 10000)
            print("repr asked", len(asked), "time(s)")
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertEqual(plain.stdout, b"repr asked 0 time(s)\n")
        # the script's reprs are never asked (test_safe_values has the opt-in)
        self.assertEqual(traced.stdout, b"repr asked 0 time(s)\n")
        events = traced.events()
        args = [c["args"][0][1] for c in by_type(events, "call") if c["args"]]
        self.assertEqual(args[0], "<__main__.Broken object>")
        self.assertEqual(args[1:6], ["<__main__.Slow object>"] * 5)
        self.assertEqual(args[6], "[0, 1, 2, \u2026, 998, 999] (len=1000)")
        self.assertEqual(len(args[7]), 200)
        for e in events:
            for key in ("value",):
                if key in e and isinstance(e[key], str):
                    self.assertLessEqual(len(e[key]), 200)


if __name__ == "__main__":
    unittest.main()
