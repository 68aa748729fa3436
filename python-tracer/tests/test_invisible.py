"""The tracer is invisible to the script: CPython runs the script itself (the
tracer comes in through boot/sitecustomize.py), so what the script can inspect
of itself — its stack, sys.orig_argv, sys.modules, sys.stdout, its own profile,
the signal dispositions it inherited — is what it would be untraced."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import unittest

from support import PYTHON, TIMEOUT, TRACER, TracerTestCase, by_type, clean_env, load_events

sys.path.insert(0, TRACER)
from now_tracer import cli  # noqa: E402
from now_tracer.runner import coding_cookie, decode_source  # noqa: E402

REPO = os.path.dirname(TRACER)
NOW = os.path.join(REPO, "bin", "now.js")
# Built, and its node_modules reachable (not from inside scripts/python3.13's root).
BUILT = os.path.exists(os.path.join(REPO, "dist", "server", "src", "cli.js")) and \
    os.path.isdir(os.path.join(REPO, "node_modules", "commander"))
PYTHON313 = os.path.join(REPO, "scripts", "python3.13")
BOOT = os.path.join(TRACER, "boot")

PROBE = """
    import sys
    # cli.KEPT_MODULES, and what they refer to (cli._referred: 3.13's enum, threading…;
    # 3.8 and 3.9's collections imports heapq, which imports _heapq's functions)
    KEPT = ("threading", "enum", "types", "collections", "_collections", "pathlib", "atexit",
            "functools", "_functools", "operator", "_operator", "_weakrefset", "itertools", "reprlib",
            "warnings", "weakref", "heapq", "_heapq")
    first = sorted(n for n in sys.modules if n.partition(".")[0] not in KEPT)
    kept = sorted(n for n in sys.modules if n.partition(".")[0] in KEPT)
    import cProfile, importlib, inspect, os, pstats, signal, traceback
    print(first)
    print(getattr(sys, "orig_argv", None), sys.argv, sys.path == sys.path[:1] + sys.path[1:])
    print(sys.path)
    print(sorted(k for k in os.environ if k.startswith("NOW_TRACER_")), os.environ.get("PYTHONPATH"))
    print(sorted(k for k in os.environb if k.startswith(b"NOW_TRACER_")), os.environb.get(b"PYTHONPATH"))
    print("".join(traceback.format_stack()), end="")
    print(len(inspect.stack()), inspect.stack()[0].filename == __file__)
    print(type(sys.stdout.write), type(sys.stderr.write), sys.excepthook is sys.__excepthook__)
    print(hasattr(importlib, "machinery"), hasattr(importlib, "util"))
    print([signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGUSR1)])
    def work():
        sys.stdout.write("profiled\\n")
        return sum(range(10))
    p = cProfile.Profile()
    p.enable()
    work()
    p.disable()
    print(sorted("%s:%d(%s)" % (os.path.basename(k[0]), k[1], k[2]) for k in pstats.Stats(p).stats))
    print(kept, file=sys.stderr)
"""


def ignoring(*signums):
    def pre():
        for s in signums:
            signal.signal(s, signal.SIG_IGN)

    return pre


class ProbeTests(TracerTestCase):
    def run_pair(self, files, script="main.py", args=("a", "--b"), env=None, preexec_fn=None):
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        runs = []
        for command in ([PYTHON, script], [PYTHON, TRACER, script]):
            p = subprocess.run(command + list(args), cwd=folder, capture_output=True, env=clean_env(env),
                               timeout=TIMEOUT, preexec_fn=preexec_fn)
            runs.append(p)
        return folder, runs[0], runs[1]

    def assertSame(self, plain, traced):
        self.assertEqual(plain.stdout.decode(errors="replace"), traced.stdout.decode(errors="replace"))
        self.assertEqual(plain.stderr.decode(errors="replace"), traced.stderr.decode(errors="replace"))
        self.assertEqual((plain.stdout, plain.stderr, plain.returncode), (traced.stdout, traced.stderr, traced.returncode))

    def test_kept_modules_share_classes_with_the_script(self):
        # A module the tracer keeps imported compares the script's objects with the
        # classes it was made with: 3.13's enum warns on isinstance(value,
        # functools.partial); a forgotten functools gave the script another partial.
        script = """
            import enum, functools, warnings
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                class E(enum.Enum):
                    a = functools.partial(int)
            print([x.category.__name__ for x in w])
            import collections, threading, types
            print(type(collections.deque()) is collections.deque, types.FunctionType is type(len) or True)
        """
        folder, plain, traced = self.run_pair({"main.py": script})
        self.assertEqual(plain.stdout, traced.stdout)
        self.assertEqual(plain.returncode, traced.returncode)

    def test_what_the_script_sees_of_itself(self):
        folder, plain, traced = self.run_pair({"main.py": PROBE})
        # The modules the tracer keeps imported (README, "What a script can still
        # see") are printed on stderr, compared apart: a subset of those.
        self.assertEqual(plain.stdout, traced.stdout)
        self.assertEqual(plain.returncode, traced.returncode)
        kept = set(eval(traced.stderr)) - set(eval(plain.stderr))
        referred = {"functools", "_functools", "operator", "_operator", "_weakrefset", "itertools",
                    "reprlib", "warnings", "weakref",  # what the kept ones refer to (cli._referred)
                    "heapq", "_heapq"}  # 3.8, 3.9: collections imports heapq
        self.assertLessEqual({n.partition(".")[0] for n in kept}, cli.KEPT_MODULES | referred)
        self.assertIn(b"profiled", traced.stdout)
        self.assertNotIn(b"now_tracer", traced.stdout)
        self.assertEqual(load_events(folder)[-1]["e"], "end")

    def test_user_pythonpath_kept_exactly(self):
        for value in ("/nowhere/a" + os.pathsep + "/nowhere/b", ""):
            with self.subTest(PYTHONPATH=value):
                _, plain, traced = self.run_pair({"main.py": PROBE}, env={"PYTHONPATH": value})
                self.assertEqual(plain.stdout, traced.stdout)

    def test_signals_the_parent_ignored(self):
        # `nohup python …`: SIGHUP ignored; Python itself ignores SIGPIPE and SIGXFSZ and
        # leaves an ignored SIGINT ignored.
        _, plain, traced = self.run_pair({"main.py": PROBE}, preexec_fn=ignoring(signal.SIGHUP, signal.SIGINT))
        self.assertEqual(plain.stdout, traced.stdout)
        self.assertIn(b"[<Handlers.SIG_IGN: 1>, <Handlers.SIG_IGN: 1>, <Handlers.SIG_IGN: 1>, <Handlers.SIG_IGN: 1>, "
                      b"<Handlers.SIG_DFL: 0>]", traced.stdout)

    def test_recursion_depth(self):
        body = """
            def depth(n=1):
                try:
                    return depth(n + 1)
                except RecursionError:
                    return n
            print(depth())
        """
        _, plain, traced = self.run_pair({"main.py": body})
        self.assertSame(plain, traced)

    def test_uncaught_recursion_error(self):
        _, plain, traced = self.run_pair({"main.py": "def f():\n    return f()\nf()\n"})
        self.assertSame(plain, traced)

    # The cores' callbacks still take stack depth near the limit (issue 15, the cores' part).
    test_recursion_depth = unittest.expectedFailure(test_recursion_depth)
    test_uncaught_recursion_error = unittest.expectedFailure(test_uncaught_recursion_error)

    def test_sitecustomize_chain(self):
        # The user's own sitecustomize (further on sys.path) still runs, once, before the
        # script, and is the one in sys.modules; one that fails is reported as site.py
        # would. Started as `now run` starts it (`python python-tracer` is an interpreter
        # of its own, whose site runs it too).
        for body in ('print("user sitecustomize", __name__)\nVALUE = 1\n', 'raise ValueError("broken site")\n'):
            with self.subTest(body=body):
                lib = self.project({"sitecustomize.py": body}, name="lib")
                folder = self.project({"main.py": "import sys\nprint(getattr(sys.modules.get('sitecustomize'), 'VALUE', None))\n"},
                                      name="p%d" % len(os.listdir(self.tmp)))
                os.makedirs(os.path.join(folder, ".git"))
                plain = subprocess.run([PYTHON, "main.py"], cwd=folder, capture_output=True, timeout=TIMEOUT,
                                       env=clean_env({"PYTHONPATH": lib}))
                env = clean_env(cli.boot_environment({"PYTHONPATH": lib}, []))
                traced = subprocess.run([PYTHON, "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT)
                self.assertSame(plain, traced)
                self.assertEqual(by_type(load_events(folder), "end")[0]["exit_code"], 0)

    def test_boot_failure_leaves_the_script_untraced(self):
        # A boot whose now_tracer cannot be imported (its folder copied elsewhere) and
        # options that are not JSON: the script runs as untraced, with nothing of the
        # tracer left in its environment, and nothing written.
        alone = os.path.join(self.tmp, "alone", "boot")
        os.makedirs(alone)
        shutil.copy(os.path.join(BOOT, "sitecustomize.py"), alone)
        for boot_dir, options in ((alone, '["--root", "."]'), (BOOT, "not json"), (BOOT, '["--bogus"]')):
            with self.subTest(boot=boot_dir, options=options):
                folder = self.project({"main.py": PROBE}, name="p%d" % len(os.listdir(self.tmp)))
                plain = subprocess.run([PYTHON, "main.py"], cwd=folder, capture_output=True, env=clean_env(),
                                       timeout=TIMEOUT)
                env = clean_env({"PYTHONPATH": boot_dir, "NOW_TRACER_PYTHONPATH": "-", "NOW_TRACER_BOOT": options,
                                 "NOW_TRACER_PARENT": str(os.getpid())})
                traced = subprocess.run([PYTHON, "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT)
                self.assertEqual((plain.stdout, plain.stderr), (traced.stdout, traced.stderr))
                self.assertFalse(os.path.exists(os.path.join(folder, ".now")))

    def test_options_from_the_environment_only_with_a_script(self):
        # `python -c` with the boot's environment: nothing to trace, environment put back.
        env = clean_env({"PYTHONPATH": BOOT, "NOW_TRACER_PYTHONPATH": "+x", "NOW_TRACER_BOOT": "[]", "NOW_TRACER_SIGIGN": "1"})
        p = subprocess.run([PYTHON, "-c", "import os, signal; print(os.environ.get('PYTHONPATH'), "
                            "sorted(k for k in os.environ if k.startswith('NOW_TRACER') and k != 'NOW_TRACER_CORE'), [signal.getsignal(1)])"],
                           capture_output=True, env=env, cwd=self.tmp, timeout=TIMEOUT)
        self.assertEqual(p.stdout, b"x [] [<Handlers.SIG_IGN: 1>]\n")

    def test_interpreter_flags_that_keep_the_tracer_out(self):
        folder = self.project({"main.py": "print(1)\n"})
        for flag in ("-E", "-I", "-S"):
            with self.subTest(flag=flag):
                p = subprocess.run([PYTHON, flag, TRACER, "main.py"], cwd=folder, capture_output=True, timeout=TIMEOUT,
                                   env=clean_env())
                self.assertEqual(p.returncode, 2)
                self.assertIn(b"now_tracer: error: the interpreter options -E, -I and -S", p.stderr)

    def test_interpreter_flags_are_passed_on(self):
        body = "import sys\nprint(sys.flags.optimize, sys.flags.verbose, sys.flags.dev_mode, sys.flags.bytes_warning)\n"
        folder = self.project({"main.py": body})
        flags = ["-O", "-X", "dev", "-b"]
        plain = subprocess.run([PYTHON] + flags + ["main.py"], cwd=folder, capture_output=True, env=clean_env(),
                               timeout=TIMEOUT)
        traced = subprocess.run([PYTHON] + flags + [TRACER, "main.py"], cwd=folder, capture_output=True,
                                env=clean_env(), timeout=TIMEOUT)
        self.assertEqual(plain.stdout, traced.stdout)
        self.assertEqual(plain.stdout, b"1 0 True 1\n")

    def test_same_process(self):
        # os.execv: the pid the parent started is the script's and the header's.
        folder = self.project({"main.py": "import os\nprint(os.getpid())\n"})
        os.makedirs(os.path.join(folder, ".git"))
        p = subprocess.Popen([PYTHON, TRACER, "main.py"], cwd=folder, stdout=subprocess.PIPE, env=clean_env())
        out, _ = p.communicate(timeout=TIMEOUT)
        self.assertEqual(int(out), p.pid)
        self.assertEqual(load_events(folder)[0]["pid"], p.pid)


class SourceReadsTests(TracerTestCase):
    def test_linecache_reads_are_not_the_scripts(self):
        # tokenize is no longer imported before the file hook: the sources linecache
        # reads for a printed stack, a warning or the uncaught traceback are still
        # not recorded as the script's reads; the script's own open is.
        body = """
            import traceback, warnings
            traceback.print_stack()
            warnings.warn("careful")
            with open("data.txt") as f:
                f.read()
            raise ValueError("end")
        """
        folder = self.project({"main.py": body, "data.txt": "x"})
        os.makedirs(os.path.join(folder, ".git"))
        p = subprocess.run([PYTHON, TRACER, "main.py"], cwd=folder, capture_output=True, env=clean_env(), timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'traceback.print_stack()', p.stderr)
        events = load_events(folder)
        opens = [os.path.basename(e["path"]) for e in by_type(events, "open")]
        self.assertEqual(opens, ["data.txt"])
        self.assertEqual(by_type(events, "warning"), [])  # 3.8-3.12 print it from C, no Python frame


class OutputSizeTests(TracerTestCase):
    def project(self, files, name="proj"):
        folder = super().project(files, name)
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)  # the root, whatever is above
        return folder

    BODY = 'import sys\nprint("héllo")\nsys.stderr.write("é")\nsys.stdout.write("x" * 10000)\n'

    def traced_into(self, stdout, stderr, folder):
        subprocess.run([PYTHON, TRACER, "main.py"], cwd=folder, stdout=stdout, stderr=stderr, env=clean_env(),
                       timeout=TIMEOUT, check=True)
        return by_type(load_events(folder), "output")[0]

    def test_regular_files_in_bytes(self):
        folder = self.project({"main.py": self.BODY})
        out_path, err_path = os.path.join(self.tmp, "out"), os.path.join(self.tmp, "err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            out.write(b"already there\n")
            out.flush()
            ev = self.traced_into(out, err, folder)
        self.assertEqual(ev["stdout"], os.path.getsize(out_path) - len(b"already there\n"))
        self.assertEqual(ev["stdout"], len("héllo\n".encode()) + 10000)
        self.assertEqual(ev["stderr"], 2)

    def test_unknown_for_pipes_and_a_shared_file(self):
        folder = self.project({"main.py": self.BODY})
        ev = self.traced_into(subprocess.PIPE, subprocess.PIPE, folder)
        self.assertEqual((ev["stdout"], ev["stderr"]), (None, None))
        shutil.rmtree(os.path.join(folder, ".now"))
        with open(os.path.join(self.tmp, "both"), "wb") as both:
            ev = self.traced_into(both, both, folder)
        self.assertEqual((ev["stdout"], ev["stderr"]), (None, None))

    def test_no_flush_into_the_scripts_own_classes(self):
        body = """
            import io, sys
            class Raw(io.RawIOBase):
                def writable(self):
                    return True
                def write(self, b):
                    sys.__stderr__.write("Raw.write %r called from Python: %s\\n" % (bytes(b), sys._getframe().f_back is not None))
                    return len(b)
            sys.stdout = io.TextIOWrapper(io.BufferedWriter(Raw()))
            print("kept in the buffer")
        """
        folder = self.project({"main.py": body})
        written = []
        for command in ([PYTHON, "main.py"], [PYTHON, TRACER, "main.py"]):
            err = os.path.join(self.tmp, "err")
            with open(os.path.join(self.tmp, "out"), "wb") as out, open(err, "wb") as f:
                subprocess.run(command, cwd=folder, stdout=out, stderr=f, env=clean_env(), timeout=TIMEOUT, check=True)
            with open(err, "rb") as f:
                written.append(f.read())
        # the script's own stream is flushed by the interpreter, as untraced; never by the tracer
        self.assertEqual(written[0], written[1])
        self.assertIn(b"called from Python: False", written[1])

    def test_a_descriptor_pointed_elsewhere(self):
        body = 'import os\nfd = os.open(os.devnull, os.O_WRONLY)\nos.dup2(fd, 1)\nprint("gone")\n'
        folder = self.project({"main.py": body})
        with open(os.path.join(self.tmp, "out"), "wb") as out:
            ev = self.traced_into(out, subprocess.PIPE, folder)
        self.assertIsNone(ev["stdout"])


class SourceDecodingTests(unittest.TestCase):
    def test_as_importlib_decodes(self):
        from importlib.util import decode_source as reference

        for source in (
            b"x = 1\r\ny = 2\r\n", b"x = 1\ry = 2\n", b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", b"\n# vim: set fileencoding=cp1252 :\nx = '\x80'\n",
            b"x = 1\n# coding: latin-1\n", b"\xef\xbb\xbfx = '\xc3\xa9'\n", b"#!/usr/bin/env python\n# coding=utf_8\n",
            b"# coding: UTF-8-unix\n", b"#coding:iso_latin_1_x\n'\xe9'", b"  # encoding: koi8-r\n",
        ):
            with self.subTest(source=source):
                self.assertEqual(decode_source(source), reference(source))

    def test_cookie_rules(self):
        self.assertIsNone(coding_cookie(b"import os  # coding: latin-1\n"))
        self.assertIsNone(coding_cookie(b"x = 1\n# coding: latin-1\n"))
        self.assertEqual(coding_cookie(b"#\n# coding: latin-1\n"), "iso-8859-1")
        self.assertIsNone(coding_cookie(b"#\n#\n# coding: latin-1\n"))
        with self.assertRaises(LookupError):
            decode_source(b"# coding: no-such-codec\n")


class BootEnvironmentTests(unittest.TestCase):
    def test_pythonpath_kept_aside(self):
        env = cli.boot_environment({"A": "1"}, ["--fine"])
        self.assertEqual((env["PYTHONPATH"], env["NOW_TRACER_PYTHONPATH"]), (BOOT, "-"))
        self.assertEqual(json.loads(env["NOW_TRACER_BOOT"]), ["--fine"])
        env = cli.boot_environment({"PYTHONPATH": ""}, [])
        self.assertEqual((env["PYTHONPATH"], env["NOW_TRACER_PYTHONPATH"]), (BOOT, "+"))
        env = cli.boot_environment({"PYTHONPATH": "/x"}, [])
        self.assertEqual((env["PYTHONPATH"], env["NOW_TRACER_PYTHONPATH"]), (BOOT + os.pathsep + "/x", "+/x"))


@unittest.skipUnless(BUILT and shutil.which("node"), "needs `npm run build` and node")
class NowRunTests(TracerTestCase):
    """Through bin/now.js: the sh launcher passes the signals its caller ignored."""

    def test_nohup(self):
        pythons = [PYTHON]
        if os.path.exists(PYTHON313) and subprocess.run([PYTHON313, "-c", "pass"], capture_output=True).returncode == 0:
            pythons.append(PYTHON313)
        for python in pythons:
            with self.subTest(python=python):
                self.check_nohup(python)

    def check_nohup(self, python):
        folder = self.project({"main.py": "import signal\nprint([signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGINT)])\n"},
                              name="p%d" % len(os.listdir(self.tmp)))
        os.makedirs(os.path.join(folder, ".git"))
        env = clean_env({"NOW_PYTHON": python})
        plain = subprocess.run([python, "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT,
                               preexec_fn=ignoring(signal.SIGHUP))
        traced = subprocess.run([NOW, "run", "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT,
                                preexec_fn=ignoring(signal.SIGHUP))
        self.assertEqual(plain.stdout, b"[<Handlers.SIG_IGN: 1>, <built-in function default_int_handler>]\n")
        self.assertEqual(traced.stdout, plain.stdout, traced.stderr)
        self.assertRegex(traced.stderr, rb"^now: trial \d+ finished")
        # not ignored by the caller: not ignored by the script either
        traced = subprocess.run([NOW, "run", "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT)
        self.assertEqual(traced.stdout, b"[<Handlers.SIG_DFL: 0>, <built-in function default_int_handler>]\n")
        # and a SIGHUP sent to the script does not end it
        with open(os.path.join(folder, "main.py"), "w") as f:
            f.write("import os, signal, sys\nos.kill(os.getpid(), signal.SIGHUP)\nprint('alive')\n")
        traced = subprocess.run([NOW, "run", "main.py"], cwd=folder, capture_output=True, env=env, timeout=TIMEOUT,
                                preexec_fn=ignoring(signal.SIGHUP))
        self.assertEqual((traced.stdout, traced.returncode), (b"alive\n", 0), traced.stderr)

if __name__ == "__main__":
    unittest.main()
