"""Signals reach the script where they would untraced; a script's own trace
function sees what it would untraced and the trial says recording ended; the
tracer does not trip over the script's recursion depth or its replaced
builtins. Run on the settrace core (3.8-3.11, NOW_TRACER_CORE=settrace) and
the sysmon core (3.12+)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from support import PYTHON, TIMEOUT, TRACER, TracerTestCase, by_type, clean_env

HAS_TESTCAPI = subprocess.run(
    [PYTHON, "-c", "import _testcapi; _testcapi.raise_SIGINT_then_send_None"], capture_output=True
).returncode == 0


TARGET = tuple(int(x) for x in subprocess.run(
    [PYTHON, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True).stdout.split())
# signals.py defers handlers out of tracer code on 3.11+ only (see its docstring)
DEFERS = TARGET >= (3, 11)
NOT_DEFERRED = "3.8-3.10: a handler runs inside the tracer callback where the signal becomes due"


def incomplete(events):
    return [e["reason"] for e in by_type(events, "incomplete")]


def calls_named(events, name):
    codes = {e["code"]: e for e in by_type(events, "code")}
    return sum(1 for e in by_type(events, "call") if codes[e["code"]]["name"] == name)


def core_of(events):
    return by_type(events, "header")[0]["core"]


class SignalTests(TracerTestCase):
    def both(self, body, **kw):
        plain, traced = self.run_both({"main.py": body}, **kw)
        self.assertSameBehaviour(plain, traced)
        return traced

    @unittest.skipUnless(HAS_TESTCAPI, "needs _testcapi.raise_SIGINT_then_send_None")
    @unittest.skipUnless(DEFERS, NOT_DEFERRED)
    def test_sigint_while_a_generator_resumes(self):
        # CPython's test_generators.test_raise_and_yield_from: the SIGINT is due when
        # the generators resume, which is where the tracer's callbacks run.
        traced = self.both("""
            import _testcapi

            def generator2():
                try:
                    yield
                except KeyboardInterrupt:
                    return "PASSED"
                else:
                    return "FAILED"

            def generator1():
                return (yield from generator2())

            for i in range(5):
                gen = generator1()
                gen.send(None)
                try:
                    _testcapi.raise_SIGINT_then_send_None(gen)
                except BaseException as e:
                    print(type(e).__name__, getattr(e, "value", None))
        """)
        self.assertIn(b"StopIteration PASSED", traced.stdout)
        self.assertEqual(incomplete(traced.events()), [])

    def interrupted(self, options=(), rounds=3):
        """A busy loop of calls, interrupted from outside: the KeyboardInterrupt is
        raised in the script's code, and the calls after it are still recorded."""
        folder = self.project({"main.py": """
            import sys

            def f(x):
                return x + 1

            def g():
                n = 0
                while True:
                    n = f(n)

            def after(i):
                return i

            for r in range(%d):
                print("ready", flush=True)
                try:
                    g()
                except KeyboardInterrupt as e:
                    tb = e.__traceback__
                    while tb.tb_next is not None:
                        tb = tb.tb_next
                    code = tb.tb_frame.f_code
                    print("interrupted in", code.co_name if code.co_filename == __file__ else code.co_filename, flush=True)
                after(r)
            print("done")
        """ % rounds})
        os.makedirs(os.path.join(folder, ".git"))
        p = subprocess.Popen([PYTHON, TRACER] + list(options) + ["main.py"], cwd=folder, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        lines = []
        try:
            for _ in range(rounds):
                line = p.stdout.readline()
                self.assertEqual(line, b"ready\n", p.stderr.read() if not line else line)
                time.sleep(0.3)
                p.send_signal(signal.SIGINT)
                lines.append(p.stdout.readline().decode().strip())
            # not communicate(): it reads the pipe's descriptor, past what readline buffered
            out = p.stdout.read()
            err = p.stderr.read()
            p.wait(TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual((err, out, p.returncode), (b"", b"done\n", 0), lines)
        for line in lines:
            self.assertIn(line, ("interrupted in f", "interrupted in g"))
        from support import load_events
        events = load_events(folder)
        self.assertEqual(incomplete(events), [])
        self.assertEqual(by_type(events, "end")[0]["status"], "finished")
        # tracing went on after each interrupt: every call of after() is recorded
        self.assertEqual(calls_named(events, "after"), rounds)

    @unittest.skipUnless(DEFERS, NOT_DEFERRED)
    def test_sigint_from_outside_during_calls(self):
        self.interrupted()

    @unittest.skipUnless(DEFERS, NOT_DEFERRED)
    def test_sigint_from_outside_fine(self):
        self.interrupted(options=["--fine"])


    def test_script_alarm_handler_raises_during_calls(self):
        # The script's own handler raises: the exception must reach the loop, not
        # the tracer (which would catch it, or lose its trace function).
        body = """
            import signal, time

            def on_alarm(signum, frame):
                raise TimeoutError("alarm in " + frame.f_code.co_name)

            def f(x):
                return x + 1

            def spin():
                deadline = time.monotonic() + 5
                n = 0
                while time.monotonic() < deadline:
                    n = f(n)

            # (the loop in a function: 3.13 untraced sometimes raises an alarm at a
            # module-level `while` outside the surrounding try)
            signal.signal(signal.SIGALRM, on_alarm)
            for r in range(5):
                try:
                    signal.setitimer(signal.ITIMER_REAL, 0.05)
                    spin()
                    print("no alarm")
                except TimeoutError as e:
                    tb = e.__traceback__
                    names = []
                    while tb is not None:
                        names.append(tb.tb_frame.f_code.co_name)
                        tb = tb.tb_next
                    # raised in the script's code (then the handler), no tracer frame
                    print("timeout", names[0], names[-1], len(names) <= 4)
        """
        if not DEFERS:
            # The handler runs inside the trace function; what it raises reaches the
            # script all the same (not the tracer's own error handling), and CPython
            # switching tracing off is said. Its traceback keeps the entries of the
            # callback's frames: they sit under the script's frame, linked as the
            # exception left them, and no tracer code runs again to unlink them.
            self.assertIn("len(names) <= 4", body)
            plain, traced = self.run_both({"main.py": body.replace("len(names) <= 4", "True")})
            self.assertEqual(plain.stdout, traced.stdout)
            self.assertRegex(incomplete(traced.events())[0], "switched off by Python")
            return
        traced = self.both(body)
        self.assertEqual(traced.stdout.count(b"timeout <module> on_alarm True"), 5, traced.stdout)
        self.assertEqual(incomplete(traced.events()), [])

    @unittest.skipUnless(DEFERS, NOT_DEFERRED)
    def test_asyncio_signal_handler_runs_once_per_signal(self):
        # asyncio's handlers run from the bytes the C handler writes to the wakeup
        # fd; re-tripping a deferred signal must not write them again.
        traced = self.both("""
            import asyncio, signal, time

            def f(x):
                return x + 1

            async def main():
                hits = []
                asyncio.get_running_loop().add_signal_handler(signal.SIGALRM, lambda: hits.append(1))
                for r in range(5):
                    signal.setitimer(signal.ITIMER_REAL, 0.02)
                    n = 0
                    deadline = time.monotonic() + 0.15
                    while time.monotonic() < deadline:
                        n = f(n)
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                print(len(hits))

            asyncio.run(main())
        """)
        self.assertEqual(traced.stdout, b"5\n")

    def test_getsignal_and_signal_round_trips(self):
        self.both("""
            import signal, _signal

            print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
            print(_signal.getsignal(signal.SIGINT) is signal.default_int_handler)

            def h(signum, frame):
                print("handled", signum == signal.SIGUSR1, frame.f_code.co_name)

            print(signal.signal(signal.SIGUSR1, h))
            print(signal.getsignal(signal.SIGUSR1) is h)
            print(signal.signal(signal.SIGUSR1, signal.SIG_IGN) is h)
            print(signal.getsignal(signal.SIGUSR1))
            print(signal.signal(signal.SIGUSR1, h))
            print(signal.signal(signal.SIGINT, h) is signal.default_int_handler)
            print(signal.signal(signal.SIGINT, signal.default_int_handler) is h)

            class Holder:
                install = _signal.signal
                get = _signal.getsignal
            print(Holder().install(signal.SIGUSR1, h) is h, Holder().get(signal.SIGUSR1) is h)
            print(repr(_signal.signal), _signal.signal.__name__, repr(_signal.getsignal))

            def probe():
                signal.raise_signal(signal.SIGUSR1)
            probe()
            for bad in ((signal.SIGKILL, h), (10 ** 6, h), (signal.SIGUSR1, 42)):
                try:
                    signal.signal(*bad)
                except (OSError, ValueError, TypeError) as e:
                    print(type(e).__name__, e, e.__traceback__.tb_next.tb_next)
            try:
                _signal.getsignal(10 ** 6)
            except ValueError as e:
                print(e)
        """)


SETTRACE_SCRIPT = """
    import sys

    events = []

    def tr(frame, event, arg):
        if frame.f_code.co_filename == __file__:
            events.append((frame.f_code.co_name, event, frame.f_lineno))
        return tr

    def f(x):
        y = x + 1
        return y

    def gen():
        yield 1
        yield 2

    def main():
        g = gen()
        next(g)
        print("gettrace before:", sys.gettrace())
        sys.settrace(tr)
        sys._getframe().f_trace = tr
        a = f(1)
        b = next(g)
        try:
            f(None)
        except TypeError:
            pass
        sys.settrace(None)
        print("gettrace after:", sys.gettrace())
        return a + b

    main()
    for e in events:
        print(*e)
    print(sys.settrace, sys.gettrace, type(sys.settrace).__name__)
"""


class TakeoverTests(TracerTestCase):
    def check(self, env=None, fine=False):
        files = {"main.py": SETTRACE_SCRIPT}
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"))
        plain = self.run_plain("main.py", cwd=folder, env=env)
        traced = self.run_traced("main.py", cwd=folder, env=env, options=["--fine"] if fine else [])
        self.assertSameBehaviour(plain, traced)
        self.assertIn(b"f line", plain.stdout)
        events = traced.events()
        reasons = incomplete(events)
        if core_of(events) == "settrace":
            self.assertEqual(len(reasons), 1, reasons)
            self.assertIn("sys.settrace", reasons[0])
        else:
            self.assertEqual(reasons, [])  # sys.monitoring and sys.settrace coexist
        self.assertEqual(by_type(events, "end")[0]["status"], "finished")
        return events

    def test_script_settrace_coarse(self):
        self.check()

    def test_script_settrace_fine(self):
        self.check(fine=True)

    @unittest.skipUnless(sys.version_info >= (3, 12), "the settrace core is the default before 3.12")
    def test_script_settrace_settrace_core(self):
        self.check(env={"NOW_TRACER_CORE": "settrace"})

    def test_setprofile_coexists(self):
        plain, traced = self.run_both({"main.py": """
            import sys
            seen = []
            def prof(frame, event, arg):
                if frame.f_code.co_filename == __file__:
                    seen.append((frame.f_code.co_name, event))
            def f():
                return 1
            sys.setprofile(prof)
            f()
            sys.setprofile(None)
            print(seen)
            def g():
                return 2
            g()
        """})
        self.assertSameBehaviour(plain, traced)
        events = traced.events()
        self.assertEqual(incomplete(events), [])
        self.assertEqual(calls_named(events, "g"), 1)


@unittest.skipIf(TARGET < (3, 9), "3.8: traced, 'Cannot recover from stack overflow' (on main too; not understood yet)")
class RecursionTests(TracerTestCase):
    def run_both(self, files, options=()):
        # in coarse and fine mode (fine mode's callbacks go deeper)
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"))
        plain = self.run_plain("main.py", cwd=folder)
        self.traced = []
        for o in ([], ["--fine"]):
            shutil.rmtree(os.path.join(folder, ".now"), True)
            t = self.run_traced("main.py", cwd=folder, options=o)
            t.log = t.events()
            self.traced.append(t)
        for t in self.traced[1:]:
            self.assertSameBehaviour(self.traced[0], t)
        return plain, self.traced[0]

    def test_recursion_error_caught_near_the_limit(self):
        plain, traced = self.run_both({"main.py": """
            import sys

            def r(n):
                return r(n + 1)

            for limit in (200, 1000):
                sys.setrecursionlimit(limit)
                try:
                    r(0)
                except RecursionError as e:
                    n = 0
                    tb = e.__traceback__
                    while tb is not None:
                        n += 1
                        tb = tb.tb_next
                    print(type(e).__name__, e.__context__, e.__cause__, n > limit - 50)
        """})
        self.assertSameBehaviour(plain, traced)
        # At the limit the tracer loses events (or, 3.8-3.11, CPython drops a trace
        # function its own first frame could not enter): never silently.
        for t in self.traced:
            reasons = incomplete(t.log)
            self.assertEqual(len(reasons), 1, reasons)
            self.assertRegex(reasons[0], "recursion limit|switched off by Python")

    @unittest.skipIf(TARGET < (3, 11), "3.8-3.10: at the limit the trace function's own call fails first, "
                     "with 'while calling a Python object' in the message; 3.8: a stack-overflow fatal error")
    def test_uncaught_recursion_error_not_chained(self):
        plain, traced = self.run_both({"main.py": """
            def r(n):
                return r(n + 1)
            r(0)
        """})
        self.assertEqual(traced.returncode, 1)
        self.assertNotIn(b"During handling", traced.stderr)
        self.assertNotIn(b"now_tracer", traced.stderr)
        self.assertEqual(plain.stderr.splitlines()[-1], traced.stderr.splitlines()[-1])

    def test_recursion_in_except_handler(self):
        # CPython's test_exceptions.test_recursion_in_except_handler, first part
        plain, traced = self.run_both({"main.py": """
            import sys

            def set_relative_recursion_limit(n):
                depth = 1
                while True:
                    try:
                        sys.setrecursionlimit(depth)
                    except RecursionError:
                        depth += 1
                    else:
                        break
                sys.setrecursionlimit(depth + n)

            def recurse_in_except():
                try:
                    1 / 0
                except:
                    recurse_in_except()

            def recurse_after_except():
                try:
                    1 / 0
                except:
                    pass
                recurse_after_except()

            def recurse_in_body_and_except():
                try:
                    recurse_in_body_and_except()
                except:
                    recurse_in_body_and_except()

            recursionlimit = sys.getrecursionlimit()
            try:
                set_relative_recursion_limit(10)
                for func in (recurse_in_except, recurse_after_except, recurse_in_body_and_except):
                    try:
                        func()
                    except RecursionError:
                        print(func.__name__, "RecursionError")
                    else:
                        print(func.__name__, "no error")
            finally:
                sys.setrecursionlimit(recursionlimit)
        """})
        self.assertSameBehaviour(plain, traced)


class ReplacedBuiltinsTests(TracerTestCase):
    def test_script_replaces_builtins_and_os(self):
        traced = self.both_fine("""
            import builtins, functools, os, time, json

            builtins.len = functools.lru_cache(4)(len)
            builtins.repr = lambda o: "R"
            builtins.sorted = lambda *a, **k: []
            builtins.id = lambda o: 0
            os.getpid = lambda: -1
            os.write = lambda fd, data: len(data)
            time.time = lambda: 0.0
            time.perf_counter = lambda: 0.0
            time.monotonic = lambda: 0.0

            def f(items):
                total = [x * 2 for x in items]
                return total

            values = f([1, 2, 3])
            print(values)
            with open("out.txt", "w") as fh:
                fh.write("x")
        """)
        events = traced.events()
        # (not all warnings: on 3.13 files.py's os.path.realpath is stdlib Python code,
        # which runs with the script's builtins)
        self.assertEqual([w for w in by_type(events, "warning") if "tracer error" in w["message"]], [])
        self.assertEqual([e["value"] for e in by_type(events, "return")], ["[2, 4, 6]", "None"])
        self.assertEqual(by_type(events, "end")[0]["status"], "finished")

    def both_fine(self, body):
        files = {"main.py": body}
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"))
        plain = self.run_plain("main.py", cwd=folder)
        os.remove(os.path.join(folder, "out.txt"))
        traced = self.run_traced("main.py", cwd=folder, options=["--fine"])
        self.assertSameBehaviour(plain, traced)
        return traced


if __name__ == "__main__":
    unittest.main()
