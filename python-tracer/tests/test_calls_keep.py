"""--calls-keep K (coarse mode): the first K activations of each code object are
recorded, the others counted in one `calls_elided` event per code object.

Every test runs under each core this interpreter has (settrace; sysmon on 3.12+).
The comparison of the two cores' whole logs on capped runs is in
test_core_equivalence.py.
"""

from __future__ import annotations

import os
import subprocess

import support
from support import PYTHON, TracerTestCase, by_type, clean_env

ENV = "NOW_TRACER_CORE"


def _cores():
    out = subprocess.run(
        [PYTHON, "-c", "import sys; print(int(sys.version_info >= (3, 12)))"],
        capture_output=True, env=clean_env(), timeout=30,
    ).stdout.strip()
    return ("settrace", "sysmon") if out == b"1" else ("settrace",)


CORES = _cores()

FIB = """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

print(fib(3))
"""

MIXED = """
def leaf(x):
    return x * 10

def outer(x):
    if x >= 2:
        return leaf(x)
    return x

def reader(i):
    with open("data.txt") as f:
        return f.read()

def gen(n):
    for i in range(n):
        yield i

def boom(x):
    raise ValueError(x)

for i in range(4):
    outer(i)
for i in range(3):
    reader(i)
totals = [sum(gen(2)) for _ in range(3)]
for i in range(3):
    try:
        boom(i)
    except ValueError:
        pass
print(totals)
"""


# Past the cap, sysmon counts in C (callcounter.py): plain calls, calls that
# raise, recursion whose recorded root stays running (split), recursion it
# cannot split (a nested function), methods, a cached function, threads, and
# a script that re-enables every DISABLEd event.
HOT = """
import functools, sys, threading

def f(x):
    return x + 1

def g(x):
    raise ValueError(x)

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def outer(n):
    def walk(k):
        return 0 if k == 0 else 1 + walk(k - 1)
    return walk(n)

class T:
    def depth(self, n):
        return 0 if n == 0 else 1 + self.depth(n - 1)

    @staticmethod
    def down(n):
        return 0 if n == 0 else 1 + T.down(n - 1)

@functools.lru_cache(maxsize=None)
def cached(n):
    return n if n < 2 else cached(n - 1) + cached(n - 2)

def even(n):
    return True if n == 0 else odd(n - 1)

def odd(n):
    return False if n == 0 else even(n - 1)

def work(n):
    for i in range(n):
        f(i)

for i in range(500):
    f(i)
for i in range(300):
    try:
        g(i)
    except ValueError:
        pass
code = fib.__code__
print(fib(15), fib.__code__.co_name, fib.__code__ == code)
print(outer(50), outer(50))
print(T().depth(40), T.down(40), cached(60), even(31))
threads = [threading.Thread(target=work, args=(2000,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if hasattr(sys, "monitoring"):
    sys.monitoring.restart_events()
for i in range(100):
    f(i)
print(fib(10))
"""

HOT_OUT = b"610 fib True\n50 50\n40 40 1548008755920 False\n55\n"

# calls_elided with K = 2: every call but the first two of each function
HOT_ELIDED = {
    "f": 500 + 4 * 2000 + 100 - 2,
    "g": 300 - 2,
    "fib": (2 * 987 - 1) + (2 * 89 - 1) - 2,  # fib(15) and fib(10)
    "outer.<locals>.walk": 2 * 51 - 2,  # one code object, two function objects
    "T.depth": 41 - 2,
    "T.down": 41 - 2,
    "cached": 61 - 2,  # lru_cache: each n computed once
    "even": 16 - 2,
    "odd": 16 - 2,
    "work": 4 - 2,
}


class CallsKeep(TracerTestCase):
    def run_capped(self, files, core, options, env=None, stdout=None):
        self._n = getattr(self, "_n", 0) + 1
        folder = self.project(files, name="proj-%s-%d" % (core, self._n))
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", cwd=folder, env=dict(env or {}, **{ENV: core}), options=options)
        self.assertEqual((run.returncode, run.stderr), (0, b""))
        if stdout is not None:
            self.assertEqual(run.stdout, stdout)
        events = support.load_events(folder)
        self.assertEqual(events[0]["core"], core)
        self.assertEqual(by_type(events, "warning"), [])
        return events

    def codes(self, events):
        return {e["code"]: e["qualname"] for e in by_type(events, "code")}

    def elided_by_name(self, events):
        names = self.codes(events)
        return {names[e["code"]]: e["count"] for e in by_type(events, "calls_elided")}

    def test_recursion_keeps_the_first_two(self):
        for core in CORES:
            with self.subTest(core=core):
                events = self.run_capped({"main.py": FIB}, core, ["--calls-keep", "2"])
                self.assertEqual(events[0]["calls_keep"], 2)
                names = self.codes(events)
                calls = [(e["id"], names[e["code"]], e["parent"], e["args"]) for e in by_type(events, "call")]
                # fib(3) -> fib(2) -> fib(1), fib(0); fib(1): only fib(3) and fib(2) are recorded
                self.assertEqual(calls, [
                    (1, "<module>", None, []),
                    (2, "fib", 1, [["n", "3"]]),
                    (3, "fib", 2, [["n", "2"]]),
                ])
                ends = [(e["e"], e["id"], e.get("value")) for e in events if e["e"] in ("return", "raise", "yield", "resume")]
                self.assertEqual(ends, [("return", 3, "1"), ("return", 2, "2"), ("return", 1, "None")])
                fib = [c for c, n in names.items() if n == "fib"][0]
                elided = [(e["code"], e["count"]) for e in by_type(events, "calls_elided")]
                self.assertEqual(elided, [(fib, 3)])
                kinds = [e["e"] for e in events]
                # after the last call, before output and end
                self.assertLess(kinds.index("calls_elided"), kinds.index("output"))
                self.assertEqual(kinds[-1], "end")

    def test_counts_past_the_cap_are_exact(self):
        for core in CORES:
            with self.subTest(core=core):
                events = self.run_capped({"main.py": HOT}, core, ["--calls-keep", "2"], stdout=HOT_OUT)
                if core == "sysmon":
                    self.assertIn(events[0].get("core_counter_tool_id"), (4, 3, 2))
                names = self.codes(events)
                self.assertEqual(self.elided_by_name(events), HOT_ELIDED)
                # the recorded fib activations, fib(15) and fib(14), kept their returns
                calls = {e["id"]: e for e in by_type(events, "call")}
                fib = [(calls[e["id"]]["args"], e["value"]) for e in by_type(events, "return")
                       if names[calls[e["id"]]["code"]] == "fib"]
                self.assertEqual(fib, [([["n", "14"]], "377"), ([["n", "15"]], "610")])

    def test_counts_without_a_second_tool_id(self):
        # Tool ids 3 and 2 already taken when the tracer starts (a sitecustomize,
        # as a coverage or profiling set-up would do): sysmon takes 4 and counts in
        # its PY_START; nothing is split; the counts are the same.
        if "sysmon" not in CORES:
            self.skipTest("sys.monitoring needs Python 3.12+")
        site = self.project({"sitecustomize.py": (
            "import sys\n"
            "sys.monitoring.use_tool_id(3, 'other')\n"
            "sys.monitoring.use_tool_id(2, 'other')\n"
        )}, name="site")
        events = self.run_capped({"main.py": HOT}, "sysmon", ["--calls-keep", "2"], env={"PYTHONPATH": site},
                                 stdout=HOT_OUT)
        self.assertEqual((events[0]["core"], events[0]["core_tool_id"]), ("sysmon", 4))
        self.assertNotIn("core_counter_tool_id", events[0])
        self.assertEqual(self.elided_by_name(events), HOT_ELIDED)

    def test_unbounded_by_default_and_with_zero(self):
        for core in CORES:
            for options in ([], ["--calls-keep", "0"]):
                with self.subTest(core=core, options=options):
                    events = self.run_capped({"main.py": FIB}, core, options)
                    self.assertEqual(events[0]["calls_keep"], 0)
                    self.assertEqual(len(by_type(events, "call")), 1 + 5)
                    self.assertEqual(by_type(events, "calls_elided"), [])

    def test_parents_files_generators_and_raises_past_the_cap(self):
        for core in CORES:
            with self.subTest(core=core):
                events = self.run_capped({"main.py": MIXED, "data.txt": "d"}, core, ["--calls-keep", "2"])
                names = self.codes(events)
                calls = [(e["id"], names[e["code"]], e["parent"], e["args"]) for e in by_type(events, "call")]
                self.assertEqual(calls, [
                    (1, "<module>", None, []),
                    (2, "outer", 1, [["x", "0"]]),
                    (3, "outer", 1, [["x", "1"]]),
                    # outer(2), outer(3) are not recorded; the leaf calls they make
                    # are (leaf's own first two), parented to the module
                    (4, "leaf", 1, [["x", "2"]]),
                    (5, "leaf", 1, [["x", "3"]]),
                    (6, "reader", 1, [["i", "0"]]),
                    (7, "reader", 1, [["i", "1"]]),
                    (8, "gen", 1, [["n", "2"]]),
                    (9, "gen", 1, [["n", "2"]]),
                    (10, "boom", 1, [["x", "0"]]),
                    (11, "boom", 1, [["x", "1"]]),
                ])
                # the third reader's open belongs to the nearest recorded activation
                self.assertEqual([e["activation"] for e in by_type(events, "open")], [6, 7, 1])
                seen = [(e["e"], e["id"]) for e in events if e["e"] in ("return", "raise", "yield", "resume")]
                gen_events = [x for x in seen if x[1] in (8, 9)]
                self.assertEqual(gen_events, [
                    ("yield", 8), ("resume", 8), ("yield", 8), ("resume", 8), ("return", 8),
                    ("yield", 9), ("resume", 9), ("yield", 9), ("resume", 9), ("return", 9),
                ])
                self.assertEqual([x for x in seen if x[0] == "raise"], [("raise", 10), ("raise", 11)])
                self.assertEqual({x[1] for x in seen}, set(range(1, 12)))
                by_name = {v: k for k, v in names.items()}
                elided = [(e["code"], e["count"]) for e in by_type(events, "calls_elided")]
                self.assertEqual(elided, sorted([
                    (by_name["outer"], 2), (by_name["reader"], 1), (by_name["gen"], 1), (by_name["boom"], 1),
                ]))

    def test_fine_mode_ignores_it(self):
        for core in CORES:
            with self.subTest(core=core):
                events = self.run_capped({"main.py": FIB}, core, ["--fine", "--calls-keep", "1"])
                self.assertEqual(events[0]["calls_keep"], 1)
                self.assertEqual(events[0]["granularity"], "fine")
                self.assertEqual(len(by_type(events, "call")), 1 + 5)
                self.assertEqual(by_type(events, "calls_elided"), [])

    def test_bad_calls_keep(self):
        folder = self.project({"main.py": "x = 1\n"})
        for bad in ("-1", "x", "1.5", ""):
            with self.subTest(value=bad):
                run = self.run_traced("main.py", cwd=folder, options=["--calls-keep", bad])
                self.assertEqual(run.returncode, 2)
                self.assertEqual(run.stdout, b"")
                lines = run.stderr.decode().splitlines()
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith("now_tracer: error: argument --calls-keep"), lines)
                self.assertFalse(os.path.exists(os.path.join(folder, ".now")))
        run = self.run_traced("main.py", cwd=folder, options=["--calls-keep"])
        self.assertEqual(run.returncode, 2)
