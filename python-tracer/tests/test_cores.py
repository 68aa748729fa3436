"""Both cores: selection (header `core` / `core_reason`), and the activation,
file and transparency tests run again under each core the Python has
(NOW_TRACER_CORE forced), with the same expected output."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest

import support
import test_activations
import test_files
import test_transparency
from support import TRACER, TracerTestCase, clean_env

ENV = "NOW_TRACER_CORE"


def target_version():
    """Version of the interpreter that runs the traced scripts (NOW_TEST_PYTHON)."""
    out = subprocess.run(
        [support.PYTHON, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
        capture_output=True, env=clean_env(), timeout=30,
    ).stdout.split()
    return tuple(int(x) for x in out)


VERSION = target_version()
HAS_SYSMON = VERSION >= (3, 12)


class ForcedCore:
    core = "settrace"

    def run_traced(self, script, args=(), cwd=None, stdin=b"", env=None, options=(), root=None):
        env = dict(env or {})
        env[ENV] = self.core
        return super().run_traced(script, args, cwd=cwd, stdin=stdin, env=env, options=options, root=root)


# On 3.12+ the default core is sysmon, so the plain test modules already run
# it; these run the settrace core there too, and sysmon explicitly.
@unittest.skipUnless(HAS_SYSMON, "one core only before 3.12")
class SettraceActivationTests(ForcedCore, test_activations.ActivationTests):
    core = "settrace"


@unittest.skipUnless(HAS_SYSMON, "one core only before 3.12")
class SettraceFileTests(ForcedCore, test_files.FileTests):
    core = "settrace"


@unittest.skipUnless(HAS_SYSMON, "one core only before 3.12")
class SettraceExitTests(ForcedCore, test_transparency.ExitTests):
    core = "settrace"


@unittest.skipUnless(HAS_SYSMON, "sys.monitoring needs Python 3.12+")
class SysmonActivationTests(ForcedCore, test_activations.ActivationTests):
    core = "sysmon"


@unittest.skipUnless(HAS_SYSMON, "sys.monitoring needs Python 3.12+")
class SysmonFileTests(ForcedCore, test_files.FileTests):
    core = "sysmon"


@unittest.skipUnless(HAS_SYSMON, "sys.monitoring needs Python 3.12+")
class SysmonExitTests(ForcedCore, test_transparency.ExitTests):
    core = "sysmon"


class HeaderTests(TracerTestCase):
    def header(self, env=None, options=()):
        folder = self.project({"main.py": "def f():\n    return 1\nprint(f())\n"})
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        e = dict(env or {})
        e.setdefault(ENV, "")
        run = self.run_traced("main.py", cwd=folder, env=e, options=options)
        self.assertEqual(run.stdout, b"1\n")
        self.assertEqual(run.stderr, b"")
        run.root = folder
        events = run.events()
        calls = [x for x in events if x["e"] == "call"]
        self.assertEqual(len(calls), 2)  # <module>, f
        return events[0]

    def test_default(self):
        h = self.header()
        if HAS_SYSMON:
            self.assertEqual((h["core"], h["core_reason"]), ("sysmon", None))
            self.assertIn(h["core_tool_id"], (4, 3, 2))
        else:
            self.assertEqual((h["core"], h["core_reason"]), ("settrace", None))

    def test_forced_settrace(self):
        h = self.header({ENV: "settrace"})
        self.assertEqual((h["core"], h["core_reason"]), ("settrace", "NOW_TRACER_CORE=settrace"))

    def test_forced_sysmon(self):
        h = self.header({ENV: "sysmon"})
        if HAS_SYSMON:
            self.assertEqual((h["core"], h["core_reason"]), ("sysmon", "NOW_TRACER_CORE=sysmon"))
        else:
            self.assertEqual((h["core"], h["core_reason"]), ("settrace", "sys.monitoring needs Python 3.12+"))

    def test_fine_mode_default(self):
        h = self.header(options=("--fine",))
        self.assertEqual(h["granularity"], "fine")
        if HAS_SYSMON:
            self.assertEqual((h["core"], h["core_reason"]), ("sysmon", None))
        else:
            self.assertEqual((h["core"], h["core_reason"]), ("settrace", None))

    def test_fine_mode_forced_settrace(self):
        h = self.header({ENV: "settrace"}, options=("--fine",))
        self.assertEqual((h["core"], h["core_reason"], h["granularity"]), ("settrace", "NOW_TRACER_CORE=settrace", "fine"))

    @unittest.skipUnless(HAS_SYSMON, "sys.monitoring needs Python 3.12+")
    def test_script_can_use_cprofile_and_monitoring(self):
        # The tracer's tool id leaves PROFILER_ID (cProfile) and COVERAGE_ID free.
        folder = self.project(
            {
                "main.py": "import cProfile, sys\n"
                "cProfile.run('sum(range(10))', '/dev/null')\n"
                "sys.monitoring.use_tool_id(sys.monitoring.COVERAGE_ID, 'cov')\n"
                "print('ok')\n"
            }
        )
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", cwd=folder, env={ENV: ""})
        self.assertEqual((run.stdout, run.stderr), (b"ok\n", b""))


@unittest.skipUnless(sys.version_info >= (3, 12), "sys.monitoring needs Python 3.12+")
class SelectionTests(unittest.TestCase):
    """cores.select in this process (it only looks at sys.monitoring and the env)."""

    def setUp(self):
        sys.path.insert(0, TRACER)
        self.addCleanup(sys.path.remove, TRACER)
        from now_tracer import cores

        self.cores = cores
        old = os.environ.pop(ENV, None)
        if old is not None:
            self.addCleanup(os.environ.__setitem__, ENV, old)

    def test_ids_taken_falls_back_to_settrace(self):
        mon = sys.monitoring
        held = []
        for tid in self.cores._tool_ids(mon):
            if mon.get_tool(tid) is None:
                mon.use_tool_id(tid, "other tool")
                held.append(tid)
        try:
            name, reason, tid, counter = self.cores.select(False, counting=True)
        finally:
            for t in held:
                mon.free_tool_id(t)
        self.assertEqual((name, tid, counter), ("settrace", None, None))
        self.assertTrue(reason.startswith("sys.monitoring tool ids taken: "), reason)
        self.assertIn("other tool", reason)

    def test_first_free_id(self):
        mon = sys.monitoring
        name, reason, tid, counter = self.cores.select(False)
        try:
            self.assertEqual((name, reason, counter), ("sysmon", None, None))
            self.assertEqual(mon.get_tool(tid), "now_tracer")
        finally:
            mon.free_tool_id(tid)

    def test_counting_takes_a_second_id(self):
        # coarse mode with --calls-keep: a second tool id for callcounter.CallCounter
        mon = sys.monitoring
        name, reason, tid, counter = self.cores.select(False, counting=True)
        try:
            self.assertEqual((name, reason), ("sysmon", None))
            self.assertEqual((mon.get_tool(tid), mon.get_tool(counter)), ("now_tracer", "now_tracer counter"))
            self.assertNotEqual(tid, counter)
        finally:
            mon.free_tool_id(tid)
            mon.free_tool_id(counter)
        # fine mode records every activation: nothing to count
        name, reason, tid, counter = self.cores.select(True, counting=True)
        mon.free_tool_id(tid)
        self.assertEqual((name, counter), ("sysmon", None))

    def test_one_free_id_counts_in_python(self):
        # Only one id free: sysmon all the same, the calls past the cap counted by its PY_START.
        mon = sys.monitoring
        ids = self.cores._tool_ids(mon)
        held = [t for t in ids[1:] if mon.get_tool(t) is None]
        for t in held:
            mon.use_tool_id(t, "other tool")
        try:
            name, reason, tid, counter = self.cores.select(False, counting=True)
            mon.free_tool_id(tid)
        finally:
            for t in held:
                mon.free_tool_id(t)
        self.assertEqual((name, tid, counter), ("sysmon", ids[0], None))


if __name__ == "__main__":
    unittest.main()
