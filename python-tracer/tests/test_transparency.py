"""A traced script behaves exactly as `python script.py args…`: same stdout,
stderr (byte for byte) and exit code."""

from __future__ import annotations

import os
import signal
import sys
import unittest

from support import TRACER, TracerTestCase, by_type

sys.path.insert(0, TRACER)
from now_tracer.runner import unshadow  # noqa: E402

SIBLING = {
    "helper.py": """
        def twice(x):
            return 2 * x

        def explode(x):
            raise ValueError("bad value %r" % (x,))
    """,
}


class UnshadowTests(TracerTestCase):
    def test_only_modules_the_folder_has(self):
        import types
        folder = self.project({
            "nowtest_mod.py": "", "nowtest_pkg/__init__.py": "", "nowtest_ext.abi3.so": "",
            "nowtest_nsdir/x.txt": "", "nowtest_other.txt": "",
        })
        os.makedirs(os.path.join(folder, "nowtest_dirpy.py"))  # a folder, not a module file
        names = ["nowtest_mod", "nowtest_pkg", "nowtest_pkg.sub", "nowtest_ext", "nowtest_nsdir",
                 "nowtest_other", "nowtest_dirpy", "nowtest_absent"]
        preloaded = set(sys.modules)
        for name in names:
            sys.modules[name] = types.ModuleType(name)
        self.addCleanup(lambda: [sys.modules.pop(n, None) for n in names])
        unshadow(preloaded, folder)
        self.assertEqual(
            sorted(n for n in names if n in sys.modules),
            ["nowtest_absent", "nowtest_dirpy", "nowtest_nsdir", "nowtest_other"],
        )
        unshadow(preloaded, os.path.join(folder, "missing"))  # an unreadable folder: nothing, no error


class ExitTests(TracerTestCase):
    def check(self, body: str, **kw):
        files = dict(SIBLING)
        files["main.py"] = body
        plain, traced = self.run_both(files, **kw)
        self.assertSameBehaviour(plain, traced)
        return plain, traced

    def test_exit_zero(self):
        plain, traced = self.check("print('hello')\n")
        self.assertEqual(traced.returncode, 0)
        end = by_type(traced.events(), "end")[0]
        self.assertEqual((end["exit_code"], end["status"], end["exception"]), (0, "finished", None))

    def test_bytecode_setting_is_the_users(self):
        # The tracer writes its own __pycache__ whatever the setting, and puts
        # sys.dont_write_bytecode back before the script runs.
        body = "import sys\nprint(sys.dont_write_bytecode, sys.flags.dont_write_bytecode)\n"
        plain, traced = self.check(body, env={"PYTHONDONTWRITEBYTECODE": "1"})
        self.assertEqual(traced.stdout, b"True 1\n")
        env = {"PYTHONDONTWRITEBYTECODE": ""}
        plain, traced = self.check(body, env=env)
        self.assertEqual(traced.stdout, b"False 0\n")

    def test_sys_exit_codes(self):
        for body, code in [
            ("import sys\nsys.exit(3)\n", 3),
            ("import sys\nsys.exit()\n", 0),
            ("import sys\nsys.exit(None)\n", 0),
            ("import sys\nsys.exit('fatal: message')\n", 1),
            ("raise SystemExit(7)\n", 7),
            ("import sys\nprint('out'); sys.exit(256 + 4)\n", 4),
        ]:
            with self.subTest(body=body):
                plain, traced = self.check(body)
                self.assertEqual(traced.returncode, code)
                end = by_type(traced.events(), "end")[0]
                self.assertEqual(end["exit_code"], code)
                self.assertEqual(end["status"], "finished" if code == 0 else "failed")

    def test_uncaught_exception(self):
        plain, traced = self.check(
            """
            import helper
            def f(x):
                return helper.explode(helper.twice(x))
            print("before")
            f(21)
            """
        )
        self.assertEqual(traced.returncode, 1)
        self.assertIn(b"Traceback (most recent call last)", traced.stderr)
        self.assertNotIn(b"now_tracer", traced.stderr)
        end = by_type(traced.events(), "end")[0]
        self.assertEqual(end["exit_code"], 1)
        self.assertEqual(end["exception"]["type"], "ValueError")
        self.assertEqual(end["exception"]["message"], "bad value 42")
        self.assertEqual(
            [(os.path.basename(f["file"]), f["function"]) for f in end["exception"]["traceback"]],
            [("main.py", "<module>"), ("main.py", "f"), ("helper.py", "explode")],
        )

    def test_chained_exceptions(self):
        self.check(
            """
            class AppError(Exception):
                pass
            def load():
                try:
                    {}["missing"]
                except KeyError as e:
                    raise AppError("could not load") from e
            def main():
                try:
                    load()
                except AppError:
                    1 / 0
            main()
            """
        )

    def test_exception_in_excepthook_and_custom_hook(self):
        self.check(
            """
            import sys
            def hook(t, v, tb):
                import traceback
                print("custom hook:", t.__name__, file=sys.stderr)
                traceback.print_tb(tb)
            sys.excepthook = hook
            def f():
                raise RuntimeError("x")
            f()
            """
        )
        self.check(
            """
            import sys
            def hook(t, v, tb):
                raise TypeError("hook broke")
            sys.excepthook = hook
            raise RuntimeError("x")
            """
        )

    def test_syntax_error(self):
        plain, traced = self.check("print('a')\ndef broken(:\n    pass\n")
        self.assertEqual(traced.returncode, 1)
        self.assertIn(b"SyntaxError", traced.stderr)

    def test_sources_compile_rejects(self):
        # CPython's file parser words these differently from compile() (and 3.8
        # runs a file with a NUL byte): the interpreter itself must report them.
        for source in (b'x = "\xff"\nprint(x)\n', b"print(1)\x00\n"):
            with self.subTest(source=source):
                plain, traced = self.check(source)
                end = by_type(traced.events(), "end")[0]
                self.assertEqual(end["exit_code"], plain.returncode)

    def test_uncompilable_script_gets_its_arguments_and_exit_code(self):
        # 3.8–3.11 run a file with a NUL byte up to it, compile() rejects it: the
        # re-run by the interpreter must see the same argv, stdin and environment.
        source = (
            b"import os, sys\nprint(sys.argv, sys.stdin.read(), os.environ.get('NOW_X'))\n"
            b"sys.stderr.write('bye\\n')\nsys.exit(3)\x00\n"
        )
        plain, traced = self.check(source, args=("a", "--b"), stdin=b"in", env={"NOW_X": "y"})
        end = by_type(traced.events(), "end")[0]
        self.assertEqual(end["exit_code"], plain.returncode)

    def test_uncompilable_script_killed_by_a_signal(self):
        source = b"import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\x00\n"
        plain, traced = self.run_both({"main.py": source})
        self.assertSameBehaviour(plain, traced)
        ends = by_type(traced.events(), "end")
        if plain.returncode == -signal.SIGTERM:  # 3.8–3.11 run it: no atexit, no end (the runner has the signal)
            self.assertEqual(ends, [])
        else:
            self.assertEqual(ends[0]["exit_code"], traced.returncode)

    def test_keyboard_interrupt(self):
        plain, traced = self.check(
            """
            import atexit
            atexit.register(lambda: print("atexit ran"))
            def work():
                raise KeyboardInterrupt
            print("working")
            work()
            """
        )
        self.assertEqual(traced.returncode, -signal.SIGINT)
        self.assertIn(b"KeyboardInterrupt", traced.stderr)
        end = by_type(traced.events(), "end")[0]
        self.assertEqual(end["exit_code"], 130)
        self.assertEqual(end["exception"]["type"], "KeyboardInterrupt")

    def test_open_error_has_no_tracer_frame(self):
        # The real open raises inside the tracer's wrapper: neither the uncaught
        # traceback nor one printed by the script may show that frame.
        self.check(
            """
            import traceback, pathlib
            try:
                open("missing.txt")
            except OSError:
                traceback.print_exc()
            try:
                pathlib.Path("missing.txt").read_text()
            except OSError:
                traceback.print_exc()
            def read():
                with open("nope/missing.txt") as f:
                    return f.read()
            read()
            """
        )


class EnvironmentTests(TracerTestCase):
    def check(self, files, **kw):
        plain, traced = self.run_both(files, **kw)
        self.assertSameBehaviour(plain, traced)
        return plain, traced

    def test_main_module_looks_real(self):
        plain, traced = self.check(
            {
                "main.py": '''
                    """Docstring."""
                    import sys
                    print(list(globals().keys()))
                    print(__name__, repr(__file__), repr(__doc__), __package__, __spec__, __cached__, __annotations__)
                    print(type(__loader__).__name__, __loader__.name, __loader__.path == __file__)
                    print(type(__builtins__).__name__)
                    print(sys.argv)
                    print(sys.path[0])
                    print(sys.path.count(sys.path[0]))
                    print(sys.modules["__main__"] is sys.modules[__name__], sys.modules["__main__"].__dict__ is globals())
                    print(getattr(sys, "orig_argv", ["python", "main.py", "one", "--two", "-x"])[1:])
                    import helper
                    print(helper.twice(21), helper.__file__ == __file__.replace("main.py", "helper.py"))
                    import pickle
                    class P:
                        pass
                    print(type(pickle.loads(pickle.dumps(P()))).__name__)
                    x: int = 3
                    print(__annotations__)
                ''',
                "helper.py": SIBLING["helper.py"],
            },
            args=["one", "--two", "-x"],
        )
        self.assertIn(b"__main__", plain.stdout)

    def test_relative_script_paths_and_symlinks(self):
        files = {
            "pkg/main.py": """
                import sys, os
                print(repr(__file__), sys.path[0], sys.argv[0])
                import helper
                print(helper.twice(2))
            """,
            "pkg/helper.py": SIBLING["helper.py"],
            "sub/.keep": "",
        }
        self.check(files, script="../pkg/main.py", cwd_rel="sub")
        self.check(files, script="./pkg/main.py")
        folder = self.project(files, name="linked-src")
        link = os.path.join(self.tmp, "link")
        os.symlink(folder, link)
        plain = self.run_plain(os.path.join(link, "pkg", "main.py"), cwd=self.tmp)
        traced = self.run_traced(os.path.join(link, "pkg", "main.py"), cwd=self.tmp, options=["--root", link])
        self.assertSameBehaviour(plain, traced)

    def test_stdin_and_stdout_bytes(self):
        self.check(
            {
                "main.py": """
                    import sys
                    data = sys.stdin.read()
                    sys.stdout.write(data.upper())
                    sys.stdout.buffer.write(b"\\xff\\xfe raw\\n")
                    print("é ü 中", end="")
                    print("err line", file=sys.stderr)
                """
            },
            stdin=b"some input\nsecond line\n",
        )

    def test_chdir(self):
        plain, traced = self.check(
            {
                "main.py": """
                    import os
                    os.makedirs("elsewhere", exist_ok=True)
                    os.chdir("elsewhere")
                    with open("made-here.txt", "w") as f:
                        f.write("x")
                    import helper
                    print(os.getcwd().endswith("elsewhere"), helper.twice(1))
                    raise SystemExit(helper.twice(2))
                """,
                "helper.py": SIBLING["helper.py"],
            }
        )
        self.assertEqual(traced.returncode, 4)
        ev = traced.events()
        self.assertEqual(by_type(ev, "end")[0]["exit_code"], 4)
        opened = by_type(ev, "open")
        self.assertEqual(opened[0]["path"], os.path.join(traced.root, "elsewhere", "made-here.txt"))

    def test_atexit_and_threads(self):
        plain, traced = self.check(
            {
                "main.py": """
                    import atexit, threading, sys
                    def bye(name):
                        print("bye", name)
                    atexit.register(bye, "first")
                    atexit.register(bye, "second")
                    out = []
                    def work(i):
                        out.append(i * i)
                    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
                    for t in ts: t.start()
                    for t in ts: t.join()
                    print(sorted(out), threading.active_count())
                """
            }
        )
        # the atexit handlers ran before the log's end
        ev = traced.events()
        self.assertEqual(ev[-1]["e"], "end")
        self.assertIsNone(by_type(ev, "output")[0]["stdout"])  # a pipe

    def test_project_modules_shadowing_stdlib(self):
        # The tracer imports json, uuid, getopt, tokenize… before the script;
        # a project's own module of the same name must still win, as untraced
        # (platform and argparse: modules it imported once, and might again).
        self.check(
            {
                "main.py": """
                    import json, uuid, platform, argparse, tokenize, getopt, hashlib
                    print(json.WHO, uuid.WHO, platform.WHO, argparse.WHO, tokenize.WHO, getopt.WHO, hashlib.WHO)
                    import sys
                    print(sorted(n for n in sys.modules if n.startswith("json")))
                """,
                "json.py": "WHO = 'my json'\nprint('importing my json')\n",
                "uuid.py": "WHO = 'my uuid'\n",
                "platform.py": "WHO = 'my platform'\n",
                "argparse/__init__.py": "WHO = 'my argparse'\n",
                "tokenize.py": "WHO = 'my tokenize'\n",
                "getopt.py": "WHO = 'my getopt'\n",
                "hashlib.py": "WHO = 'my hashlib'\n",
            }
        )

    def test_unbuffered_and_flags(self):
        self.check({"main.py": "import sys\nprint(sys.flags.optimize, __debug__)\nassert False, 'kept'\n"})


@unittest.skipIf(sys.platform == "win32", "POSIX only")
class SignalTests(TracerTestCase):
    def test_sigint_from_outside(self):
        import subprocess
        import time

        folder = self.project({"main.py": "import time\nprint('ready', flush=True)\ntime.sleep(30)\n"})
        os.makedirs(os.path.join(folder, ".git"))
        from support import TRACER, PYTHON, clean_env, load_events

        p = subprocess.Popen([PYTHON, TRACER, "main.py"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        self.assertEqual(p.stdout.readline(), b"ready\n")
        time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, -signal.SIGINT)
        self.assertTrue(err.endswith(b"KeyboardInterrupt\n"), err)
        self.assertNotIn(b"now_tracer", err)
        self.assertEqual(load_events(folder)[-1]["e"], "end")

    def test_sigint_during_busy_calls(self):
        # Ctrl-C while the tracer itself runs most of the time.
        import subprocess
        import time

        from support import TRACER, PYTHON, clean_env, load_events

        folder = self.project(
            {
                "main.py": """
                    def f(x):
                        return x + 1
                    def loop():
                        n = 0
                        while True:
                            n = f(n)
                    print("ready", flush=True)
                    try:
                        loop()
                    finally:
                        print("cleanup", flush=True)
                """
            }
        )
        os.makedirs(os.path.join(folder, ".git"))
        p = subprocess.Popen([PYTHON, TRACER, "main.py"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        self.assertEqual(p.stdout.readline(), b"ready\n")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(out, b"cleanup\n")
        self.assertEqual(p.returncode, -signal.SIGINT)
        self.assertTrue(err.startswith(b"Traceback (most recent call last):\n"), err)
        self.assertTrue(err.endswith(b"KeyboardInterrupt\n"), err)
        if _target_version(PYTHON) >= (3, 11):
            self.assertNotIn(b"now_tracer", err)
        else:
            # 3.8-3.10 (signals.py): the handler runs inside the trace callback where
            # the signal becomes due. What it raises leaves the trace function and
            # CPython switches tracing off: no tracer code runs again before the
            # traceback is printed, and the entries of the callback's frames (linked
            # under the script's frame as the exception left them) cannot be
            # unlinked. The script's frames come first all the same.
            self.assertRegex(err, rb'^Traceback \(most recent call last\):\n  File "[^"]*main\.py", line 9, in <module>\n    loop\(\)\n')
        events = load_events(folder)
        self.assertEqual(events[-1]["e"], "end")
        self.assertEqual(events[-1]["exception"]["type"], "KeyboardInterrupt")
        self.assertTrue(events[-1]["exception"]["traceback"][-1]["file"].endswith("main.py"))


def _target_version(python):
    import subprocess
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return tuple(int(x) for x in out.split())


if __name__ == "__main__":
    unittest.main()
