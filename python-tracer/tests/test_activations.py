"""Coarse execution provenance: one activation per call of project code, with
the right parent, qualname, args, and how it ended."""

from __future__ import annotations

import os
import sys
import unittest

from support import TracerTestCase, activation_tree, by_type, dedent

HELPER = """
    def explode(x):
        raise ValueError("bad %d" % x)
"""

KITCHEN_SINK = """
    import functools, contextlib
    import helper

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapper

    @deco
    def decorated(x):
        return x + 1

    class Shape:
        def __init__(self, n):
            self.n = n
        def __repr__(self):
            return "Shape(%d)" % self.n
        def area(self):
            return self.n * self.n
        @classmethod
        def unit(cls):
            return cls(1)
        @staticmethod
        def kind():
            return "shape"
        class Inner:
            def method(self, *, flag=True):
                return 0

    def outer(a):
        def inner(b):
            return a + b
        return inner(2)

    def catcher():
        try:
            helper.explode(1)
        except ValueError:
            return "caught"

    def leaker():
        helper.explode(2)

    def reraiser():
        try:
            leaker()
        finally:
            pass

    def squares(xs):
        return [x * x for x in xs if x], {x: (lambda: x)() for x in xs}

    def posonly(a, b=2, /, c=3, *rest, d, **kw):
        return a

    decorated(1)
    s = Shape.unit()
    s.area(); Shape.kind(); Shape.Inner().method(flag=False)
    outer(1)
    catcher()
    try:
        reraiser()
    except ValueError:
        pass
    squares([0, 1])
    f = lambda y: y * 2
    f(3)
    sorted([3, 1, 2], key=lambda v: -v)
    posonly(1, 2, 3, 4, d=5, e=6)
"""


class ActivationTests(TracerTestCase):
    def tree(self, main: str, extra=None, **kw) -> str:
        files = {"main.py": main, "helper.py": HELPER}
        files.update(extra or {})
        run, events = self.traced_events(files, **kw)
        return activation_tree(events)

    def test_kitchen_sink(self):
        main = KITCHEN_SINK
        if sys.version_info < (3, 8):  # pragma: no cover
            self.skipTest("positional-only parameters")
        self.assertEqual(
            self.tree(main),
            dedent(
                """
                <module> main.py
                  <module> helper.py
                  deco(fn=<function decorated>) -> <function decorated>
                  Shape() -> None
                    Shape.Inner() -> None
                  deco.<locals>.wrapper(args=(1,), kwargs={}) -> 2
                    decorated(x=1) -> 2
                  Shape.unit(cls=<class '__main__.Shape'>) -> <__main__.Shape object n=1>
                    Shape.__init__(self=<__main__.Shape object>, n=1) -> None
                  Shape.area(self=<__main__.Shape object n=1>) -> 1
                  Shape.kind() -> 'shape'
                  Shape.Inner.method(self=<__main__.Shape.Inner object>, flag=False) -> 0
                  outer(a=1) -> 3
                    outer.<locals>.inner(b=2) -> 3
                  catcher() -> 'caught'
                    explode(x=1) !! ValueError: bad 1
                  reraiser() !! ValueError: bad 2
                    leaker() !! ValueError: bad 2
                      explode(x=2) !! ValueError: bad 2
                  squares(xs=[0, 1]) -> ([1], {0: 0, 1: 1})
                    squares.<locals>.<lambda>() -> 0
                    squares.<locals>.<lambda>() -> 1
                  <lambda>(y=3) -> 6
                  <lambda>(v=3) -> -3
                  <lambda>(v=1) -> -1
                  <lambda>(v=2) -> -2
                  posonly(a=1, b=2, c=3, rest=(4,), d=5, kw={'e': 6}) -> 1
                """
            ),
        )

    def test_times_are_seconds_in_log_order(self):
        # Activation events (formatted by hand, recorder._build_hot) and the
        # others (open, close, end; json.dumps) share one clock and one unit:
        # seconds, never decreasing along the log of a one-thread script.
        run, events = self.traced_events(
            {
                "main.py": """
                    import time

                    def gen():
                        yield 1
                        yield 2

                    def work(n):
                        time.sleep(0.002)
                        with open("out.txt", "w") as f:
                            f.write(str(n))
                        if n > 1:
                            raise ValueError(n)
                        return n

                    for v in gen():
                        try:
                            work(v)
                        except ValueError:
                            pass
                """
            }
        )
        timed = [e for e in events if "t" in e and e["e"] != "header"]
        kinds = {e["e"] for e in timed}
        self.assertTrue({"call", "return", "raise", "yield", "resume", "open", "close", "end"} <= kinds, kinds)
        ts = [e["t"] for e in timed]
        self.assertTrue(all(isinstance(t, (int, float)) for t in ts))
        self.assertEqual(ts, sorted(ts))
        self.assertGreater(ts[-1], 0.004)  # two sleeps of 2 ms: seconds, not microseconds
        self.assertLess(ts[-1], 30)
        with open(self._log(run.root), "rb") as f:
            text = f.read().decode("utf-8")
        self.assertRegex(text, r'"e":"call","id":1,"code":1,"parent":null,"t":\d+\.\d{6},')

    def _log(self, root):
        import glob

        return glob.glob(os.path.join(root, ".now", "trials", "*", "events.jsonl"))[0]

    def test_code_events(self):
        run, events = self.traced_events({"main.py": KITCHEN_SINK, "helper.py": HELPER})
        codes = {(e["qualname"], e["line"]) for e in by_type(events, "code")}
        for expected in [
            ("<module>", 1),
            ("deco", 4),
            ("deco.<locals>.wrapper", 6),
            ("decorated", 11),  # the def line, not the decorator's
            ("Shape.unit", 22),
            ("Shape.Inner.method", 28),
            ("<lambda>", 67),
        ]:
            self.assertIn(expected, codes)
        # one code event per code object, before its first call
        seen = set()
        for e in events:
            if e["e"] == "code":
                self.assertNotIn(e["code"], seen)
                seen.add(e["code"])
            elif e["e"] == "call":
                self.assertIn(e["code"], seen)
        self.assertEqual([e["id"] for e in by_type(events, "call")], list(range(1, len(by_type(events, "call")) + 1)))

    def test_generators(self):
        self.assertEqual(
            self.tree(
                """
                import contextlib
                def gen(n):
                    for i in range(n):
                        yield i
                    return "done"
                def delegate():
                    x = yield from gen(2)
                    yield x
                def echo():
                    got = None
                    while True:
                        got = yield got
                def cleanup():
                    try:
                        yield 1
                        yield 2
                    finally:
                        pass
                @contextlib.contextmanager
                def managed():
                    yield "resource"
                list(gen(2))
                list(delegate())
                e = echo(); next(e); e.send("a"); e.send("b")
                c = cleanup(); next(c); c.close()
                with managed():
                    pass
                try:
                    with managed():
                        raise KeyError("in body")
                except KeyError:
                    pass
                sum(x for x in range(2))
                """
            ),
            dedent(
                """
                <module> main.py
                  gen(n=2) yield 0, 1 -> 'done'
                  delegate() yield 0, 1, 'done' -> None
                    gen(n=2) yield 0, 1 -> 'done'
                  echo() yield None, 'a', 'b' …
                  cleanup() yield 1 !! GeneratorExit
                  managed() yield 'resource' -> None
                  managed() yield 'resource' !! KeyError: 'in body'
                  <genexpr>() yield 0, 1 -> None
                """
            ),
        )

    def test_yield_and_resume_events(self):
        run, events = self.traced_events(
            {"main.py": "def g():\n    yield 1\n    yield 2\nfor _ in g():\n    pass\n"}
        )
        kinds = [(e["e"], e.get("value")) for e in events if e["e"] in ("call", "yield", "resume", "return") and e["id"] == 2]
        self.assertEqual(
            kinds,
            [("call", None), ("yield", "1"), ("resume", None), ("yield", "2"), ("resume", None), ("return", "None")],
        )

    def test_coroutines(self):
        self.assertEqual(
            self.tree(
                """
                import asyncio
                async def leaf(x):
                    await asyncio.sleep(0)
                    return x * 2
                async def main():
                    a = await leaf(1)
                    b = await leaf(2)
                    return a + b
                print(asyncio.run(main()))
                """
            ),
            dedent(
                """
                <module> main.py
                  main() yield None, None -> 6
                    leaf(x=1) yield None -> 2
                    leaf(x=2) yield None -> 4
                """
            ),
        )

    @unittest.skipIf(sys.version_info < (3, 13), "3.13-only behaviour")
    def test_generator_closed_outside_try_on_313(self):
        # 3.13 closes a generator suspended outside any try block without
        # running its frame: settrace sees nothing, the activation stays open.
        self.assertEqual(
            self.tree("def g():\n    yield 1\nx = g(); next(x); x.close()\n"),
            "<module> main.py\n  g() yield 1 …",
        )

    def test_exceptions(self):
        run, events = self.traced_events(
            {
                "main.py": """
                    def inner():
                        raise KeyError("k")
                    def caught():
                        try:
                            inner()
                        except KeyError:
                            pass
                        return None
                    def handled_then_raises():
                        try:
                            inner()
                        except KeyError:
                            raise RuntimeError("wrapped")
                    caught()
                    try:
                        handled_then_raises()
                    except RuntimeError as e:
                        pass
                """
            }
        )
        self.assertEqual(
            activation_tree(events),
            dedent(
                """
                <module> main.py
                  caught() -> None
                    inner() !! KeyError: 'k'
                  handled_then_raises() !! RuntimeError: wrapped
                    inner() !! KeyError: 'k'
                """
            ),
        )
        raised = by_type(events, "raise")
        self.assertEqual(raised[0]["exc"], {"type": "KeyError", "message": "'k'"})

    def test_recursion_depth_10000(self):
        main = """
            import sys
            sys.setrecursionlimit(12000)
            def down(n):
                if n == 0:
                    return 0
                return down(n - 1) + 1
            print(down(10000))
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        events = traced.events()
        calls = by_type(events, "call")
        self.assertEqual(len(calls), 10002)
        parents = {e["id"]: e["parent"] for e in calls}
        depth, a = 0, calls[-1]["id"]
        while parents[a] is not None:
            a = parents[a]
            depth += 1
        self.assertEqual(depth, 10001)
        self.assertEqual(len(by_type(events, "return")), 10002)
        self.assertEqual(by_type(events, "return")[-2]["value"], "10000")
        self.assertEqual(by_type(events, "warning"), [])

    def test_threads(self):
        self.assertEqual(
            self.tree(
                """
                import threading
                def work(i):
                    return i + 1
                def spawn():
                    t = threading.Thread(target=work, args=(1,))
                    t.start()
                    t.join()
                class Worker(threading.Thread):
                    def run(self):
                        work(2)
                    def __repr__(self):
                        return "Worker"
                spawn()
                w = Worker(); w.start(); w.join()
                """
            ),
            dedent(
                """
                <module> main.py
                  Worker() -> None
                  spawn() -> None
                    work(i=1) -> 2
                  Worker.run(self=<__main__.Worker object name='Thread-2'>) -> None
                    work(i=2) -> 3
                """
            ),
        )

    def test_comprehensions_are_not_activations(self):
        self.assertEqual(
            self.tree(
                """
                def f(x):
                    return x
                a = [f(i) for i in range(2)]
                b = {f(i) for i in range(1)}
                c = {i: f(i) for i in range(1)}
                """
            ),
            dedent(
                """
                <module> main.py
                  f(x=0) -> 0
                  f(x=1) -> 1
                  f(x=0) -> 0
                  f(x=0) -> 0
                """
            ),
        )

    def test_library_callbacks_keep_project_parent(self):
        self.assertEqual(
            self.tree(
                """
                import functools
                def add(a, b):
                    return a + b
                def total(xs):
                    return functools.reduce(add, xs)
                total([1, 2, 3])
                """
            ),
            dedent(
                """
                <module> main.py
                  total(xs=[1, 2, 3]) -> 6
                    add(a=1, b=2) -> 3
                    add(a=3, b=3) -> 6
                """
            ),
        )

    def test_only_project_files(self):
        # a virtualenv and site-packages folder under the root are not the project
        run, events = self.traced_events(
            {
                "main.py": "import sys\nsys.path.insert(0, 'venv/lib')\nimport vendored\nimport mine\nvendored.f(); mine.g()\n",
                "venv/pyvenv.cfg": "home = /usr\n",
                "venv/lib/vendored.py": "def f():\n    return 1\n",
                "mine.py": "def g():\n    return 2\n",
            }
        )
        files = sorted({e["file"].rsplit("/", 1)[-1] for e in by_type(events, "code")})
        self.assertEqual(files, ["main.py", "mine.py"])


if __name__ == "__main__":
    unittest.main()
