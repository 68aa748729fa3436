"""Command line: options, defaults, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
import uuid

from support import PYTHON, TRACER, TracerTestCase, clean_env, load_events

sys.path.insert(0, TRACER)
from now_tracer.cli import split_argv  # noqa: E402


class SplitTests(unittest.TestCase):
    def test_split(self):
        self.assertEqual(split_argv(["s.py", "--root", "x"]), ([], ["s.py", "--root", "x"]))
        self.assertEqual(split_argv(["--root", "r", "s.py", "-v"]), (["--root", "r"], ["s.py", "-v"]))
        self.assertEqual(split_argv(["--root=r", "--no-redact", "s.py"]), (["--root=r", "--no-redact"], ["s.py"]))
        self.assertEqual(split_argv(["--log", "l", "--", "--weird.py", "a"]), (["--log", "l"], ["--weird.py", "a"]))
        self.assertEqual(split_argv([]), ([], []))


class CliTests(TracerTestCase):
    def tracer(self, args, cwd, module=False):
        cmd = [PYTHON, "-m", "now_tracer"] if module else [PYTHON, TRACER]
        env = clean_env({"PYTHONPATH": TRACER} if module else None)
        return subprocess.run(cmd + args, cwd=cwd, capture_output=True, env=env, timeout=60)

    def test_explicit_options_and_script_args(self):
        folder = self.project({"sub/main.py": "import sys\nprint(sys.argv)\n"})
        root = os.path.join(self.tmp, "elsewhere")
        log = os.path.join(self.tmp, "logs", "x.jsonl")
        trial = str(uuid.uuid4())
        p = self.tracer(
            ["--root", root, "--trial", trial, "--log", log, "--no-redact", "--", "sub/main.py", "--foo", "-x", "--", "--root"],
            cwd=folder,
        )
        self.assertEqual(p.stderr, b"")
        self.assertEqual(p.stdout, b"['sub/main.py', '--foo', '-x', '--', '--root']\n")
        events = load_events(None, log=log)
        self.assertEqual(events[0]["trial"], trial)
        self.assertEqual(events[0]["root"], root)
        self.assertEqual(events[0]["script"], os.path.join(folder, "sub", "main.py"))
        self.assertEqual(events[-1]["e"], "end")

    def test_defaults(self):
        folder = self.project({"pyproject.toml": "", "src/app/main.py": "print('ok')\n"})
        p = self.tracer(["src/app/main.py"], cwd=folder)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"ok\n", b""))
        trials = os.listdir(os.path.join(folder, ".now", "trials"))
        self.assertEqual(len(trials), 1)
        uuid.UUID(trials[0])
        events = load_events(folder)
        self.assertEqual(events[0]["root"], folder)
        self.assertEqual(events[0]["trial"], trials[0])

    def test_root_defaults_to_script_folder(self):
        folder = self.project({"main.py": "pass\n"})
        # no marker anywhere up to / (tmp dirs normally have none)
        p = self.tracer(["main.py"], cwd=folder)
        self.assertEqual(p.returncode, 0)
        events = load_events(folder)
        self.assertTrue(events[0]["root"] in (folder,) or os.path.exists(os.path.join(events[0]["root"], ".git")))

    def test_python_dash_m(self):
        folder = self.project({"main.py": "import os, sys\nprint(sys.path[0] == os.path.dirname(os.path.abspath(__file__)), __name__)\n"})
        os.makedirs(os.path.join(folder, ".git"))
        p = self.tracer(["main.py", "arg"], cwd=folder, module=True)
        self.assertEqual((p.stdout, p.stderr, p.returncode), (b"True __main__\n", b"", 0))
        self.assertEqual(load_events(folder)[0]["argv"], ["main.py", "arg"])

    def test_errors(self):
        folder = self.project({"main.py": "pass\n"})
        for args, fragment in [
            (["missing.py"], b"now_tracer: error: can't open file"),
            ([], b"now_tracer: error: no script given"),
            (["--trial", "not-a-uuid", "main.py"], b"now_tracer: error: --trial must be a uuid"),
            (["--bogus", "main.py"], b"now_tracer: error: unrecognized arguments: --bogus"),
            (["."], b"now_tracer: error: can't run"),
        ]:
            with self.subTest(args=args):
                p = self.tracer(args, cwd=folder)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, b"")
                self.assertTrue(p.stderr.startswith(fragment), p.stderr)
                self.assertEqual(p.stderr.count(b"\n"), 1)
        self.assertFalse(os.path.exists(os.path.join(folder, ".now")))


if __name__ == "__main__":
    unittest.main()
