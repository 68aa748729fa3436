"""The tracer never runs the script's code to describe a value (issue 15).

A table of tricky objects, each passed to a function (coarse mode: an
argument) and assigned (fine mode: a value), under both cores: the recorded
text is exact, and the counters each user method bumps stay at 0."""

from __future__ import annotations

import os
import sys
import unittest

from support import TRACER, TracerTestCase, by_type, dedent

sys.path.insert(0, TRACER)
from now_tracer.values import Reprs  # noqa: E402

# Every method the tracer must not call bumps RAN; the script prints it.
OBJECTS = '''
import collections, dataclasses, enum, struct, sys, types
RAN = collections.Counter()

def hook(name):
    def bump(*a, **k):
        RAN[name] += 1
        raise AssertionError(name)
    return bump

class Sneaky:
    """Every dunder the old tracer (or isinstance) might reach."""
    def __init__(self):
        self.a = 1
        self.s = "x"
    __repr__ = hook("repr")
    __str__ = hook("str")
    __hash__ = hook("hash")
    __eq__ = hook("eq")
    __len__ = hook("len")
    __iter__ = hook("iter")
    __getattr__ = hook("getattr")
    @property
    def __class__(self):
        RAN["__class__"] += 1
        return int

class DictProp:
    """A class whose __dict__ is a property: object.__getattribute__ would run it."""
    def __init__(self):
        self.v = 2
    @property
    def __dict__(self):
        RAN["__dict__"] += 1
        return {}

class Meta(type):
    def __instancecheck__(cls, obj):
        RAN["instancecheck"] += 1
        return False
    def __getattribute__(cls, name):
        RAN["meta-getattribute"] += 1
        return type.__getattribute__(cls, name)
    __repr__ = hook("meta-repr")

class WithMeta(metaclass=Meta):
    pass

class GetAttribute:
    def __init__(self):
        self.z = 3
    def __getattribute__(self, name):
        RAN["getattribute"] += 1
        return object.__getattribute__(self, name)

class MyList(list):
    __repr__ = hook("list-repr")
    __len__ = hook("list-len")
    __getitem__ = hook("list-getitem")
    __iter__ = hook("list-iter")

class PlainList(list):
    pass

class MyDict(dict):
    __repr__ = hook("dict-repr")
    __iter__ = hook("dict-iter")
    __len__ = hook("dict-len")

class MySet(set):
    __iter__ = hook("set-iter")

class MyInt(int):
    __repr__ = hook("int-repr")

class Slots:
    __slots__ = ("x", "__y", "unset")
    def __init__(self):
        self.x = 1
        self.__y = 2

@dataclasses.dataclass
class Point:
    x: int
    y: "Sneaky"
    __repr__ = hook("dc-repr")

Pair = collections.namedtuple("Pair", "left right")

class Color(enum.Enum):
    RED = 1

class Bad(Exception):
    __str__ = hook("exc-str")
    __repr__ = hook("exc-repr")

class ModName:
    """A class's __module__ may be any object."""
    __eq__ = hook("modname-eq")
    __hash__ = hook("modname-hash")
    __str__ = hook("modname-str")
    __repr__ = hook("modname-repr")

class OddModule:
    pass
OddModule.__module__ = ModName()

class LoggingModule(types.ModuleType):
    """CPython's test_descr test_module_subclasses: a module's C repr reads
    __loader__, __spec__, __name__, __file__ through this."""
    __getattribute__ = hook("module-getattribute")
    __getattr__ = hook("module-getattr")

class MyStruct(struct.Struct):
    """A C type's repr and getters; here never initialised (3.13: segfault)."""
    def __init__(self):
        pass

loop = []
loop.append(loop)
d = {}
d["self"] = d

OBJS = [
    ("sneaky", Sneaky()),
    ("dictprop", DictProp()),
    ("withmeta", WithMeta()),
    ("metaclass", WithMeta),
    ("getattribute", GetAttribute()),
    ("mylist", MyList([1, Sneaky()])),
    ("plainlist", PlainList([1, 2])),
    ("mydict", MyDict(k=1)),
    ("myset", MySet([7])),
    ("myint", MyInt(5)),
    ("slots", Slots()),
    ("dataclass", Point(1, Sneaky())),
    ("namedtuple", Pair(1, Sneaky())),
    ("enum", Color.RED),
    ("exception", Bad("boom", Sneaky())),
    ("loop", loop),
    ("dictloop", d),
    ("method", Sneaky.__init__.__get__(Sneaky())),
    ("oddmodule", OddModule()),
    ("module", LoggingModule("lm")),
    ("struct", MyStruct()),
]
'''

EXPECTED = {
    "sneaky": "<__main__.Sneaky object a=1, s='x'>",
    # its class defines __dict__, so CPython made no C getter for the instance
    # dict: the fields are not shown rather than asking the property
    "dictprop": "<__main__.DictProp object>",
    "withmeta": "<__main__.WithMeta object>",
    "metaclass": "<class '__main__.WithMeta'>",
    "getattribute": "<__main__.GetAttribute object z=3>",
    "mylist": "MyList([1, <__main__.Sneaky object a=1, s='x'>])",
    "plainlist": "[1, 2]",
    "mydict": "MyDict({'k': 1})",
    "myset": "MySet({7})",
    "myint": "MyInt(5)",
    "slots": "<__main__.Slots object _Slots__y=2, x=1>",  # CPython sorts slots
    "dataclass": "Point(x=1, y=<__main__.Sneaky object a=1, s='x'>)",
    "namedtuple": "Pair(left=1, right=<__main__.Sneaky object a=1, s='x'>)",
    "enum": "<Color.RED: 1>",
    "exception": "Bad('boom', <__main__.Sneaky object a=1, s='x'>)",
    "loop": "[[[[…]]]]",
    "dictloop": "{'self': {'self': {'self': {…}}}}",
    "method": "<bound method Sneaky.__init__ of <__main__.Sneaky object a=1, s='x'>>",
    "oddmodule": "<OddModule object>",
    "module": "<__main__.LoggingModule object __name__='lm', __doc__=None, __package__=None, __loader__=None, __spec__=None>",
    "struct": "<__main__.MyStruct object>",
}

MAIN = OBJECTS + '''
def take(name, x):
    return x

for name, obj in OBJS:
    value = take(name, obj)
def boom():
    raise Bad("boom", Sneaky())
try:
    boom()
except Bad:
    pass
print(dict(RAN))
'''


def _cores():
    cores = ["settrace"]
    if sys.version_info >= (3, 12):
        cores.append("sysmon")
    return cores


class SafeValuesTests(TracerTestCase):
    def run_case(self, core, fine):
        folder = self.project({"main.py": dedent(MAIN)}, name="%s-%s" % (core, fine))
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", cwd=folder, env={"NOW_TRACER_CORE": core},
                              options=["--fine", "--loop-keep", "100"] if fine else [])
        self.assertEqual(run.stderr.decode(), "")
        self.assertEqual(run.stdout, b"{}\n", "a user method ran")
        events = run.events()
        seen = {}
        for c in by_type(events, "call"):
            args = dict(c.get("args") or [])
            if "name" in args and "x" in args:
                seen[eval(args["name"])] = args["x"]
        self.assertEqual(seen, EXPECTED)
        raises = [e["exc"]["message"] for e in by_type(events, "raise") if e.get("exc")]
        self.assertIn("('boom', <__main__.Sneaky object a=1, s='x'>)", raises)
        if fine:
            values = [e["value"] for e in by_type(events, "value") if e.get("target") == "value"]
            self.assertEqual(sorted(values), sorted(EXPECTED.values()))
        return events

    def test_table(self):
        for core in _cores():
            for fine in (False, True):
                with self.subTest(core=core, fine=fine):
                    self.run_case(core, fine)

    def test_user_class_repr_end_to_end(self):
        # CPython's test_class style: the class counts its own __repr__ calls.
        main = """
            class C:
                calls = 0
                def __repr__(self):
                    C.calls += 1
                    return "C()"
            def f(x):
                y = x
                return y
            for i in range(3):
                f(C())
            print(C.calls, repr(C()), C.calls)
        """
        for options in ([], ["--fine"]):
            with self.subTest(options=options):
                plain, traced = self.run_both({"main.py": main})
                self.assertSameBehaviour(plain, traced)
                self.assertEqual(traced.stdout, b"0 C() 1\n")

    def test_dict_key_hash_not_called_in_fine_mode(self):
        # test_dict's test_setitem_atomic_at_resize: the record of `d[k] = v`
        # looked d[k] up again, hashing k (3 != 1)
        main = """
            class K:
                hashes = 0
                def __hash__(self):
                    K.hashes += 1
                    return 1
            d = {}
            k = K()
            d[k] = 1
            print(K.hashes)
        """
        for core in _cores():
            folder = self.project({"main.py": dedent(main)}, name=core)
            os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
            run = self.run_traced("main.py", cwd=folder, env={"NOW_TRACER_CORE": core}, options=["--fine"])
            self.assertEqual(run.stdout, b"1\n")
            values = {e.get("target"): e["value"] for e in by_type(run.events(), "value")}
            self.assertEqual(values["d[k]"], "<not evaluated>")

    def test_repr_types_opt_in(self):
        main = """
            class Money:
                asked = 0
                def __repr__(self):
                    Money.asked += 1
                    return "Money(3)"
            def f(m):
                return 1
            f(Money())
            print(Money.asked)
        """
        folder = self.project({"main.py": dedent(main)})
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", cwd=folder, options=["--repr-types", "Money,other.Type"])
        self.assertEqual(run.stdout, b"1\n")
        args = [c["args"] for c in by_type(run.events(), "call") if c.get("args")]
        self.assertEqual(args, [[["m", "Money(3)"]]])

    def test_sympy_permutation_cache_stays_empty(self):
        main = """
            from sympy.combinatorics import Permutation
            def f(p):
                q = p
                return q
            p = Permutation([1, 0, 2])
            f(p)
            print(p._cyclic_form)
        """
        plain = self.run_plain("-c", ["import sympy"])
        if plain.returncode:
            self.skipTest("sympy is not installed")
        for options in ([], ["--fine"]):
            with self.subTest(options=options):
                folder = self.project({"main.py": dedent(main)}, name="p%d" % len(options))
                os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
                run = self.run_traced("main.py", cwd=folder, options=options)
                self.assertEqual(run.stdout, b"None\n")
                args = [c["args"] for c in by_type(run.events(), "call") if c.get("args") and c["args"][0][0] == "p"]
                self.assertEqual(args[0], [["p", "Permutation(_array_form=[1, 0, 2], _size=3)"]])


class NumpyTests(unittest.TestCase):
    def setUp(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("numpy is not installed")
        self.np = numpy

    def test_arrays(self):
        np = self.np
        asked = []

        class Sub(np.ndarray):
            def __repr__(self):
                asked.append(1)
                return "Sub"

            def __array_finalize__(self, obj):
                asked.append(2)

        r = Reprs()
        self.assertEqual(r(np.arange(3)), "array([0, 1, 2], shape=(3,), dtype=int64)")
        self.assertEqual(r(np.zeros((10, 10))), "array([0.0, 0.0, 0.0, …, 0.0, 0.0], shape=(10, 10), dtype=float64)")
        sub = np.arange(4).view(Sub)
        del asked[:]
        self.assertEqual(r(sub), "Sub([0, 1, 2, 3], shape=(4,), dtype=int64)")
        self.assertEqual(asked, [])
        self.assertEqual(r(np.float64(1.5)), repr(np.float64(1.5)))


if __name__ == "__main__":
    unittest.main()
