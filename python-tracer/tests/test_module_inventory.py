"""The `module` events read sys.modules without running the script's code:
module subclasses' __getattribute__, lazy modules' __getattr__, `__dict__`
properties, odd keys (CPython's test_descr test_module_subclasses)."""

from __future__ import annotations

import sys
import types
import unittest

from support import TRACER, TracerTestCase, by_type

sys.path.insert(0, TRACER)
from now_tracer.modules import _attr  # noqa: E402

MAIN = """
import os, sys, types
def say(what):
    def hook(*a, **k):
        os.write(2, b"ran: " + what.encode() + b"\\n")
        raise AttributeError(what)
    return hook
class Logging(types.ModuleType):
    __getattribute__ = say("getattribute")
    __getattr__ = say("getattr")
class DictProp:
    @property
    def __dict__(self):
        os.write(2, b"ran: __dict__\\n")
        return {"__file__": "/nowhere/prop.py"}
class Key(str):
    __hash__ = str.__hash__
    __eq__ = str.__eq__
    startswith = say("startswith")
    __lt__ = say("lt")
    __str__ = say("str")
m = Logging("logging_mod")
types.ModuleType.__setattr__(m, "__file__", os.path.abspath("logging_mod.py"))
sys.modules["logging_mod"] = m
sys.modules["prop_mod"] = DictProp()
sys.modules[Key("key_mod")] = types.ModuleType("key_mod")
sys.modules[Key("key_mod2")] = types.ModuleType("key_mod2")
print("done")
"""


class ModuleInventoryTests(TracerTestCase):
    def test_no_script_code_at_exit(self):
        files = {"main.py": MAIN, "logging_mod.py": "x = 1\n"}
        plain, traced = self.run_both(files)
        self.assertSameBehaviour(plain, traced)
        self.assertEqual(traced.stderr, b"")
        mods = {e["name"]: e for e in by_type(traced.events(), "module")}
        self.assertTrue(mods["logging_mod"]["path"].endswith("logging_mod.py"))
        self.assertTrue(mods["logging_mod"]["local"])
        self.assertIsNone(mods.get("prop_mod", {}).get("path"))


class AttrTests(unittest.TestCase):
    def test_attr(self):
        ran = []

        class M(types.ModuleType):
            def __getattribute__(self, n):
                ran.append(n)
                return object.__getattribute__(self, n)

            @property
            def __dict__(self):
                ran.append("dict")
                return {}

        class Plain:
            def __init__(self):
                self.__file__ = "/o.py"

        class Prop:
            @property
            def __dict__(self):
                ran.append("prop")
                return {"__file__": "/p.py"}

        m = M("m")
        types.ModuleType.__setattr__(m, "__file__", "/m.py")
        self.assertEqual(_attr(m, "__file__"), "/m.py")
        self.assertEqual(_attr(Plain(), "__file__"), "/o.py")
        self.assertIsNone(_attr(Prop(), "__file__"))
        self.assertIsNone(_attr(3, "__file__"))  # no instance dict
        self.assertEqual(ran, [])


if __name__ == "__main__":
    unittest.main()
