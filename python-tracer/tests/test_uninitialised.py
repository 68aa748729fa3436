"""Values seen before their C base's __init__ ran: the tracer must describe
them without the base's C repr or getters (CPython's test_struct
`test_struct_subclass_instantiation` segfaulted traced on 3.13)."""

from __future__ import annotations

import os
import subprocess
import unittest

from support import PYTHON, TracerTestCase, by_type

MAIN = """
import io, struct
class S(struct.Struct):
    def __init__(self, *args):
        self.note = "before"
        super().__init__(*args)
def take(x):
    return 1
s = S(">i")
print(s.size, s.format)
take(struct.Struct.__new__(struct.Struct))
take(struct.Struct("<h"))
take(io.TextIOWrapper.__new__(io.TextIOWrapper))
print("done")
"""


class UninitialisedTests(TracerTestCase):
    def test_struct_subclass_self(self):
        # struct.Struct is a heap type of module _struct from 3.9 on
        static_struct = subprocess.run(
            [PYTHON, "-c", "import struct; print(struct.Struct.__module__)"],
            stdout=subprocess.PIPE, check=True).stdout.strip() == b"builtins"
        for options in ([], ["--fine"]):
            with self.subTest(options=options):
                folder = self.project({"main.py": MAIN}, name="p%d" % len(options))
                plain = self.run_plain("main.py", cwd=folder)
                os.makedirs(os.path.join(folder, ".git"))
                traced = self.run_traced("main.py", cwd=folder, options=options)
                self.assertSameBehaviour(plain, traced)
                self.assertEqual(traced.stdout, b"4 >i\ndone\n")
                events = traced.events()
                codes = {e["code"]: e["qualname"] for e in by_type(events, "code")}
                args = [(codes[c["code"]], c.get("args")) for c in by_type(events, "call")
                        if codes[c["code"]] in ("S.__init__", "take")]
                if static_struct:
                    # 3.8: a static C type named "Struct" (module builtins)
                    # with object's repr, which reads no field: that repr
                    for i in (1, 2):
                        self.assertRegex(args[i][1][0][1], r"^<Struct object at 0x[0-9a-f]+>$")
                        args[i] = ("take", [["x", "<_struct.Struct object>"]])
                self.assertEqual(args, [
                    ("S.__init__", [["self", "<__main__.S object>"], ["args", "('>i',)"]]),
                    ("take", [["x", "<_struct.Struct object>"]]),
                    ("take", [["x", "<_struct.Struct object>"]]),
                    ("take", [["x", "<repr failed: ValueError>"]]),
                ])


if __name__ == "__main__":
    unittest.main()
