"""The replaced `open` behaves as the builtin: not bound as a method, the same
names, repr, signature, pickling, errors and tracebacks, and the script's own
__fspath__ called once, as untraced."""

from __future__ import annotations

import os
import unittest

from support import TracerTestCase, by_type


class OpenHookTests(TracerTestCase):
    def test_stored_in_a_class_is_not_a_method(self):
        # CPython's test_bufio/test_file/test_univnewlines: `open = io.open`
        # in a class body, then self.open(path, mode)
        main = """
            import builtins, io
            class C:
                open = io.open
                bopen = open
                def write(self):
                    with self.open("a.bin", "wb") as f:
                        f.write(b"data")
                    with self.bopen("a.bin", "rb") as f:
                        return f.read()
            print(C().write())
            print(C.open is io.open, C.__dict__["open"] is builtins.open)
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        self.assertIn(b"b'data'", traced.stdout)
        opens = [os.path.basename(o["path"]) for o in by_type(traced.events(), "open")]
        self.assertEqual(opens, ["a.bin", "a.bin"])

    def test_looks_like_the_builtin(self):
        main = """
            import builtins, copy, inspect, io, pickle, sys
            for f in (open, io.open):
                print(f.__name__, f.__qualname__, f.__module__, f.__self__, repr(f))
                print(f.__doc__ == io.FileIO.__init__.__doc__ or f.__doc__[:60])
                print(inspect.signature(f))
                print(copy.copy(f) is f, copy.deepcopy(f) is f)
                if sys.version_info < (3, 12):  # 3.12+: see FileTracker.install
                    print(pickle.loads(pickle.dumps(f)) is f)
                print(callable(f), hasattr(f, "__get__"), hasattr(f, "__wrapped__"))
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)

    def test_errors_as_untraced(self):
        main = """
            import io, traceback
            calls = []
            class P:
                def __fspath__(self):
                    calls.append(1)
                    return "p.txt"
            class Bad:
                def __fspath__(self):
                    calls.append(2)
                    raise KeyError("inside fspath")
            class S(str):
                def startswith(self, *a):
                    calls.append(3)
                    return str.startswith(self, *a)
            attempts = [
                lambda: open(),
                lambda: open("x", "r", -1, None, None, None, True, None, 9),
                lambda: open(P(), bogus=1),
                lambda: open(P(), "qq"),
                lambda: open(P(), file="y"),
                lambda: open(file=P(), mode="w"),
                lambda: open(Bad()),
                lambda: open(3.5),
                lambda: open(object()),
                lambda: open("missing/x.txt"),
                lambda: open(P(), mode=3),
                lambda: open(S("s.txt"), "w"),
                lambda: open(b"b.txt", "w"),
                lambda: io.open(self="x"),
            ]
            for i, attempt in enumerate(attempts):
                try:
                    f = attempt()
                except BaseException as e:
                    print(i, type(e).__name__, e, getattr(e, "filename", None))
                    traceback.print_exc()
                else:
                    print(i, "opened", f.name, f.mode)
                    f.close()
            print("fspath calls", calls)
            open(Bad())
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        self.assertIn(b"KeyError", traced.stderr)
        self.assertNotIn(b"now_tracer", traced.stderr)
        names = sorted(os.path.basename(o["path"]) for o in by_type(traced.events(), "open"))
        self.assertEqual(names, ["b.txt", "p.txt", "s.txt"])

    def test_close_hook_is_not_a_method(self):
        main = """
            import gc, os
            f = open("a.txt", "w")
            class K:
                close = f.buffer.raw.close
            print(repr(K.close).split(" at ")[0], K.close.__name__, K.close.__qualname__, K.close.__self__ is f.buffer.raw)
            f.write("x")
            f.flush()
            K().close()  # as untraced: FileIO.close, not bound to K()
            print(f.buffer.raw.closed)
            try:
                f.buffer.raw.close(1)
            except TypeError as e:
                print("TypeError", e)
            g = open("b.bin", "wb", buffering=0)
            c = g.close
            del g
            gc.collect()
            keep = open("c.txt", "w")  # may take the dropped file's descriptor number
            c()  # a kept hook of a collected file must not close another file
            keep.write("kept")
            keep.close()
            print(open("c.txt").read())
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        self.assertIn(b"kept", traced.stdout)


if __name__ == "__main__":
    unittest.main()
