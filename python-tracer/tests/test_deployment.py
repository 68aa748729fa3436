"""The deployment event (environment, redaction) and the module events."""

from __future__ import annotations

import hashlib
import os
import sys
import unittest

from support import TRACER, TracerTestCase, by_type

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
        self.assertEqual((out["stdout"], out["stderr"]), (4, 0))


if __name__ == "__main__":
    unittest.main()
