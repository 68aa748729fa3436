"""File accesses through open / io.open / pathlib: open and close events,
hashes before and after, contents in the content store."""

from __future__ import annotations

import hashlib
import os
import unittest

from support import TracerTestCase, by_type


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileTests(TracerTestCase):
    def accesses(self, events, root):
        """[(relative path, mode, before, after, at_exit, activation qualname)] in open order."""
        codes = {e["code"]: e["qualname"] for e in by_type(events, "code")}
        act_code = {e["id"]: e["code"] for e in by_type(events, "call")}
        closes = {e["id"]: e for e in by_type(events, "close")}
        out = []
        for o in by_type(events, "open"):
            c = closes.get(o["id"])
            act = o["activation"]
            out.append(
                (
                    os.path.relpath(o["path"], root),
                    o["mode"],
                    o["hash_before"],
                    c["hash_after"] if c else "NO CLOSE",
                    c["at_exit"] if c else None,
                    codes[act_code[act]] if act else None,
                )
            )
        return out

    def assertStored(self, root, data: bytes):
        h = sha(data)
        path = os.path.join(root, ".now", "content", h[:2], h[2:])
        self.assertTrue(os.path.exists(path), "blob missing for %r" % data[:40])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_modes(self):
        main = """
            import gc, io, os, pathlib
            def write(name, text):
                with open(name, "w") as f:
                    f.write(text)
            def append(name, text):
                f = open(name, "a")
                f.write(text)
                f.close()
            def read(name):
                with io.open(name, "rb") as f:
                    return f.read()
            write("a.txt", "one\\n")
            append("a.txt", "two\\n")
            print(read("a.txt"))
            open("dropped.txt", "w").write("never closed explicitly")
            print(open("dropped.txt").read())
            p = pathlib.Path("p.txt")
            p.write_text("from pathlib")
            print(p.read_text(), p.read_bytes())
            with open("a.txt", "r+") as f:
                f.seek(0, 2)
                f.write("three\\n")
            with open("raw.bin", "wb", buffering=0) as f:
                f.write(b"\\x00\\x01")
            try:
                open("missing.txt")
            except FileNotFoundError as e:
                print("missing", e.filename)
            fd = os.open("fd.txt", os.O_WRONLY | os.O_CREAT)
            with os.fdopen(fd, "w") as f:   # an int: passed through, not recorded
                f.write("x")
            class Holder:
                pass
            h = Holder(); h.self = h; h.f = open("cycle.txt", "w"); h.f.write("in a cycle")
            del h
            gc.collect()  # CPython may finalize the raw file first: the text is lost
            print(repr(open("cycle.txt").read()))
            kept_open = open("left-open.txt", "w")
            kept_open.write("flushed at exit")
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        root = traced.root
        events = traced.events()
        A1, A2, A3 = b"one\n", b"one\ntwo\n", b"one\ntwo\nthree\n"
        D, P, L = b"never closed explicitly", b"from pathlib", b"flushed at exit"
        # whatever CPython left in the file when it collected the cycle
        C = eval(plain.stdout.decode().splitlines()[-1]).encode()
        self.assertEqual(
            self.accesses(events, root),
            [
                ("a.txt", "w", None, sha(A1), False, "write"),
                ("a.txt", "a", sha(A1), sha(A2), False, "append"),
                ("a.txt", "rb", sha(A2), sha(A2), False, "read"),
                ("dropped.txt", "w", None, sha(D), False, "<module>"),
                ("dropped.txt", "r", sha(D), sha(D), False, "<module>"),
                ("p.txt", "w", None, sha(P), False, "<module>"),
                ("p.txt", "r", sha(P), sha(P), False, "<module>"),
                ("p.txt", "rb", sha(P), sha(P), False, "<module>"),
                ("a.txt", "r+", sha(A2), sha(A3), False, "<module>"),
                ("raw.bin", "wb", None, sha(b"\x00\x01"), False, "<module>"),
                ("cycle.txt", "w", None, sha(C), False, "<module>"),
                ("cycle.txt", "r", sha(C), sha(C), False, "<module>"),
                ("left-open.txt", "w", None, sha(L), True, "<module>"),
            ],
        )
        for data in (A1, A2, A3, D, P, C, L):
            self.assertStored(root, data)
        # the tracer's own files are never recorded
        for o in by_type(events, "open"):
            self.assertNotIn(os.sep + ".now" + os.sep, o["path"])
        # every close comes after its open, ids unique
        ids = [o["id"] for o in by_type(events, "open")]
        self.assertEqual(ids, sorted(set(ids)))

    def test_file_objects_are_untouched(self):
        main = """
            import io
            f = open("x.txt", "w")
            print(type(f).__name__, isinstance(f, io.TextIOWrapper), f.name, f.mode)
            f.close()
            print(f.closed)
            f.close()  # twice is fine
            with open("x.txt", "rb") as g:
                print(type(g).__name__, isinstance(g, io.BufferedReader))
            print(open is io.open)
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        events = traced.events()
        self.assertEqual(len(by_type(events, "close")), 2)

    def test_unbuffered_files_dropped_or_collected(self):
        main = """
            import gc, os
            def fds():
                return len(os.listdir("/proc/self/fd"))
            before = fds()
            open("dropped.bin", "wb", buffering=0).write(b"dropped")
            class Holder:
                pass
            h = Holder(); h.self = h; h.f = open("cycle.bin", "wb", buffering=0); h.f.write(b"cycle")
            del h
            gc.collect()
            for i in range(50):
                f = open("loop.txt", "w"); f.write(str(i))
            del f
            print(open("dropped.bin", "rb").read(), open("cycle.bin", "rb").read(), open("loop.txt").read())
            print("leaked fds:", fds() - before)
        """
        plain, traced = self.run_both({"main.py": main})
        self.assertSameBehaviour(plain, traced)
        events = traced.events()
        closes = {c["id"]: c for c in by_type(events, "close")}
        for o in by_type(events, "open"):
            self.assertIn(o["id"], closes)
            self.assertFalse(closes[o["id"]]["at_exit"], o["path"])
        self.assertIn(b"leaked fds: 0", traced.stdout)

    def test_large_file_not_stored(self):
        main = """
            with open("big.bin", "wb") as f:
                f.write(b"x" * (64 * 1024 * 1024 + 1))
        """
        run, events = self.traced_events({"main.py": main})
        close = by_type(events, "close")[0]
        self.assertEqual(close["hash_after"], hashlib.sha256(b"x" * (64 * 1024 * 1024 + 1)).hexdigest())
        h = close["hash_after"]
        self.assertFalse(os.path.exists(os.path.join(run.root, ".now", "content", h[:2], h[2:])))
        self.assertTrue(any("64 MiB" in w["message"] for w in by_type(events, "warning")))

    def test_threads_and_special_files(self):
        main = """
            import threading
            def worker(i):
                with open("t%d.txt" % i, "w") as f:
                    f.write(str(i))
            ts = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
            for t in ts: t.start()
            for t in ts: t.join()
            with open("/dev/null", "w") as f:
                f.write("gone")
        """
        run, events = self.traced_events({"main.py": main})
        acc = self.accesses(events, run.root)
        self.assertEqual(sorted(a[0] for a in acc if a[0].startswith("t")), ["t0.txt", "t1.txt", "t2.txt"])
        self.assertTrue(all(a[5] == "worker" for a in acc if a[0].startswith("t")))
        devnull = [a for a in acc if a[0].endswith("null")][0]
        self.assertEqual((devnull[2], devnull[3]), (None, None))


if __name__ == "__main__":
    unittest.main()
