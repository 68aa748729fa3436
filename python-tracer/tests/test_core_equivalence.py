"""The two cores record the same provenance for the same script.

Each script below (and every fine-mode case of test_fine.py, the bundled demo
and the benchmark scripts made small) runs twice in the same freshly written
folder — once with NOW_TRACER_CORE=settrace, once with NOW_TRACER_CORE=sysmon —
in coarse and in fine mode, and the two event logs must be equal event by
event once what legitimately differs is taken out: times (`t`), the header's
core fields, trial id, pid and t0, the deployment event, and object addresses
in reprs (`0x7f…`). That covers activations (code, parent, arguments), returns,
raises, yields, resumes, file accesses with their hashes, modules, and in fine
mode every value, its dependencies, calls and files, `elided`, `alias` and
`returned`.

The sysmon half needs Python 3.12+ (the interpreter the scripts run with,
NOW_TEST_PYTHON); below that these tests check only that the settrace core
records a script the same way twice (ids, order, values), and are skipped
for the comparison itself.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import unittest

import support
import test_fine
from support import PYTHON, TRACER, TracerTestCase, clean_env, dedent, write_files

ENV = "NOW_TRACER_CORE"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _version():
    out = subprocess.run(
        [PYTHON, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
        capture_output=True, env=clean_env(), timeout=30,
    ).stdout.split()
    return tuple(int(x) for x in out)


VERSION = _version()
HAS_SYSMON = VERSION >= (3, 12)

SCRIPTS = {
    "calls, recursion, methods, lambdas": {
        "main.py": """
            import helper

            def fib(n):
                if n < 2:
                    return n
                return fib(n - 1) + fib(n - 2)

            class Box:
                def __init__(self, w):
                    self.w = w
                def grow(self, by=1, *extra, scale=2, **opts):
                    self.w = (self.w + by + sum(extra)) * scale
                    return self.w

            b = Box(3)
            for k in range(4):
                b.grow(k, 1, 2, scale=k, tag="x")
            sq = list(map(lambda v: v * v, range(5)))
            ordered = sorted(["bb", "a", "ccc"], key=lambda s: len(s))
            total = sum(x * 2 for x in range(6))
            comp = [helper.twice(i) for i in range(3)]
            print(fib(8), b.w, sq, ordered, total, comp)
        """,
        "helper.py": """
            def twice(x):
                y = x * 2
                return y
        """,
    },
    "generators: send, throw, close, yield from, contextmanager": {
        "main.py": """
            import contextlib

            def counter(n):
                i = 0
                while i < n:
                    got = yield i
                    if got:
                        i += got
                    i += 1
                return "done"

            def outer():
                r = yield from counter(3)
                yield r

            def catcher():
                while True:
                    try:
                        v = yield
                    except ValueError as e:
                        yield "caught %s" % e

            @contextlib.contextmanager
            def managed(tag):
                before = tag + "-in"
                try:
                    yield before
                finally:
                    after = tag + "-out"

            g = counter(10)
            a = next(g)
            b = g.send(2)
            g.close()
            print(a, b, list(outer()))
            c = catcher()
            next(c)
            print(c.throw(ValueError("bad")))
            c.close()
            with managed("m") as m:
                print(m)
            try:
                with managed("n"):
                    raise KeyError("k")
            except KeyError:
                pass
            suspended = counter(5)
            next(suspended)
        """,
    },
    "exceptions through frames": {
        "main.py": """
            def inner(v):
                if v > 2:
                    raise ValueError("too big: %d" % v)
                return v

            def middle(v):
                try:
                    return inner(v) + 1
                finally:
                    cleanup = v

            def safe(v):
                try:
                    return middle(v)
                except ValueError as e:
                    msg = str(e)
                    return -1

            out = [safe(j) for j in range(5)]
            for i in range(3):
                try:
                    middle(i + 2)
                except ValueError:
                    out.append(i)
            it = iter([1, 2])
            for a in it:
                out.append(a)
            print(out)
        """,
    },
    "loops: one-line, while, nested, break, continue, else": {
        "main.py": """
            def loops(n):
                s = 0
                for i in range(n): s += i
                j = 0
                while j < n: j += 3
                acc = []
                for a in range(3):
                    for b in range(3):
                        if b == 1:
                            continue
                        if a == 2:
                            break
                        acc.append((a, b))
                    else:
                        tail = a
                k = n
                while k:
                    k -= 1
                else:
                    done = True
                return s, j, acc

            print(loops(12))
            total = 0
            for x in range(20):
                total += x
                if total > 100:
                    break
            print(total)
        """,
    },
    "files, with, multi-line statements": {
        "main.py": """
            import os

            def save(path, rows):
                with open(path, "w") as f:
                    for r in rows:
                        f.write("%d\\n" % r)
                return len(rows)

            def load(path):
                with open(path) as f:
                    data = [int(line)
                            for line in f]
                return data

            n = save("out.txt",
                     [1, 2,
                      3])
            back = load("out.txt")
            text = open("in.txt").read()
            d = {
                "n": n,
                "back": back,
            }
            os.remove("out.txt")
            print(d, text.strip())
        """,
        "in.txt": "hello\n",
    },
    "async and threads": {
        "main.py": """
            import asyncio
            import threading

            async def fetch(k):
                await asyncio.sleep(0)
                v = k * 10
                return v

            async def main():
                a = await fetch(1)
                rest = await asyncio.gather(fetch(2), fetch(3))
                return a + sum(rest)

            result = asyncio.run(main())

            def work(out, k):
                out.append(k * 2)

            out = []
            t = threading.Thread(target=work, args=(out, 5))
            t.start()
            t.join()
            print(result, out)
        """,
    },
    "classes, closures, globals, match": {
        "main.py": """
            import sys
            LIMIT = 3
            counter = {"n": 0}

            def make(k):
                def add(v):
                    return v + k
                return add

            class Meta(type):
                pass

            class Base(metaclass=Meta):
                kind = "base"
                def describe(self):
                    return self.kind

            class Child(Base):
                kind = "child"

            def bump():
                global LIMIT
                LIMIT += 1
                counter["n"] += 1

            add5 = make(5)
            vals = [add5(i) for i in range(LIMIT)]
            bump()
            print(vals, Child().describe(), LIMIT, counter)
            if sys.version_info >= (3, 10):
                exec(compile('''
            def kind(cmd):
                match cmd:
                    case ["go", where]:
                        r = where
                    case _:
                        r = None
                return r
            print(kind(["go", "north"]), kind([]))
            ''', "matcher.py", "exec"))
        """,
    },
}


# --calls-keep 3 (coarse): activations past a code object's third are counted,
# not recorded; what runs inside them still is.
CAPPED = {
    "capped: recursion, generators, exceptions, threads, files, uncapped callees": {
        "main.py": """
            import contextlib
            import threading

            def fib(n):
                if n < 2:
                    return n
                return fib(n - 1) + fib(n - 2)

            def leaf(x):
                return x + 1

            def capped(x):
                if x >= 3:
                    return leaf(x)
                return x

            def counter(n):
                i = 0
                while i < n:
                    got = yield i
                    if got:
                        i += got
                    i += 1
                return "done"

            def outer(n):
                r = yield from counter(n)
                yield r

            def catcher():
                while True:
                    try:
                        v = yield
                    except ValueError as e:
                        yield "caught %s" % e

            @contextlib.contextmanager
            def managed(tag):
                try:
                    yield tag + "-in"
                finally:
                    leaf(1)

            def inner(v):
                if v > 1:
                    raise ValueError("too big: %d" % v)
                return v

            def middle(v):
                try:
                    return inner(v) + 1
                finally:
                    leaf(v)

            def safe(v):
                try:
                    return middle(v)
                except ValueError:
                    return -1

            def reader(i):
                with open("in.txt") as f:
                    return f.read().strip() + str(leaf(i))

            def in_thread(k):
                return k * 2

            def work(out, k):
                out.append(capped(k))
                out.append(fib(4))
                if k >= 3:
                    out.append(in_thread(k))

            def stale(n):
                for i in range(n):
                    yield i

            async def fetch(k):
                return leaf(k)

            async def amain():
                vals = []
                for k in range(5):
                    vals.append(await fetch(k))
                return vals

            print(fib(7), [capped(a1) for a1 in range(6)])
            outs = [list(outer(a2)) for a2 in range(5)]
            gens = [counter(4) for a3 in range(5)]
            firsts = [next(a4) for a4 in gens]
            sent = [a5.send(1) for a5 in gens]
            for g in gens:
                g.close()
            for k in range(5):
                c = catcher()
                next(c)
                firsts.append(c.throw(ValueError(k)))
                c.close()
            for k in range(5):
                with managed("m%d" % k) as m:
                    firsts.append(m)
            for k in range(5):
                try:
                    with managed("x"):
                        raise KeyError(k)
                except KeyError:
                    pass
            print(outs, firsts, sent, [safe(a6) for a6 in range(6)])
            for i in range(3):
                try:
                    middle(i + 2)
                except ValueError:
                    pass
            print([reader(a7) for a7 in range(5)])
            out = []
            for k in range(4):
                t = threading.Thread(target=work, args=(out, k))
                t.start()
                t.join()
            import asyncio
            print(out, asyncio.run(amain()))
            for _ in range(8):
                for x in stale(10):
                    break
            print([a8 for a8 in counter(3)])
        """,
        "in.txt": "hello\n",
    },
}


def normalise(events, root):
    out = []
    for e in events:
        k = e["e"]
        if k == "deployment":
            continue
        e = dict(e)
        e.pop("t", None)
        if k == "header":
            for f in ("core", "core_reason", "core_tool_id", "core_counter_tool_id", "trial", "pid", "t0"):
                e.pop(f, None)
        text = json.dumps(e, sort_keys=True)
        text = re.sub(r"0x[0-9a-f]+", "0x…", text)
        # a Thread's repr: its ident, and whether it has ended yet (timing, not provenance)
        text = re.sub(r"(initial|started|stopped)( daemon)? \d+", r"<state>\2 <ident>", text)
        out.append(text.replace(root, "<root>"))
    return out


class EquivalenceBase(TracerTestCase):
    def log_of(self, files, core, fine, args=(), keep=None):
        folder = os.path.join(self.tmp, "proj")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(os.path.join(folder, ".git"))
        write_files(folder, files)
        log = os.path.join(self.tmp, "events-%s-%s.jsonl" % (core, "fine" if fine else "coarse"))
        if os.path.exists(log):
            os.remove(log)
        options = ["--log", log] + (["--fine"] if fine else [])
        if keep is not None:
            options += ["--calls-keep", str(keep)]
        run = self.run_traced("main.py", args, cwd=folder, env={ENV: core}, options=options)
        self.assertEqual(run.returncode, 0, run.stderr.decode("utf-8", "replace"))
        events = support.load_events(folder, log)
        header = events[0]
        self.assertEqual(header["core"], core)
        self.assertEqual(header["granularity"], "fine" if fine else "coarse")
        self.assertEqual(header["calls_keep"], keep or 0)
        warnings = [e for e in events if e["e"] == "warning"]
        self.assertEqual(warnings, [], "%s core warned" % core)
        return run, normalise(events, folder)

    def compare(self, files, fine, args=(), keep=None):
        plain_core = "sysmon" if HAS_SYSMON else "settrace"
        a_run, a = self.log_of(files, "settrace", fine, args, keep)
        b_run, b = self.log_of(files, plain_core, fine, args, keep)
        self.assertEqual((a_run.stdout, a_run.stderr), (b_run.stdout, b_run.stderr))
        if a != b:
            diff = "\n".join(difflib.unified_diff(a, b, "settrace", plain_core, n=3, lineterm=""))
            self.fail("the cores recorded differently (%s mode):\n%s" % ("fine" if fine else "coarse", diff))
        kinds = {json.loads(x)["e"] for x in a}
        self.assertIn("call", kinds)
        if fine:
            self.assertIn("value", kinds)
        return a


def _make(files, fine, args=(), min_version=(3, 8), keep=None, elided=False):
    def test(self):
        if VERSION < min_version:
            self.skipTest("needs Python %d.%d" % min_version)
        log = self.compare(files, fine, args, keep)
        if elided:  # the cap was reached: the comparison covers calls_elided
            self.assertIn("calls_elided", {json.loads(x)["e"] for x in log})

    return test


def _files_of(case_files):
    return {k: (dedent(v) + "\n" if isinstance(v, str) else v) for k, v in case_files.items()}


def _read_tree(folder):
    files = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if name.endswith((".pyc",)):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


def _add(cls, name, files, fine, args=(), min_version=(3, 8), keep=None, elided=False):
    mode = ("fine" if fine else "coarse") + ("" if keep is None else "_keep%d" % keep)
    setattr(cls, "test_%s_%s" % (mode, re.sub(r"\W+", "_", name).strip("_")),
            _make(files, fine, args, min_version, keep, elided))


@unittest.skipUnless(HAS_SYSMON, "sys.monitoring needs Python 3.12+: only settrace runs here")
class CoreEquivalence(EquivalenceBase):
    """settrace and sysmon, coarse and fine, on the scripts above, the fine
    cases of test_fine.py, the demo and the benchmark scripts."""


class ComprehensionShadow(EquivalenceBase):
    """A module-level list comprehension (inlined on 3.12+) whose variable a
    later `for` loop reuses. Under settrace, CPython 3.12 syncs the module
    frame's f_locals with the comprehension's stale hidden local, so reading
    `i` gives the previous iteration's value (0, 0, 1); sys.monitoring
    callbacks do not write locals back (0, 1, 2, as on 3.13 with either
    core). This is why the equivalence script above names its comprehension
    variable `j`. The default core must record the right values."""

    def test_loop_values_after_a_comprehension_of_the_same_name(self):
        files = {"main.py": "out = [i * 2 for i in range(5)]\nfor i in range(3):\n    x = i\n    y = x + 1\n"}
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", cwd=folder, options=["--fine"], env={ENV: ""})
        self.assertEqual(run.returncode, 0, run.stderr)
        events = support.load_events(folder)
        got = [(e["target"], e["value"]) for e in events if e["e"] == "value" and e["line"] in (2, 3)]
        self.assertEqual(got, [("i", "0"), ("x", "0"), ("i", "1"), ("x", "1"), ("i", "2"), ("x", "2")])


@unittest.skipIf(HAS_SYSMON, "the comparison of the two cores runs instead")
class SettraceRepeatable(EquivalenceBase):
    """Below 3.12: the settrace core records the same script identically twice
    (the comparison's own premise: nothing but the core may differ)."""

    def test_fine_and_coarse_repeatable(self):
        files = _files_of(SCRIPTS["generators: send, throw, close, yield from, contextmanager"])
        for fine in (False, True):
            a = self.log_of(files, "settrace", fine)[1]
            b = self.log_of(files, "settrace", fine)[1]
            self.assertEqual("\n".join(a), "\n".join(b))


for _name, _files in SCRIPTS.items():
    for _fine in (False, True):
        _add(CoreEquivalence, _name, _files_of(_files), _fine)

for _name, _files in CAPPED.items():
    for _keep in (1, 3):
        _add(CoreEquivalence, _name, _files_of(_files), False, keep=_keep, elided=True)
    _add(CoreEquivalence, _name, _files_of(_files), True, keep=3)
for _name, _files in SCRIPTS.items():
    _add(CoreEquivalence, _name, _files_of(_files), False, keep=3)

for _name, _case in test_fine.CASES.items():
    _add(CoreEquivalence, "case " + _name, _files_of(_case["files"]), True, min_version=_case.get("min", (3, 8)))
    _add(CoreEquivalence, "case " + _name, _files_of(_case["files"]), False, min_version=_case.get("min", (3, 8)))

_demo = os.path.join(REPO, "examples", "precipitation")
if os.path.isdir(_demo):
    _demo_files = _read_tree(_demo)
    _demo_files["main.py"] = _demo_files.pop("experiment.py")
    for _fine in (False, True):
        _add(CoreEquivalence, "demo", _demo_files, _fine, args=("2013", "2014"))


def _bench(name, *replacements):
    """A benchmark script with its sizes made small."""
    path = os.path.join(REPO, "bench", "scripts", name)
    with open(path) as f:
        text = f.read()
    for old, new in replacements:
        assert old in text, (name, old)
        text = text.replace(old, new)
    return {"main.py": text}


for _fine in (False, True):
    _add(CoreEquivalence, "callheavy small",
         _bench("callheavy.py", ("fib(25)", "fib(9)"), ("count(250000)", "count(300)")), _fine)
    _add(CoreEquivalence, "loopheavy small", _bench("loopheavy.py", ("checksum(400000)", "checksum(500)")), _fine)
    _add(CoreEquivalence, "libheavy small", _bench("libheavy.py", ("make_records(12000)", "make_records(50)")), _fine)
for _keep in (3, 1000):
    _add(CoreEquivalence, "callheavy small",
         _bench("callheavy.py", ("fib(25)", "fib(16)"), ("count(250000)", "count(300)")), False, keep=_keep, elided=True)
    _add(CoreEquivalence, "loopheavy small", _bench("loopheavy.py", ("checksum(400000)", "checksum(500)")), False,
         keep=_keep)
    _add(CoreEquivalence, "libheavy small", _bench("libheavy.py", ("make_records(12000)", "make_records(50)")), False,
         keep=_keep)


if __name__ == "__main__":
    unittest.main()
