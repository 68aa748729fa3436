"""The event log on disk: flushed while the script runs, readable after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unittest

from support import PYTHON, TRACER, TracerTestCase, by_type, clean_env

sys.path.insert(0, TRACER)
from now_tracer.eventlog import EventLog  # noqa: E402


def read_log(path):
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines()], text


class EventLogUnitTests(TracerTestCase):
    def test_lines_and_surrogates(self):
        path = os.path.join(self.tmp, "e.jsonl")
        log = EventLog(path)
        log.emit({"e": "warning", "message": "caf\u00e9 \udcff"})
        log.append('{"e":"resume","id":1,"t":0.000001}')
        log.close()
        events, text = read_log(path)
        self.assertEqual(events[0]["message"], "caf\u00e9 \udcff")
        self.assertEqual(events[1], {"e": "resume", "id": 1, "t": 0.000001})
        self.assertTrue(text.endswith("\n"))
        self.assertIn('"e":"warning","message":"café', text)  # compact, not ASCII-escaped


class LiveLogTests(TracerTestCase):
    def start(self, main: str):
        folder = self.project({"main.py": main})
        os.makedirs(os.path.join(folder, ".git"))
        log = os.path.join(self.tmp, "log.jsonl")
        p = subprocess.Popen(
            [PYTHON, TRACER, "--log", log, "main.py"], cwd=folder, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=clean_env(),
        )
        def stop():
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)

        self.addCleanup(stop)
        return p, log

    def test_flushed_while_running_and_killed(self):
        p, log = self.start(
            """
            import time
            def step(i):
                return i
            for i in range(3):
                step(i)
            print("ready", flush=True)
            def busy():
                n = 0
                while True:
                    n = step(n) + 1
                    time.sleep(0.001)
            busy()
            """
        )
        self.assertEqual(p.stdout.readline(), b"ready\n")
        time.sleep(0.6)  # > 2 flush periods
        events, _ = read_log(log)
        self.assertEqual(events[0]["e"], "header")
        self.assertEqual(events[1]["e"], "deployment")
        self.assertGreaterEqual(len([e for e in events if e["e"] == "call"]), 4)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=10)
        events, text = read_log(log)  # every complete line parses
        self.assertEqual(events[0]["e"], "header")
        self.assertNotIn("end", [e["e"] for e in events])
        self.assertGreater(len(events), 10)

    @unittest.skipIf(sys.version_info >= (3, 12), "no background flush thread on 3.12+ (fork warning)")
    def test_sparse_events_are_flushed(self):
        p, log = self.start(
            """
            import time
            def tick():
                return 1
            tick()
            print("ready", flush=True)
            time.sleep(30)
            """
        )
        self.assertEqual(p.stdout.readline(), b"ready\n")
        time.sleep(0.6)
        events, _ = read_log(log)
        self.assertIn("return", [e["e"] for e in events])

    def test_fork_child_writes_nothing(self):
        run, events = self.traced_events(
            {
                "main.py": """
                    import os
                    def child_work():
                        return 42
                    pid = os.fork()
                    if pid == 0:
                        child_work()
                        os._exit(0)
                    os.waitpid(pid, 0)
                    print("parent done")
                """
            }
        )
        self.assertEqual(run.stdout, b"parent done\n")
        self.assertEqual([e["e"] for e in events].count("header"), 1)
        self.assertEqual([e["e"] for e in events].count("end"), 1)
        self.assertEqual([c for c in by_type(events, "code") if c["name"] == "child_work"], [])


if __name__ == "__main__":
    unittest.main()
