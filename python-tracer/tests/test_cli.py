"""Command line: options, defaults, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
import uuid

from support import PYTHON, TRACER, TracerTestCase, clean_env, load_events

sys.path.insert(0, TRACER)
from now_tracer.cli import UsageError, help_text, parse_args, uuid4_text, uuid_text  # noqa: E402


class ParseTests(unittest.TestCase):
    def parse(self, argv):
        ns, rest = parse_args(argv)
        return {k: v for k, v in vars(ns).items() if v is not None and v is not False}, rest

    def test_options_end_at_the_script_or_double_dash(self):
        defaults = {"loop_keep": 3, "calls_keep": 0}
        self.assertEqual(self.parse(["s.py", "--root", "x"]), (defaults, ["s.py", "--root", "x"]))
        self.assertEqual(self.parse(["--root", "r", "s.py", "-v"]), (dict(defaults, root="r"), ["s.py", "-v"]))
        self.assertEqual(
            self.parse(["--root=r", "--no-redact", "s.py"]), (dict(defaults, root="r", no_redact=True), ["s.py"])
        )
        self.assertEqual(self.parse(["--log", "l", "--", "--weird.py", "a"]), (dict(defaults, log="l"), ["--weird.py", "a"]))
        self.assertEqual(self.parse(["-", "a"]), (defaults, ["-", "a"]))
        self.assertEqual(self.parse([]), (defaults, []))
        self.assertEqual(
            self.parse(["--fine", "--loop-keep", "0", "--calls-keep=7", "--trial", "t", "s.py"]),
            (dict(defaults, fine=True, loop_keep=0, calls_keep=7, trial="t"), ["s.py"]),
        )
        # a value is taken whole, even when it looks like an option
        self.assertEqual(self.parse(["--root", "--fine", "s.py"]), (dict(defaults, root="--fine"), ["s.py"]))

    def test_errors(self):
        for argv, message in (
            (["--bogus", "s.py"], "unrecognized arguments: --bogus"),
            (["-x", "s.py"], "unrecognized arguments: -x"),
            # getopt's unique prefixes are refused, as argparse's allow_abbrev=False did
            (["--ro", "r", "s.py"], "unrecognized arguments: --ro"),
            (["--no", "s.py"], "unrecognized arguments: --no"),
            (["--root", "r", "--fin", "s.py"], "unrecognized arguments: --fin"),
            (["--l=x", "s.py"], "unrecognized arguments: --l"),
            (["--root"], "argument --root: expected one argument"),
            (["--fine=yes", "s.py"], "argument --fine: ignored explicit argument"),
            (["--calls-keep", "-1", "s.py"], "argument --calls-keep: must be an integer >= 0, not '-1'"),
            (["--loop-keep=x", "s.py"], "argument --loop-keep: must be an integer >= 0, not 'x'"),
        ):
            with self.subTest(argv=argv):
                with self.assertRaises(UsageError) as cm:
                    parse_args(argv)
                self.assertEqual(str(cm.exception), message)

    def test_help(self):
        for argv in (["--help"], ["-h", "s.py"], ["--root", "r", "--help", "s.py"]):
            with self.subTest(argv=argv):
                self.assertTrue(parse_args(argv)[0].help)
        text = help_text()
        self.assertTrue(text.startswith("usage: now_tracer [options] [--] script.py [args...]\n"))
        for option in ("--root ROOT", "--trial TRIAL", "--log LOG", "--no-redact", "--fine", "--loop-keep K", "--calls-keep K"):
            self.assertIn("  " + option + " ", text)


class UuidTests(unittest.TestCase):
    """The tracer's uuid helpers give what the uuid module gives."""

    def test_uuid_text_is_str_of_uuid(self):
        cases = [str(uuid.uuid4()) for _ in range(20)] + [
            "{12345678-1234-5678-1234-567812345678}", "urn:uuid:12345678-1234-5678-1234-567812345678",
            "12345678123456781234567812345678", "ABCDEFAB-1234-5678-1234-567812345678", "x", "",
            "1234567812345678123456781234567g", " 2345678123456781234567812345678", "+2345678123456781234567812345678",
            "1_345678123456781234567812345678", "-" * 40, "uuid:urn:12345678123456781234567812345678",
        ]
        for text in cases:
            with self.subTest(text=text):
                try:
                    expected = str(uuid.UUID(text))
                except ValueError:
                    with self.assertRaises(ValueError):
                        uuid_text(text)
                else:
                    self.assertEqual(uuid_text(text), expected)

    def test_uuid4_text(self):
        seen = set()
        for _ in range(500):
            text = uuid4_text()
            u = uuid.UUID(text)
            self.assertEqual((u.version, u.variant, str(u)), (4, uuid.RFC_4122, text))
            seen.add(text)
        self.assertEqual(len(seen), 500)


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

    def test_help(self):
        p = self.tracer(["--help"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertIn(b"--calls-keep K", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, ".now")))

    def test_getopt_without_gettext(self):
        # The tracer imports getopt with gettext blocked; the script still
        # gets the real gettext, and getopt works for it as untraced.
        files = {
            "main.py": """
                import sys
                print("gettext" in sys.modules)
                import gettext, getopt
                print(gettext.gettext("x"), type(gettext.NullTranslations).__name__)
                print(getopt.getopt(["-a", "--bb=1", "rest"], "a", ["bb="]))
                try:
                    getopt.getopt(["--zz"], "", ["a"])
                except getopt.GetoptError as e:
                    print(e)
            """,
        }
        plain, traced = self.run_both(files)
        self.assertSameBehaviour(plain, traced)
        self.assertTrue(traced.stdout.startswith(b"False\nx type\n"), traced.stdout)

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
