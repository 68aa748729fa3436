"""Fine granularity (`--fine`): values of assignments, their dependencies,
calls and file accesses, bounded loops.

Most cases are data: a small project and the expected values written out as
text, one line per event of each activation, e.g.

    <module>#1
      L3 x = 2 (augassign)  <- a@1, x@2
      L9 r = 6 (assign)  <- area@5, b@8  calls: area#2
    area#2
      L5 w = 3 (param)  <- area@5, b@8
      L7 return 6  <- s@6

`<- a@1` names the dependencies by target and line (`x@5…` is an `elided`
value standing for many, `f#2.return` the value returned by activation 2),
`calls:` the activations started while the statement ran (their `returned`
values fed it), `files:` the file accesses opened meanwhile. The module's own
`returned` (which depends on every global) is left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import unittest

from support import PYTHON, TracerTestCase, by_type, dedent, load_events

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples")
FINE_EVENTS = ("value", "returned", "elided", "alias", "unknown")


def python_version():
    """(major, minor) of the interpreter the scripts run with."""
    if PYTHON == sys.executable:
        return sys.version_info[:2]
    import subprocess

    out = subprocess.run([PYTHON, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


PY = python_version()


def render(events) -> str:
    codes = {e["code"]: e for e in events if e["e"] == "code"}
    calls = {e["id"]: e for e in events if e["e"] == "call"}
    opens = {e["id"]: e for e in events if e["e"] == "open"}

    def act_name(a):
        c = calls.get(a)
        return "%s#%d" % (codes[c["code"]]["qualname"], a) if c else "?#%d" % a

    nodes, alias = {}, {}
    for e in events:
        if e["e"] in ("value", "elided"):
            nodes[e["id"]] = "%s@%d%s" % (e["target"], e["line"], "…" if e["e"] == "elided" else "")
        elif e["e"] == "returned":
            nodes[e["id"]] = act_name(e["act"]) + ".return"
        elif e["e"] == "alias":
            alias[e["id"]] = e["to"]

    def dep(d):
        if d in nodes:
            return nodes[d]
        return nodes.get(alias.get(d), "?%d" % d)

    out: dict = {}
    for e in events:
        k = e["e"]
        if k not in ("value", "returned", "elided", "unknown"):
            continue
        lines = out.setdefault(e["act"], [])
        if k == "elided":
            lines.append("L%d %s … %d elided" % (e["line"], e["target"], e["count"]))
            continue
        if k == "unknown":
            lines.append("L%d unknown: %s" % (e["line"], e["reason"]))
            continue
        if k == "returned":
            if codes[calls[e["act"]]["code"]]["name"] == "<module>":
                continue
            s = "L%d return %s" % (e["line"], e["value"])
        else:
            s = "L%d %s = %s (%s)" % (e["line"], e["target"], e["value"], e["kind"])
        if e.get("deps"):
            s += "  <- " + ", ".join(sorted(set(dep(d) for d in e["deps"])))
        if e.get("calls"):
            s += "  calls: " + ", ".join(act_name(c) for c in e["calls"])
        if e.get("files"):
            s += "  files: " + ", ".join(os.path.basename(opens[f]["path"]) for f in e["files"])
        lines.append(s)
    text = []
    for a in sorted(out):
        text.append(act_name(a))
        text.extend("  " + line for line in out[a])
    text = "\n".join(text)
    text = re.sub(r" at 0x[0-9a-f]+", "", text)
    text = re.sub(r"<module '([\w.]+)' (?:from '[^']*'|\(frozen\)|\(built-in\))>", r"<module '\1'>", text)
    return text


HELPER = """
    VALUE = 5

    def twice(x):
        return 2 * x
"""

# name: (files, expected, options)  — main.py is the script; "min": (3, 10)…
CASES = {
    "assignments": dict(
        files={"main.py": """
            a = b = 1
            x, (y, *z) = 1, (2, 3, 4)
            x += a
            n: int = 5
            m: int
            q = (n
                 + 1)
            a = 2; c = a
            del c
            c = q if q > 100 else x
        """},
        expected="""
            <module>#1
              L1 a = 1 (assign)
              L1 b = 1 (assign)
              L2 x = 1 (assign)
              L2 y = 2 (assign)
              L2 z = [3, 4] (assign)
              L3 x = 2 (augassign)  <- a@1, x@2
              L4 n = 5 (annassign)
              L6 q = 6 (assign)  <- n@4
              L8 a = 2 (assign)
              L8 c = 2 (assign)  <- a@8
              L10 c = 2 (assign)  <- q@6, x@3
        """,
    ),
    "attributes and subscripts": dict(
        files={"main.py": """
            class Box:
                def __init__(self, w):
                    self.w = w
                @property
                def double(self):
                    return self.w * 2
                @double.setter
                def double(self, v):
                    self.w = v // 2

            b = Box(3)
            b.w = 4
            b.double = 10
            d = {}
            k = "key"
            d[k] = b.w
            d["c"] = 1
            d[len(d)] = k
            l = [0, 0]
            l[-1] = d
            l.append(k)
        """},
        expected="""
            <module>#1
              L1 Box = <class '__main__.Box'> (class)  calls: Box#2
              L11 b = <__main__.Box object w=3> (assign)  <- Box@1  calls: Box.__init__#3
              L12 b.w = 4 (assign)  <- b@11
              L13 b.double = <not evaluated> (assign)  <- b.w@12  calls: Box.double#4
              L14 d = {} (assign)
              L15 k = 'key' (assign)
              L16 d[k] = 5 (assign)  <- b.double@13, d@14, k@15
              L17 d["c"] = 1 (assign)  <- d[k]@16
              L18 d[len(d)] = <not evaluated> (assign)  <- d["c"]@17, k@15
              L19 l = [0, 0] (assign)
              L20 l[-1] = {'key': 5, 'c': 1, 2: 'key'} (assign)  <- d[len(d)]@18, l@19
              L21 l = [0, {'key': 5, 'c': 1, 2: 'key'}, 'key'] (mutation)  <- k@15, l[-1]@20
            Box#2
              L2 __init__ = <function Box.__init__> (def)
              L5 double = <property object> (def)
              L8 double = <property object> (def)  <- double@5
              L8 return None  <- __init__@2, double@8
            Box.__init__#3
              L2 self = <__main__.Box object> (param)  <- Box@1
              L2 w = 3 (param)  <- Box@1
              L3 self.w = 3 (assign)  <- self@2, w@2
              L3 return None
            Box.double#4
              L8 self = <__main__.Box object w=4> (param)  <- b.w@12
              L8 v = 10 (param)  <- b.w@12
              L9 self.w = 5 (assign)  <- self@8, v@8
              L9 return None
        """,
    ),
    "functions": dict(
        files={"main.py": """
            def area(w, h=2):
                s = w * h
                return s

            def outer(n):
                def inner(m):
                    return m + n
                return inner(n) * 2

            x = 3
            a = area(x)
            b = outer(a)
            sq = lambda k: k * x
            c = sq(area(a, h=1))
        """},
        expected="""
            <module>#1
              L1 area = <function area> (def)
              L5 outer = <function outer> (def)
              L10 x = 3 (assign)
              L11 a = 6 (assign)  <- area@1, x@10  calls: area#2
              L12 b = 24 (assign)  <- a@11, outer@5  calls: outer#3
              L13 sq = <function <lambda>> (assign)
              L14 c = 18 (assign)  <- a@11, area@1, sq@13  calls: area#5, <lambda>#6
            area#2
              L1 w = 3 (param)  <- area@1, x@10
              L1 h = 2 (param)  <- area@1, x@10
              L2 s = 6 (assign)  <- h@1, w@1
              L3 return 6  <- s@2
            outer#3
              L5 n = 6 (param)  <- a@11, outer@5
              L6 inner = <function outer.<locals>.inner> (def)
              L8 return 24  <- inner@6, n@5  calls: outer.<locals>.inner#4
            outer.<locals>.inner#4
              L6 m = 6 (param)  <- inner@6, n@5
              L7 return 12  <- m@6
            area#5
              L1 w = 6 (param)  <- a@11, area@1, sq@13
              L1 h = 1 (param)  <- a@11, area@1, sq@13
              L2 s = 6 (assign)  <- h@1, w@1
              L3 return 6  <- s@2
            <lambda>#6
              L13 k = 6 (param)  <- a@11, area@1, sq@13  calls: area#5
              L13 return 18  <- k@13, x@10
        """,
    ),
    "exceptions": dict(
        files={"main.py": """
            def risky(v):
                if v < 0:
                    raise ValueError("neg %d" % v)
                return v

            x = 1
            try:
                x = risky(-1)
            except ValueError as e:
                msg = str(e)
            except KeyError as other:
                msg = "key"
            y = x
        """},
        expected="""
            <module>#1
              L1 risky = <function risky> (def)
              L6 x = 1 (assign)
              L9 e = ValueError('neg -1') (except)
              L10 msg = 'neg -1' (assign)  <- e@9
              L13 y = 1 (assign)  <- x@6
            risky#2
              L1 v = -1 (param)  <- risky@1
        """,
    ),
    "generators": dict(
        files={"main.py": """
            def countdown(n):
                while n > 0:
                    got = yield n
                    n -= 1
                return "done"

            out = []
            for v in countdown(2):
                out.append(v)
            g = countdown(5)
            first = next(g)
        """},
        expected="""
            <module>#1
              L1 countdown = <function countdown> (def)
              L7 out = [] (assign)
              L8 v = 2 (for)  <- countdown@1  calls: countdown#2
              L9 out = [2] (mutation)  <- out@7, v@8
              L8 v = 1 (for)  <- countdown@1  calls: countdown#2
              L9 out = [2, 1] (mutation)  <- out@9, v@8
              L10 g = <generator object countdown> (assign)  <- countdown@1
              L11 first = 5 (assign)  <- g@10  calls: countdown#3
            countdown#2
              L1 n = 2 (param)  <- countdown@1
              L3 got = None (assign)  <- n@1
              L4 n = 1 (augassign)  <- n@1
              L3 got = None (assign)  <- n@4
              L4 n = 0 (augassign)  <- n@4
              L5 return 'done'  <- n@1, n@4
            countdown#3
              L1 n = 5 (param)  <- countdown@1
        """,
    ),
    "files": dict(
        files={"main.py": """
            with open("data.txt") as f:
                head = f.readline().strip()
                num = int(f.readline())
            total = num * 2
            with open("out.txt", "w") as o:
                o.write(str(total))
            def load(path):
                return open(path).read()
            text = load("data.txt")
        """, "data.txt": "hello\n42\n"},
        expected="""
            <module>#1
              L1 f = <_io.TextIOWrapper name='data.txt' mode='r' encoding='UTF-8'> (with)  files: data.txt
              L2 head = 'hello' (assign)  <- f@1
              L3 num = 42 (assign)  <- f@1
              L4 total = 84 (assign)  <- num@3
              L5 o = <_io.TextIOWrapper name='out.txt' mode='w' encoding='UTF-8'> (with)  files: out.txt
              L6 o = <_io.TextIOWrapper name='out.txt' mode='w' encoding='UTF-8'> (mutation)  <- o@5, total@4  files: out.txt
              L7 load = <function load> (def)
              L9 text = 'hello\\n42\\n' (assign)  <- load@7  calls: load#2
            load#2
              L7 path = 'data.txt' (param)  <- load@7
              L8 return 'hello\\n42\\n'  <- path@7  files: data.txt
        """,
    ),
    "walrus and comprehensions": dict(
        files={"main.py": """
            data = [3, 1, 2]
            ys = [v * 2 for v in data if v > 1]
            s = {v for v in data}
            m = {v: w for v in data for w in ys}
            if (n := len(ys)) > 1:
                big = n
            total = sum(v for v in ys)
            while (item := data.pop()) != 3:
                last = item
        """},
        expected="""
            <module>#1
              L1 data = [3, 1, 2] (assign)
              L2 ys = [6, 4] (comprehension)  <- data@1
              L3 s = {1, 2, 3} (comprehension)  <- data@1
              L4 m = {3: 4, 1: 4, 2: 4} (comprehension)  <- data@1, ys@2
              L5 n = 2 (walrus)  <- ys@2
              L6 big = 2 (assign)  <- n@5
              L7 total = 10 (assign)  <- ys@2
              L8 item = 2 (walrus)  <- data@1
              L9 last = 2 (assign)  <- item@8
              L8 item = 1 (walrus)  <- data@1
              L9 last = 1 (assign)  <- item@8
              L8 item = 3 (walrus)  <- data@1
        """,
    ),
    "one-line statements": dict(
        files={"main.py": """
            q = 0
            for i in range(3): q += i + 1
            if q > 100: q = 0
            if q > 1: r = q
        """},
        expected="""
            <module>#1
              L1 q = 0 (assign)
              L2 i = 0 (for)
              L2 q = 1 (augassign)  <- i@2, q@1
              L2 i = 1 (for)
              L2 q = 3 (augassign)  <- i@2, q@2
              L2 i = 2 (for)
              L2 q = 6 (augassign)  <- i@2, q@2
              L4 r = 6 (assign)  <- q@2
        """,
    ),
    "imports, globals, definitions": dict(
        files={"helper.py": HELPER, "main.py": """
            import helper
            from helper import VALUE as V, twice
            count = 0
            def bump(by):
                global count
                count = count + by
                return count
            bump(V)
            r = twice(count)
        """},
        expected="""
            <module>#1
              L1 helper = <module 'helper'> (import)  calls: <module>#2
              L2 V = 5 (import)
              L2 twice = <function twice> (import)
              L3 count = 0 (assign)
              L4 bump = <function bump> (def)
              L9 r = 10 (assign)  <- count@6, twice@2  calls: twice#4
            <module>#2
              L1 VALUE = 5 (assign)
              L3 twice = <function twice> (def)
            bump#3
              L4 by = 5 (param)  <- V@2, bump@4
              L6 count = 5 (global)  <- by@4, count@3
              L7 return 5  <- count@6
            twice#4
              L3 x = 5 (param)  <- count@6, twice@2
              L4 return 10  <- x@3
        """,
    ),
    "star import is unknown": dict(
        files={"helper.py": HELPER, "main.py": """
            from helper import *
            y = VALUE
        """},
        expected="""
            <module>#1
              L1 unknown: from helper import *: the names it binds are not known statically
              L2 y = 5 (assign)
            <module>#2
              L1 VALUE = 5 (assign)
              L3 twice = <function twice> (def)
        """,
    ),
    "bounded loop": dict(
        files={"main.py": """
            total = 0
            x = 1
            for i in range(100000):
                x = (x * 7 + i) % 1000
                total += x
            result = total
        """},
        expected="""
            <module>#1
              L1 total = 0 (assign)
              L2 x = 1 (assign)
              L3 i = 0 (for)
              L4 x = 7 (assign)  <- i@3, x@2
              L5 total = 7 (augassign)  <- total@1, x@4
              L3 i = 1 (for)
              L4 x = 50 (assign)  <- i@3, x@4
              L5 total = 57 (augassign)  <- total@5, x@4
              L3 i = 2 (for)
              L4 x = 352 (assign)  <- i@3, x@4
              L5 total = 409 (augassign)  <- total@5, x@4
              L6 result = 49950000 (assign)  <- total@5
              L3 i … 99994 elided
              L4 x … 99994 elided
              L5 total … 99994 elided
              L3 i = 99997 (for)
              L4 x = 184 (assign)  <- i@3, x@4…
              L5 total = 49949713 (augassign)  <- total@5…, x@4
              L3 i = 99998 (for)
              L4 x = 286 (assign)  <- i@3, x@4
              L5 total = 49949999 (augassign)  <- total@5, x@4
              L3 i = 99999 (for)
              L4 x = 1 (assign)  <- i@3, x@4
              L5 total = 49950000 (augassign)  <- total@5, x@4
        """,
    ),
    "alias for an elided value already named": dict(
        files={"main.py": """
            def f(v):
                return v
            acc = 0
            for i in range(10):
                acc += i
                if i == 5:
                    snap = f(acc)
        """},
        expected="""
            <module>#1
              L1 f = <function f> (def)
              L3 acc = 0 (assign)
              L4 i = 0 (for)
              L5 acc = 0 (augassign)  <- acc@3, i@4
              L4 i = 1 (for)
              L5 acc = 1 (augassign)  <- acc@5, i@4
              L4 i = 2 (for)
              L5 acc = 3 (augassign)  <- acc@5, i@4
              L7 snap = 15 (assign)  <- acc@5…, f@1  calls: f#2
              L4 i … 4 elided
              L5 acc … 4 elided
              L4 i = 7 (for)
              L5 acc = 28 (augassign)  <- acc@5…, i@4
              L4 i = 8 (for)
              L5 acc = 36 (augassign)  <- acc@5, i@4
              L4 i = 9 (for)
              L5 acc = 45 (augassign)  <- acc@5, i@4
            f#2
              L1 v = 15 (param)  <- acc@5…, f@1
              L2 return 15  <- v@1
        """,
    ),
    "async": dict(
        files={"main.py": """
            import asyncio

            async def fetch(k):
                await asyncio.sleep(0)
                return k * 2

            async def main():
                a = await fetch(1)
                b = await fetch(a)
                return a + b

            res = asyncio.run(main())
        """},
        expected="""
            <module>#1
              L1 asyncio = <module 'asyncio'> (import)
              L3 fetch = <function fetch> (def)
              L7 main = <function main> (def)
              L12 res = 6 (assign)  <- asyncio@1, main@7  calls: main#2
            main#2
              L8 a = 2 (assign)  <- fetch@3  calls: fetch#3
              L9 b = 4 (assign)  <- a@8, fetch@3  calls: fetch#4
              L10 return 6  <- a@8, b@9
            fetch#3
              L3 k = 1 (param)  <- fetch@3
              L5 return 2  <- k@3
            fetch#4
              L3 k = 2 (param)  <- a@8, fetch@3
              L5 return 4  <- k@3
        """,
    ),
    "match": dict(
        min=(3, 10),
        files={"main.py": """
            def kind(cmd):
                match cmd:
                    case ["go", where]:
                        result = where
                    case {"n": num, **rest}:
                        result = num
                    case [*items] if len(items) > 3:
                        result = len(items)
                    case _:
                        result = None
                return result
            a = kind(["go", "north"])
            b = kind({"n": 7, "x": 1})
            c = kind(3)
        """},
        expected="""
            <module>#1
              L1 kind = <function kind> (def)
              L12 a = 'north' (assign)  <- kind@1  calls: kind#2
              L13 b = 7 (assign)  <- kind@1  calls: kind#3
              L14 c = None (assign)  <- kind@1  calls: kind#4
            kind#2
              L1 cmd = ['go', 'north'] (param)  <- kind@1
              L3 where = 'north' (match)  <- cmd@1
              L4 result = 'north' (assign)  <- where@3
              L11 return 'north'  <- result@4
            kind#3
              L1 cmd = {'n': 7, 'x': 1} (param)  <- kind@1
              L5 num = 7 (match)  <- cmd@1
              L5 rest = {'x': 1} (match)  <- cmd@1
              L6 result = 7 (assign)  <- num@5
              L11 return 7  <- result@6
            kind#4
              L1 cmd = 3 (param)  <- kind@1
              L10 result = None (assign)
              L11 return None  <- result@10
        """,
    ),
}


class FineBase(TracerTestCase):
    def fine_run(self, files, options=(), args=(), name="proj"):
        folder = self.project(files, name=name)
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", args, cwd=folder, options=["--fine"] + list(options))
        self.assertEqual(run.stderr.decode("utf-8", "replace"), "", "unexpected stderr")
        self.assertEqual(run.returncode, 0)
        run.root = folder
        events = run.events()
        self.assertEqual([e for e in events if e["e"] == "warning"], [])
        return events


def _make_case(case):
    def test(self):
        if PY < case.get("min", (3, 8)):
            self.skipTest("needs Python %d.%d" % case["min"])
        events = self.fine_run(case["files"], case.get("options", ()))
        self.assertEqual(dedent(case["expected"]), render(events))

    return test


class FineCases(FineBase):
    """The CASES above, one test each."""


for _name, _case in CASES.items():
    setattr(FineCases, "test_" + re.sub(r"\W+", "_", _name).strip("_"), _make_case(_case))


LOOP = dedent("""
    total = 0
    x = 1
    for i in range(N):
        x = (x * 7 + i) % 1000
        total += x
    print(total)
""") + "\n"


class FineBehaviour(FineBase):
    def test_loop_log_does_not_grow_with_iterations(self):
        counts = []
        for n in (1000, 100000):
            events = self.fine_run({"main.py": LOOP.replace("N", str(n))}, name="loop%d" % n)
            fine = [e for e in events if e["e"] in FINE_EVENTS]
            counts.append(len(fine))
            elided = {e["target"]: e["count"] for e in by_type(events, "elided")}
            self.assertEqual(elided, {"i": n - 6, "x": n - 6, "total": n - 6})
        self.assertEqual(counts[0], counts[1])
        self.assertLess(counts[1], 40)

    def test_loop_keep_option(self):
        events = self.fine_run({"main.py": LOOP.replace("N", "50")}, options=["--loop-keep", "1"])
        header = events[0]
        self.assertEqual((header["granularity"], header["loop_keep"]), ("fine", 1))
        xs = [e["value"] for e in by_type(events, "value") if e["target"] == "x"]
        self.assertEqual(len(xs), 3)  # x = 1, first and last of the loop
        self.assertEqual({e["target"]: e["count"] for e in by_type(events, "elided")}, {"i": 48, "x": 48, "total": 48})

    def test_ids_are_unique_and_deps_known(self):
        """Every id a fine event names is a value, returned or elided id
        (directly or through an alias), defined once."""
        events = self.fine_run({"main.py": LOOP.replace("N", "500") + "\ndef f(v):\n    return v\nfor k in range(20):\n    f(k)\n"})
        defined = [e["id"] for e in events if e["e"] in ("value", "returned", "elided")]
        self.assertEqual(len(defined), len(set(defined)))
        aliases = {e["id"]: e["to"] for e in by_type(events, "alias")}
        self.assertTrue(set(aliases.values()) <= set(defined))
        acts = {e["id"] for e in by_type(events, "call")}
        for e in events:
            for d in e.get("deps", []) if e["e"] in FINE_EVENTS else []:
                self.assertIn(aliases.get(d, d), defined, e)
            for c in e.get("calls", []) if e["e"] in FINE_EVENTS else []:
                self.assertIn(c, acts)

    def test_coarse_mode_has_no_fine_events(self):
        folder = self.project({"main.py": LOOP.replace("N", "10")})
        os.makedirs(os.path.join(folder, ".git"))
        run = self.run_traced("main.py", cwd=folder)
        events = run.events()
        self.assertEqual(events[0]["granularity"], "coarse")
        self.assertNotIn("loop_keep", events[0])
        self.assertEqual([e for e in events if e["e"] in FINE_EVENTS], [])

    def test_script_behaves_the_same(self):
        files = {"main.py": """
            import sys
            def f(x):
                y = x * 2
                return y
            vals = [f(i) for i in range(5)]
            print(vals)
            sys.stderr.write("err\\n")
            raise SystemExit(f(3))
        """}
        plain, traced = self.run_both(files)
        folder = self.project(files, name="fine")
        os.makedirs(os.path.join(folder, ".git"))
        fine = self.run_traced("main.py", cwd=folder, options=["--fine"])
        self.assertSameBehaviour(plain, fine)
        self.assertEqual(fine.returncode, 6)

    def test_uncaught_exception_flushes_rings(self):
        files = {"main.py": """
            def work():
                t = 0
                for i in range(20):
                    t += i
                raise RuntimeError(t)
            work()
        """}
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"))
        run = self.run_traced("main.py", cwd=folder, options=["--fine"])
        self.assertEqual(run.returncode, 1)
        text = render(run.events())
        self.assertIn("L4 t … 14 elided", text)
        self.assertIn("L4 t = 190 (augassign)", text)

    def test_finally_before_a_reraise_is_recorded(self):
        events = self.fine_run({"main.py": """
            def gen():
                try:
                    yield 1
                    skipped = True
                finally:
                    done = True
            g = gen()
            next(g)
            g.close()
        """})
        text = render(events)
        self.assertIn("gen#2\n  L6 done = True (assign)", text)
        self.assertNotIn("skipped", text)

    def test_suspended_generator_is_flushed_at_the_end(self):
        events = self.fine_run({"main.py": """
            def gen():
                t = 0
                for i in range(10):
                    t += i
                    yield t
            g = gen()
            for _ in range(8):
                next(g)
        """})
        text = render(events)
        self.assertIn("L3 i … 2 elided", text)
        self.assertIn("L4 t = 28 (augassign)", text)  # the 8th value, written at the end
        ends = [e["e"] for e in events[-2:]]
        self.assertEqual(ends, ["output", "end"])

    def test_source_not_available_is_unknown(self):
        # Code compiled under the name of a project file that does not exist.
        events = self.fine_run({"main.py": """
            code = compile("a = 1\\nb = a\\nb = 2\\n", "generated.py", "exec")
            for _ in range(2):
                exec(code, {})
        """})
        unknown = [(e["act"], e["line"], e["reason"]) for e in by_type(events, "unknown")]
        self.assertEqual(unknown, [(a, n, "source not available") for a in (2, 3) for n in (1, 2, 3)])
        self.assertEqual([e["target"] for e in by_type(events, "value") if e["act"] != 1], [])

    def test_bad_loop_keep(self):
        folder = self.project({"main.py": "x = 1\n"})
        run = self.run_traced("main.py", cwd=folder, options=["--fine", "--loop-keep", "-1"])
        self.assertEqual(run.returncode, 2)
        self.assertIn(b"--loop-keep", run.stderr)


class FineDemo(FineBase):
    """The bundled demo: following deps, calls and files backward from the
    arguments of the activation that wrote out.svg reaches exactly the two
    data files read."""

    def test_precipitation_backward_reaches_the_inputs(self):
        src = os.path.join(EXAMPLES, "precipitation")
        if not os.path.isdir(src):
            self.skipTest("no examples/precipitation")
        folder = os.path.join(self.tmp, "demo")
        shutil.copytree(src, folder, ignore=shutil.ignore_patterns(".now", "out.svg", "__pycache__"))
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        log = os.path.join(self.tmp, "demo.jsonl")
        run = self.run_traced("experiment.py", ["2013", "2014"], cwd=folder, options=["--fine", "--log", log])
        self.assertEqual(run.returncode, 0, run.stderr)
        events = load_events(folder, log)
        self.assertEqual(by_type(events, "warning"), [])

        nodes = {e["id"]: e for e in events if e["e"] in ("value", "returned", "elided")}
        returned_of = {e["act"]: e["id"] for e in by_type(events, "returned")}
        alias = {e["id"]: e["to"] for e in by_type(events, "alias")}
        opens = {e["id"]: e for e in by_type(events, "open")}
        svg = [o for o in opens.values() if o["path"].endswith("out.svg")]
        self.assertEqual(len(svg), 1)
        act = svg[0]["activation"]
        start = [e["id"] for e in by_type(events, "value") if e["act"] == act and e["kind"] == "param"]
        self.assertTrue(start)
        seen, reached, stack = set(), set(), list(start)
        while stack:
            v = stack.pop()
            v = alias.get(v, v)
            if v in seen:
                continue
            seen.add(v)
            e = nodes[v]  # every id named is defined
            stack.extend(e.get("deps", ()))
            stack.extend(returned_of[c] for c in e.get("calls", ()) if c in returned_of)
            reached.update(e.get("files", ()))
        paths = sorted(os.path.relpath(opens[a]["path"], folder) for a in reached)
        self.assertEqual(paths, [os.path.join("data", "p2013.dat"), os.path.join("data", "p2014.dat")])
        # bounded: 365 lines per file do not give 365 values per target
        per_target: dict = {}
        for e in by_type(events, "value"):
            key = (e["act"], e["line"], e["target"])
            per_target[key] = per_target.get(key, 0) + 1
        self.assertLessEqual(max(per_target.values()), 6)


if __name__ == "__main__":
    unittest.main()
