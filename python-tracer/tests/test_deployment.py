"""The deployment event (environment, redaction) and the module events."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

from support import PYTHON, TRACER, TracerTestCase, by_type, clean_env

sys.path.insert(0, TRACER)
from now_tracer.deployment import redact_env  # noqa: E402


class RedactionUnitTests(unittest.TestCase):
    def test_names_and_urls(self):
        env, redacted = redact_env(
            {
                "SECRET_TOKEN": "s3cr3t",
                "aws_secret_access_key": "k",
                "DB_PASSWD": "p",
                "MY_PWD": "p",
                "PWD": "/home/ana",
                "OLDPWD": "/tmp",
                "HOME": "/home/ana",
                "DATABASE_URL": "postgres://ana:hunter2@db:5432/x",
                "PLAIN_URL": "https://example.org/path",
                "GITHUB_AUTH": "x",
                "SESSION_COOKIE": "c",
            }
        )
        self.assertEqual(env["SECRET_TOKEN"], "<redacted>")
        self.assertEqual(env["aws_secret_access_key"], "<redacted>")
        self.assertEqual(env["DB_PASSWD"], "<redacted>")
        self.assertEqual(env["MY_PWD"], "<redacted>")
        self.assertEqual(env["PWD"], "/home/ana")
        self.assertEqual(env["OLDPWD"], "/tmp")
        self.assertEqual(env["HOME"], "/home/ana")
        self.assertEqual(env["DATABASE_URL"], "postgres://ana:<redacted>@db:5432/x")
        self.assertEqual(env["PLAIN_URL"], "https://example.org/path")
        self.assertEqual(
            sorted(redacted),
            sorted(["SECRET_TOKEN", "aws_secret_access_key", "DB_PASSWD", "MY_PWD", "DATABASE_URL", "GITHUB_AUTH", "SESSION_COOKIE"]),
        )

    def test_disabled(self):
        env, redacted = redact_env({"SECRET_TOKEN": "s"}, redact=False)
        self.assertEqual((env, redacted), ({"SECRET_TOKEN": "s"}, []))


class DeploymentTests(TracerTestCase):
    def test_deployment_event(self):
        run, events = self.traced_events(
            {"main.py": "print('hi')\n"}, env={"SECRET_TOKEN": "do-not-log", "PWD": "/somewhere"}
        )
        self.assertEqual([e["e"] for e in events[:2]], ["header", "deployment"])
        header, dep = events[0], events[1]
        self.assertEqual(header["format"], "now-events")
        self.assertEqual(header["version"], 1)
        # no NOW_TRACER_CORE: the default core, no reason
        if "NOW_TRACER_CORE" not in os.environ:
            self.assertEqual(header["core"], "sysmon" if sys.version_info >= (3, 12) else "settrace")
            self.assertIsNone(header["core_reason"])
        self.assertEqual(header["granularity"], "coarse")
        self.assertEqual(header["root"], run.root)
        self.assertEqual(header["script"], os.path.join(run.root, "main.py"))
        with open(os.path.join(run.root, "main.py"), "rb") as f:
            self.assertEqual(header["script_hash"], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(header["argv"], ["main.py"])
        self.assertEqual(header["cwd"], run.root)
        self.assertEqual(dep["env"]["SECRET_TOKEN"], "<redacted>")
        self.assertIn("SECRET_TOKEN", dep["redacted"])
        self.assertEqual(dep["env"]["PWD"], "/somewhere")
        self.assertEqual(dep["python"]["executable"], sys.executable if not os.environ.get("NOW_TEST_PYTHON") else dep["python"]["executable"])
        self.assertEqual(set(dep["os"]), {"system", "release", "version", "name"})
        for key in ("hostname", "machine"):
            self.assertIsInstance(dep[key], str)
        with open(os.path.join(run.root, ".now", "trials", header["trial"], "events.jsonl"), "rb") as f:
            self.assertNotIn(b"do-not-log", f.read())

    def test_no_redact(self):
        folder = self.project({"main.py": "pass\n"})
        run = self.run_traced("main.py", cwd=folder, env={"SECRET_TOKEN": "visible"}, options=["--no-redact"])
        dep = run.events()[1]
        self.assertEqual(dep["env"]["SECRET_TOKEN"], "visible")
        self.assertEqual(dep["redacted"], [])

    def test_modules(self):
        run, events = self.traced_events(
            {
                "main.py": "import json, helper\nfrom pkg import sub\nprint(helper.VALUE, sub.X)\n",
                "helper.py": "__version__ = '1.2'\nVALUE = 1\n",
                "pkg/__init__.py": "",
                "pkg/sub.py": "X = 2\n",
            }
        )
        mods = {m["name"]: m for m in by_type(events, "module")}
        self.assertFalse(any(name.startswith("now_tracer") for name in mods))
        helper = mods["helper"]
        self.assertEqual(helper["version"], "1.2")
        self.assertTrue(helper["local"])
        self.assertEqual(helper["path"], os.path.join(run.root, "helper.py"))
        with open(helper["path"], "rb") as f:
            data = f.read()
        self.assertEqual(helper["hash"], hashlib.sha256(data).hexdigest())
        blob = os.path.join(run.root, ".now", "content", helper["hash"][:2], helper["hash"][2:])
        self.assertTrue(os.path.exists(blob))
        self.assertTrue(mods["pkg.sub"]["local"])
        self.assertFalse(mods["json"]["local"])
        self.assertIsNotNone(mods["json"]["hash"])
        self.assertIsNone(mods["sys"]["path"])
        self.assertIsNone(mods["sys"]["hash"])
        self.assertIn("__main__", mods)
        # order at the end of the log: modules, output, end
        tail = [e["e"] for e in events if e["e"] in ("module", "output", "end")]
        self.assertEqual(tail[-2:], ["output", "end"])
        self.assertEqual(set(tail[:-2]), {"module"})
        out = by_type(events, "output")[0]
        # stdout and stderr are pipes here: their sizes cannot be known without
        # wrapping the streams (test_output.py has the regular-file case)
        self.assertEqual((out["stdout"], out["stderr"]), (None, None))


def _in_tested_python(code: str):
    """Run `code` (which prints JSON) in the interpreter under test, with the
    tracer's package importable."""
    out = subprocess.run(
        [PYTHON, "-c", "import sys; sys.path.insert(0, %r)\n" % TRACER + code],
        capture_output=True, env=clean_env(), timeout=60, check=True,
    ).stdout
    return json.loads(out)


class WithoutStdlibModulesTests(unittest.TestCase):
    """What replaced platform and sysconfig gives what they give."""

    def test_python_implementation_and_version_are_platforms(self):
        mine, theirs = _in_tested_python(
            "import json, platform\n"
            "from now_tracer.deployment import python_implementation, python_version\n"
            "print(json.dumps([[python_implementation(), python_version()],"
            " [platform.python_implementation(), platform.python_version()]]))"
        )
        self.assertEqual(mine, theirs)

    def test_stdlib_dirs_are_sysconfigs(self):
        mine, theirs = _in_tested_python(
            "import json, os, sysconfig\n"
            "from now_tracer.modules import stdlib_dirs\n"
            "paths = sysconfig.get_paths()\n"
            "dirs = set()\n"
            "for k in ('stdlib', 'platstdlib'):\n"
            "    dirs.update((os.path.abspath(paths[k]), os.path.realpath(paths[k])))\n"
            "print(json.dumps([stdlib_dirs(), sorted(dirs)]))"
        )
        self.assertEqual(mine, theirs)


class ModuleHashCacheTests(TracerTestCase):
    """`.now/cache/module-hashes`: the hashes of modules outside the project."""

    SCRIPT = {"main.py": "import extmod\nprint(extmod.X)\n"}

    def setUp(self) -> None:
        super().setUp()
        self.lib = os.path.join(self.tmp, "lib")  # outside the project: not local
        os.makedirs(self.lib)
        self.ext = os.path.join(self.lib, "extmod.py")
        self.write_ext(b"X = 1\n", age=100)
        self.folder = self.project(self.SCRIPT)
        os.makedirs(os.path.join(self.folder, ".git"))
        self.cache = os.path.join(self.folder, ".now", "cache", "module-hashes")

    def write_ext(self, data: bytes, age: float) -> None:
        with open(self.ext, "wb") as f:
            f.write(data)
        t = time.time() - age
        os.utime(self.ext, (t, t))

    def trial(self):
        """(extmod's module event, the cache's lines) after one trial."""
        for log in self.logs():
            os.unlink(log)
        run = self.run_traced("main.py", cwd=self.folder, env={"PYTHONPATH": self.lib})
        self.assertEqual(run.stderr, b"")
        mods = {m["name"]: m for m in by_type(run.events(), "module")}
        with open(self.cache, "rb") as f:
            lines = f.read().split(b"\n")
        return mods["extmod"], lines

    def logs(self):
        import glob
        return glob.glob(os.path.join(self.folder, ".now", "trials", "*", "events.jsonl"))

    def entry(self, lines):
        mine = [line for line in lines if line.endswith(b" " + os.fsencode(self.ext))]
        return mine[0] if mine else None

    def sha(self) -> str:
        with open(self.ext, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def test_hashes_kept_used_and_renewed(self):
        ev, lines = self.trial()
        self.assertEqual(lines[0], b"now-module-hashes 1")
        self.assertFalse(ev["local"])
        self.assertEqual(ev["hash"], self.sha())
        st = os.stat(self.ext)
        self.assertEqual(
            self.entry(lines),
            b"%s %d %d %d %d %d %s"
            % (self.sha().encode(), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.fsencode(self.ext)),
        )
        # outside the project: never copied to the content store
        self.assertFalse(os.path.exists(os.path.join(self.folder, ".now", "content", ev["hash"][:2], ev["hash"][2:])))
        # A hit is not read again: a forged digest with the file's stat is believed.
        forged = "ab" * 32
        with open(self.cache, "wb") as f:
            f.write(b"\n".join(line.replace(self.sha().encode(), forged.encode()) for line in lines))
        ev, _ = self.trial()
        self.assertEqual(ev["hash"], forged)
        # A changed file (another size and mtime) is hashed again, its entry replaced.
        self.write_ext(b"X = 22\n", age=50)
        ev, lines = self.trial()
        self.assertEqual(ev["hash"], self.sha())
        self.assertIn(self.sha().encode(), self.entry(lines))

    def test_a_change_hidden_from_mtime_is_seen(self):
        self.trial()
        st = os.stat(self.ext)
        with open(self.ext, "wb") as f:
            f.write(b"X = 9\n")  # same size
        os.utime(self.ext, ns=(st.st_atime_ns, st.st_mtime_ns))  # and mtime put back
        ev, _ = self.trial()
        self.assertEqual(ev["hash"], self.sha())

    def test_recently_modified_files_are_not_kept(self):
        self.write_ext(b"X = 3\n", age=0)
        ev, lines = self.trial()
        self.assertEqual(ev["hash"], self.sha())
        self.assertIsNone(self.entry(lines))

    def test_project_files_are_hashed_and_stored_every_time(self):
        ev, lines = self.trial()
        self.assertFalse(any(line.endswith(b"/main.py") for line in lines))

    def test_a_corrupt_cache_is_ignored_and_rewritten(self):
        for junk in (b"", b"\x00garbage\xff\n", b"now-module-hashes 1\nnot a line\n",
                     b"now-module-hashes 1\n" + b"zz" * 32 + b" 1 2 3 4 5 /x\n",
                     b"now-module-hashes 1\n" + b"ab" * 32 + b" 1 2 3 4 /x\n",
                     b"now-module-hashes 1\n" + b"ab" * 31 + b"_a 1 2 3 4 5 /x\n",
                     b"now-module-hashes 1\n" + b"AB" * 32 + b" 1 2 3 4 5 /x\n", b"now-module-hashes 99\n"):
            with self.subTest(junk=junk):
                os.makedirs(os.path.dirname(self.cache), exist_ok=True)
                with open(self.cache, "wb") as f:
                    f.write(junk)
                ev, lines = self.trial()
                self.assertEqual(ev["hash"], self.sha())
                self.assertEqual(lines[0], b"now-module-hashes 1")
                self.assertIsNotNone(self.entry(lines))
                self.assertFalse([line for line in lines if line.endswith(b" /x")])  # dropped with the rest
                self.assertFalse([n for n in os.listdir(os.path.dirname(self.cache)) if n.endswith(".tmp")])

    def test_an_unwritable_cache_is_no_error(self):
        os.makedirs(os.path.join(self.folder, ".now"), exist_ok=True)
        with open(os.path.join(self.folder, ".now", "cache"), "wb"):
            pass  # a file where the folder should be
        for log in self.logs():
            os.unlink(log)
        run = self.run_traced("main.py", cwd=self.folder, env={"PYTHONPATH": self.lib})
        self.assertEqual((run.returncode, run.stderr), (0, b""))
        mods = {m["name"]: m for m in by_type(run.events(), "module")}
        self.assertEqual(mods["extmod"]["hash"], self.sha())
        self.assertEqual(by_type(run.events(), "warning"), [])


if __name__ == "__main__":
    unittest.main()
