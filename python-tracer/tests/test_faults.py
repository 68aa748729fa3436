"""Faults the tracer must survive without the script noticing (issue 14):
the store (.now/) never recorded as the script's files, non-UTF-8 file names,
a log or store that cannot be written (a real full disk: a small tmpfs in a
user and mount namespace), and the death of the process that started it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from support import PYTHON, TIMEOUT, TRACER, TracerTestCase, by_type, clean_env, load_events

sys.path.insert(0, TRACER)
from now_tracer.eventlog import EventLog  # noqa: E402

UUID = "0b7a3b52-8f0e-4c1e-9d3a-2f6a1c5e7d90"


def read_lines(path):
    """The events of a log that must be whole lines of UTF-8 JSON, every one."""
    with open(path, "rb") as f:
        data = f.read()
    if data:
        assert data.endswith(b"\n"), data[-200:]
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def read_tail(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 300))
        return f.read()


# -- the store is never the script's file access ---------------------------------------

# (what the script does, from the project folder; recorded?) — the store holds
# db.sqlite with content that no recorded file has.
STORE_ACCESSES = [
    ("open('.now/db.sqlite', 'rb').read()", False),
    ("open(os.path.abspath('.now/db.sqlite'), 'rb').read()", False),
    ("open(b'.now/db.sqlite', 'rb').read()", False),
    ("open('sub/../.now/db.sqlite', 'rb').read()", False),
    ("open('./.now//db.sqlite', 'rb').read()", False),
    ("open('storelink/db.sqlite', 'rb').read()", False),  # a symlinked folder
    ("open('dblink', 'rb').read()", False),  # a symlinked file
    ("open('sub/deeplink/.now/db.sqlite', 'rb').read()", False),  # a symlink to the project, then .now
    ("io.open('.now/db.sqlite', 'rb').read()", False),
    ("pathlib.Path('.now/db.sqlite').read_bytes()", False),
    ("pathlib.Path('.now/backup.sqlite').write_bytes(open('.now/db.sqlite', 'rb').read())", False),
    ("open('.now/cache/mine.txt', 'w').write('x')", False),  # a new file in the store
    ("open('storelink/new.txt', 'w').write('x')", False),  # a new file through a symlink
    ("os.chdir('.now'); open('db.sqlite', 'rb').read(); os.chdir('..')", False),
    ("os.chdir('sub'); open('../.now/db.sqlite', 'rb').read(); os.chdir('..')", False),
    ("open('data.txt').read()", True),
    ("open('.nowhere.txt', 'w').write('x')", True),  # a name that starts like the store
    ("open('sub/.now', 'w').write('x')", True),  # a .now that is not the root's
    ("open('x.now/f.txt', 'w').write('x')", True),
]


class StoreNotRecordedTests(TracerTestCase):
    def test_store_accesses_are_not_recorded(self):
        lines = ["import io, os, pathlib"] + [code for code, _ in STORE_ACCESSES] + ["print('done')"]
        folder = self.project({"main.py": "\n".join(lines) + "\n", "data.txt": "data\n", "x.now/keep": ""})
        os.makedirs(os.path.join(folder, ".git"))
        os.makedirs(os.path.join(folder, ".now", "cache"))
        os.makedirs(os.path.join(folder, "sub"))
        secret = b"the store's own bytes\n"
        with open(os.path.join(folder, ".now", "db.sqlite"), "wb") as f:
            f.write(secret)
        os.symlink(".now", os.path.join(folder, "storelink"))
        os.symlink(".now/db.sqlite", os.path.join(folder, "dblink"))
        os.symlink("..", os.path.join(folder, "sub", "deeplink"))
        run = self.run_traced("main.py", cwd=folder, options=["--root", folder])
        self.assertEqual((run.returncode, run.stdout, run.stderr), (0, b"done\n", b""))
        events = load_events(folder)
        opened = [os.path.relpath(e["path"], folder) for e in by_type(events, "open")]
        self.assertEqual(opened, ["data.txt", ".nowhere.txt", "sub/.now", "x.now/f.txt"])
        self.assertEqual(len(by_type(events, "close")), 4)
        self.assertEqual(by_type(events, "end")[0]["exit_code"], 0)
        # no blob of the store's own files, nor of what the script wrote there
        blobs = set()
        for p in glob.glob(os.path.join(folder, ".now", "content", "*", "*")):
            with open(p, "rb") as f:
                blobs.add(f.read())
        self.assertNotIn(secret, blobs)
        self.assertIn(b"data\n", blobs)

    def test_the_tracers_own_files_are_not_recorded(self):
        # Its log, blobs and module-hash cache are written with os.* only: a second
        # trial (cache read and rewritten) records no access either.
        files = {"main.py": "import json\nprint(json.dumps([1]))\n"}
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"))
        for trial in ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"):
            run = self.run_traced("main.py", cwd=folder, options=["--trial", trial])
            self.assertEqual((run.returncode, run.stderr), (0, b""))
            log = os.path.join(folder, ".now", "trials", trial, "events.jsonl")
            events = load_events(folder, log)
            self.assertEqual(by_type(events, "open"), [])
            self.assertEqual(by_type(events, "warning"), [])
        self.assertTrue(os.path.exists(os.path.join(folder, ".now", "cache", "module-hashes")))


# -- non-UTF-8 file names -------------------------------------------------------------


class NonUtf8PathTests(TracerTestCase):
    def test_undecodable_names_are_escaped_and_recorded(self):
        main = """
            import os, pathlib, sys
            with open(b"caf\\xe9.txt", "wb") as f:          # bytes path
                f.write(b"latin-1 name\\n")
            with open("b\\udcffx.txt", "w") as f:          # str with surrogateescape
                f.write("y")
            print(open(os.fsencode("caf\\udce9.txt"), "rb").read())
            pathlib.Path(os.fsdecode(b"d\\xfc.txt")).write_text("z")
            print(sorted(n for n in os.listdir(b".") if n != b".now"))
            print(repr(sys.argv[1]))
        """
        arg = b"arg\xff"
        folder = self.project({"main.py": main})
        os.makedirs(os.path.join(folder, ".git"))
        plain = subprocess.run([PYTHON, "main.py", arg], cwd=folder, capture_output=True, env=clean_env(),
                               timeout=TIMEOUT)
        for name in (b"caf\xe9.txt", b"b\xffx.txt", b"d\xfc.txt"):
            os.unlink(os.path.join(os.fsencode(folder), name))
        traced = subprocess.run([PYTHON, TRACER, "main.py", arg], cwd=folder, capture_output=True,
                                env=clean_env(), timeout=TIMEOUT)
        self.assertEqual((plain.returncode, plain.stdout, plain.stderr),
                         (traced.returncode, traced.stdout, traced.stderr))
        self.assertEqual(traced.returncode, 0, traced.stderr)
        log = glob.glob(os.path.join(folder, ".now", "trials", "*", "events.jsonl"))[0]
        with open(log, "rb") as f:
            raw = f.read()
        raw.decode("utf-8")  # the whole log is valid UTF-8
        # each undecodable byte is the JSON escape \udcXX, not a raw surrogate
        self.assertIn(b'caf\\udce9.txt"', raw)
        self.assertIn(b'b\\udcffx.txt"', raw)
        self.assertIn(b'd\\udcfc.txt"', raw)
        self.assertIn(b'"arg\\udcff"', raw)
        events = read_lines(log)
        opens = by_type(events, "open")
        self.assertEqual([os.fsencode(e["path"]) for e in opens],
                         [os.path.join(os.fsencode(folder), n) for n in
                          (b"caf\xe9.txt", b"b\xffx.txt", b"caf\xe9.txt", b"d\xfc.txt")])
        self.assertEqual([e["mode"] for e in opens], ["wb", "w", "rb", "w"])
        self.assertEqual(by_type(events, "header")[0]["argv"], ["main.py", "arg\udcff"])
        # the content under the real bytes' name is in the store
        closes = {e["id"]: e for e in by_type(events, "close")}
        digest = closes[opens[0]["id"]]["hash_after"]
        with open(os.path.join(folder, ".now", "content", digest[:2], digest[2:]), "rb") as f:
            self.assertEqual(f.read(), b"latin-1 name\n")
        self.assertEqual(by_type(events, "end")[0]["exit_code"], 0)
        self.assertEqual(by_type(events, "warning"), [])

    def test_undecodable_script_path(self):
        folder = os.path.join(os.fsencode(self.tmp), b"proj\xe9")
        os.makedirs(os.path.join(folder, b".git"))
        with open(os.path.join(folder, b"m\xe4in.py"), "wb") as f:
            f.write(b"def f():\n    return 1\nf()\nprint(__file__.encode('utf-8', 'surrogateescape'))\n")
        plain = subprocess.run([PYTHON, b"m\xe4in.py"], cwd=folder, capture_output=True, env=clean_env(),
                               timeout=TIMEOUT)
        traced = subprocess.run([PYTHON, TRACER, b"m\xe4in.py"], cwd=folder, capture_output=True,
                                env=clean_env(), timeout=TIMEOUT)
        self.assertEqual((plain.returncode, plain.stdout, plain.stderr),
                         (traced.returncode, traced.stdout, traced.stderr))
        log = glob.glob(os.path.join(os.fsdecode(folder), ".now", "trials", "*", "events.jsonl"))[0]
        events = read_lines(log)
        self.assertEqual(os.fsencode(by_type(events, "header")[0]["script"]), os.path.join(folder, b"m\xe4in.py"))
        self.assertEqual([c["qualname"] for c in by_type(events, "code")], ["<module>", "f"])
        self.assertEqual(by_type(events, "end")[0]["exit_code"], 0)


# -- a log or store that cannot be written --------------------------------------------

# Scripts whose output and exit code must be the same traced, whatever happens to
# the store. Call-heavy for LOOP_SECONDS (the log grows by ~1 MB/s), then it says
# whether anything still traces it: nothing should, once the log failed.
SCRIPT_TAIL = {
    "exit 0": "",
    "exit 3": "sys.exit(3)\n",
    "uncaught": "raise ValueError('boom')\n",
}
LOOP_SECONDS = 0.4


def fault_script(tail: str) -> str:
    return textwrap.dedent(
        """
        import os, sys, time
        def f(i):
            return i * 2
        end = time.perf_counter() + %r
        n = 0
        while time.perf_counter() < end:
            n = f(n) %% 1000
        for i in range(300):
            print("line", i)
        print("to stderr", file=sys.stderr)
        mon = getattr(sys, "monitoring", None)
        print("traced:", sys.gettrace() is not None, [mon.get_tool(t) for t in range(6)] if mon else None)
        ballast = os.environ.get("NOW_TEST_BALLAST")
        if ballast and os.path.exists(ballast):
            os.unlink(ballast)  # space comes back before the exit
        """ % LOOP_SECONDS
    ).lstrip() + tail


class UnwritableStoreTests(TracerTestCase):
    """Without a namespace: /dev/full as the log, folders replaced by files."""

    def both(self, folder, options, tail="exit 3"):
        with open(os.path.join(folder, "main.py"), "w") as f:
            f.write(fault_script(SCRIPT_TAIL[tail]))
        plain = self.run_plain("main.py", cwd=folder)
        traced = self.run_traced("main.py", cwd=folder, options=["--root", folder, "--calls-keep", "0"] + options)
        self.assertSameBehaviour(plain, traced)
        return traced

    def test_log_on_a_full_device(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        folder = self.project({})
        for tail in SCRIPT_TAIL:
            with self.subTest(tail=tail):
                self.both(folder, ["--log", "/dev/full"], tail)

    def test_log_cannot_be_created(self):
        folder = self.project({})
        os.makedirs(os.path.join(folder, ".now"))
        with open(os.path.join(folder, ".now", "trials"), "w"):
            pass  # a file where the trials' folder should be
        self.both(folder, [])
        self.assertEqual(glob.glob(os.path.join(folder, ".now", "*", "*")), [])

    def test_log_fills_up_during_the_run(self):
        # A file size limit (SIGXFSZ ignored, for the plain run too): the log's
        # writes fail with EFBIG once it reaches 200 KB, as on a full disk.
        import resource

        folder = self.project({"main.py": fault_script(SCRIPT_TAIL["exit 3"])})

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (200000, resource.RLIM_INFINITY))

        def run(cmd):
            return subprocess.run(cmd, cwd=folder, capture_output=True, env=clean_env(), timeout=TIMEOUT,
                                  preexec_fn=limit)

        plain = run([PYTHON, "main.py"])
        traced = run([PYTHON, TRACER, "--root", folder, "--calls-keep", "0", "main.py"])
        self.assertSameBehaviour(plain, traced)
        events = read_lines(glob.glob(os.path.join(folder, ".now", "trials", "*", "events.jsonl"))[0])
        kinds = [e["e"] for e in events]
        self.assertEqual(kinds[:2], ["header", "deployment"])
        self.assertGreater(kinds.count("call"), 100)
        self.assertNotIn("end", kinds)
        self.assertNotIn("incomplete", kinds)  # no room for it either

    def test_blobs_that_cannot_be_stored_are_named(self):
        folder = self.project({"data.txt": "some data\n"})
        os.makedirs(os.path.join(folder, ".now"))
        for name in ("content", "cache"):
            with open(os.path.join(folder, ".now", name), "w"):
                pass  # neither blobs nor the module-hash cache can be written
        with open(os.path.join(folder, "main.py"), "w") as f:
            f.write("import json\nprint(open('data.txt').read())\n")
        plain = self.run_plain("main.py", cwd=folder)
        traced = self.run_traced("main.py", cwd=folder, options=["--root", folder])
        self.assertSameBehaviour(plain, traced)
        events = load_events(folder)
        digests = [by_type(events, "header")[0]["script_hash"], by_type(events, "open")[0]["hash_before"]]
        warnings = [w["message"] for w in by_type(events, "warning")]
        for d in digests:
            self.assertIn("content store: cannot write %s: Not a directory" % d, warnings)
        self.assertEqual(len(warnings), 2, warnings)  # the cache fails silently (it is only a cache)
        self.assertEqual(by_type(events, "end")[0]["exit_code"], 0)
        self.assertEqual(events[-1]["e"], "end")


class EventLogFailureTests(TracerTestCase):
    """EventLog itself, on /dev/full and under a file size limit (RLIMIT_FSIZE,
    SIGXFSZ ignored: a write past it is cut short, then fails with EFBIG)."""

    def test_dev_full(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        log = EventLog("/dev/full")
        told = []
        log.on_stop = told.append
        log.emit({"e": "header"})
        log.flush()  # no exception
        self.assertEqual(log.stopped, "event log: [Errno 28] No space left on device")
        self.assertEqual(told, [log.stopped])
        log.append("x")
        log.emit({"e": "warning", "message": "dropped"})
        log.flush()
        self.assertEqual(told, [log.stopped])  # told once
        self.assertFalse(log.write_incomplete(1.5))
        self.assertFalse(log.write_incomplete(1.5))  # tried once only
        log.close()

    def limited(self, code: str):
        """Run `code` (with `log` an EventLog at path, `lines` a list) in a child
        whose file size limit is LIMIT bytes."""
        path = os.path.join(self.tmp, "events.jsonl")
        prog = textwrap.dedent(
            """
            import resource, signal, sys
            sys.path.insert(0, %r)
            from now_tracer.eventlog import EventLog
            LIMIT = 1000
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))
            log = EventLog(%r)
            told = []
            log.on_stop = told.append
            """ % (TRACER, path)
        ) + textwrap.dedent(code)
        p = subprocess.run([PYTHON, "-c", prog], capture_output=True, timeout=TIMEOUT)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        return path, p.stdout.decode()

    def test_a_line_cut_short_is_removed(self):
        path, out = self.limited(
            """
            log.emit({"e": "header", "n": 0})
            for i in range(100):
                log.append('{"e":"resume","id":%d,"t":0.000001}' % i)
            log.flush()
            print(log.stopped)
            print(told == [log.stopped])
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space back
            print(log.write_incomplete(0.25))
            """
        )
        self.assertEqual(out, "event log: [Errno 27] File too large\nTrue\nTrue\n")
        events = read_lines(path)  # whole lines only: the cut one is gone
        self.assertEqual(events[0], {"e": "header", "n": 0})
        self.assertEqual(events[-1], {"e": "incomplete", "t": 0.25, "reason": "event log: [Errno 27] File too large"})
        ids = [e["id"] for e in events[1:-1]]
        self.assertEqual(ids, list(range(len(ids))))
        self.assertGreater(len(ids), 10)
        self.assertLessEqual(os.path.getsize(path) - len(json.dumps(events[-1], separators=(",", ":"))) - 1, 1000)

    def test_incomplete_is_tried_once(self):
        path, out = self.limited(
            """
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            log.emit({"e": "header", "n": 0})
            log.emit({"e": "deployment"})
            log.flush()
            print(log.stopped)
            print(log.write_incomplete(0.5))  # still no space: not written, not retried
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            print(log.write_incomplete(0.5))
            """
        )
        self.assertEqual(out, "event log: [Errno 27] File too large\nFalse\nFalse\n")
        self.assertEqual(read_lines(path), [])

    def test_header_first_then_incomplete(self):
        path, out = self.limited(
            """
            resource.setrlimit(resource.RLIMIT_FSIZE, (20, resource.RLIM_INFINITY))
            log.emit({"e": "header", "text": "x" * 40})
            log.emit({"e": "deployment"})
            log.flush()
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            print(log.write_incomplete(0.5))
            """
        )
        self.assertEqual(out, "True\n")
        self.assertEqual(read_lines(path), [
            {"e": "header", "text": "x" * 40},
            {"e": "incomplete", "t": 0.5, "reason": "event log: [Errno 27] File too large"},
        ])


# mount(2) through ctypes rather than the mount command, which a minimal root (the
# Debian root of the 3.13 tests) may not have.
MOUNT_TMPFS = r"""
import ctypes, os, sys
def mount_tmpfs(folder, size):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", 0, b"size=" + size.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount tmpfs: " + os.strerror(err))
"""


def _namespace_refusal():
    """None if `unshare -rm` can mount a tmpfs here, else why not."""
    if not shutil.which("unshare"):
        return "no unshare command"
    probe = MOUNT_TMPFS + "mount_tmpfs(sys.argv[1], '64k')\n"
    try:
        p = subprocess.run(["unshare", "-rm", PYTHON, "-c", probe, "/tmp"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if p.returncode != 0:
        return (p.stderr.decode(errors="replace").strip() or "exit code %d" % p.returncode).splitlines()[-1]
    return None


# Runs inside the namespace, with the tmpfs mounted at argv[1]: makes the project's
# store there, fills the disk as asked, runs the tracer (its stdout and stderr are
# this process's own, untouched), copies the store out and exits with its code.
IN_NAMESPACE = MOUNT_TMPFS + r"""
import shutil, subprocess
mnt, ballast_kb, frees, tracer, script_dir, out = sys.argv[1:7]
mount_tmpfs(mnt, "256k")
root = os.path.join(mnt, "proj")
uuid = "%s"
os.makedirs(os.path.join(root, ".git"))
os.makedirs(os.path.join(root, ".now", "trials", uuid))  # as the server makes it
ballast = os.path.join(mnt, "ballast")
if ballast_kb != "0":
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT)
    left = float("inf") if ballast_kb == "all" else int(ballast_kb) * 1024
    for block in (65536, 4096, 1):
        while left > 0:
            try:
                left -= os.write(fd, b"b" * int(min(block, left)))
            except OSError:
                break
    os.close(fd)
env = dict(os.environ, NOW_TEST_BALLAST=ballast if frees == "frees" else "")
log = os.path.join(root, ".now", "trials", uuid, "events.jsonl")
code = subprocess.call([sys.executable, tracer, "--root", root, "--trial", uuid, "--log", log,
                        "--calls-keep", "0", "--", "main.py"], cwd=script_dir, env=env)
shutil.copytree(os.path.join(root, ".now"), os.path.join(out, ".now"))
sys.exit(code)
""" % UUID

# (name, ballast: KiB written before the run, or "all"; the script frees it at its end)
FULL_DISK_CASES = [
    ("full from the start, space back at exit", "all", True),
    ("full from the start", "all", False),
    ("fills during the run, space back at exit", "96", True),
    ("fills during the run", "0", False),
]


class FullDiskTests(TracerTestCase):
    """A real full disk: the store on a 256 KiB tmpfs. The script's output and
    exit code are those of an untraced run, whatever happens to the log."""

    @classmethod
    def setUpClass(cls) -> None:
        why = _namespace_refusal()
        if why is not None:
            # Linux never lets a chrooted process make a user namespace, so inside the
            # Debian root (scripts/in-debian chroots) these cannot run, CI or not; the
            # host's interpreter runs them.
            if os.path.exists("/.nowls-debian-root"):
                raise unittest.SkipTest("full-disk tests skipped in the Debian root: a chroot cannot make a user namespace")
            if os.environ.get("CI") == "true":
                raise AssertionError("full-disk tests need `unshare -rm` and a tmpfs mount: %s" % why)
            raise unittest.SkipTest("full-disk tests skipped: `unshare -rm` cannot mount a tmpfs here (%s)" % why)

    def run_full(self, tail, ballast, frees):
        folder = self.project({"main.py": fault_script(SCRIPT_TAIL[tail])})
        plain = self.run_plain("main.py", cwd=folder)
        mnt = os.path.join(self.tmp, "mnt")
        out = os.path.join(self.tmp, "out")
        for d in (mnt, out):
            shutil.rmtree(d, True)
            os.makedirs(d)
        cmd = ["unshare", "-rm", PYTHON, "-c", IN_NAMESPACE, mnt, ballast, "frees" if frees else "keeps",
               TRACER, folder, out]
        p = subprocess.run(cmd, capture_output=True, env=clean_env(), timeout=TIMEOUT)
        traced = type(plain)(p)
        self.assertSameBehaviour(plain, traced)
        log = os.path.join(out, ".now", "trials", UUID, "events.jsonl")
        return read_lines(log), plain

    def test_full_disk(self):
        for name, ballast, frees in FULL_DISK_CASES:
            for tail in SCRIPT_TAIL:
                if tail == "uncaught" and ballast != "0":
                    continue  # a traceback after recording stopped mid-run is what can go wrong
                with self.subTest(case=name, script=tail):
                    events, plain = self.run_full(tail, ballast, frees)
                    self.assertIn(b"traced: False [None, None, None, None, None, None]"
                                  if sys.version_info >= (3, 12) else b"traced: False None", plain.stdout)
                    kinds = [e["e"] for e in events]
                    self.assertNotIn("end", kinds)
                    self.assertNotIn("module", kinds)
                    if ballast == "all" and not frees:
                        self.assertEqual(events, [])  # not even the header reached the disk
                        continue
                    self.assertEqual(kinds[0], "header")
                    self.assertEqual(kinds.count("header"), 1)
                    if frees:
                        self.assertEqual(kinds[-1], "incomplete")
                        self.assertEqual(kinds.count("incomplete"), 1)
                        self.assertEqual(events[-1]["reason"], "event log: [Errno 28] No space left on device")
                        self.assertGreater(events[-1]["t"], 0)
                    else:
                        self.assertNotIn("incomplete", kinds)
                    if ballast == "all":
                        self.assertEqual(kinds, ["header", "incomplete"])
                    else:
                        self.assertGreater(kinds.count("call"), 100)


# -- the process that started the tracer dies -----------------------------------------

# The parent: starts the tracer (output to files, as a daemon's trial), says its pid,
# then waits to be killed.
PARENT = r"""
import subprocess, sys, time
out = open(sys.argv[1] + ".out", "wb")
p = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
print(p.pid, flush=True)
time.sleep(600)
"""


class ParentDeathTests(TracerTestCase):
    def start(self, main: str, kill_when=None):
        """Run main.py (its argv[1]: the marker path) under the tracer under a
        parent, and kill the parent once the log has grown (or kill_when(marker))."""
        folder = self.project({"main.py": main})
        os.makedirs(os.path.join(folder, ".git"))
        log = os.path.join(self.tmp, "events.jsonl")
        marker = os.path.join(self.tmp, "marker")
        parent = subprocess.Popen(
            [PYTHON, "-c", PARENT, os.path.join(self.tmp, "script"), PYTHON, TRACER, "--root", folder,
             "--log", log, "--calls-keep", "0", "main.py", marker],
            cwd=folder, stdout=subprocess.PIPE, env=clean_env(),
        )
        child = int(parent.stdout.readline())

        def cleanup():
            for pid in (parent.pid, child):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            parent.wait(10)
            parent.stdout.close()

        self.addCleanup(cleanup)
        deadline = time.monotonic() + 20
        ready = kill_when or (lambda _: os.path.exists(log) and os.path.getsize(log) > 100000)
        while not ready(marker):
            self.assertLess(time.monotonic(), deadline, "the log does not grow")
            time.sleep(0.05)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        return parent.pid, log, marker, time.monotonic()

    def wait_for(self, marker, seconds):
        deadline = time.monotonic() + seconds
        while not os.path.exists(marker):
            self.assertLess(time.monotonic(), deadline, "the script did not finish")
            time.sleep(0.05)

    def check_log(self, log, parent_pid):
        events = read_lines(log)
        self.assertEqual(events[0]["e"], "header")
        kinds = [e["e"] for e in events]
        self.assertEqual(kinds.count("incomplete"), 1)
        self.assertEqual(events[-1]["e"], "incomplete")
        self.assertEqual(events[-1]["reason"], "now run (pid %d) died; recording stopped" % parent_pid)
        self.assertNotIn("end", kinds)
        return events

    def test_parent_named_by_the_server_already_dead(self):
        # A parent that died before the tracer started: getppid() names init from the
        # first line on, so only the pid the server passes tells the tracer it is orphaned.
        folder = self.project({"main.py": """
            import os, sys
            def f(i):
                return i + 1
            n = 0
            for _ in range(300000):
                n = f(n)
            print("NOW_TRACER_PARENT" in os.environ, n)
            """})
        os.makedirs(os.path.join(folder, ".git"))
        log = os.path.join(self.tmp, "events.jsonl")
        dead = subprocess.Popen([PYTHON, "-c", "pass"])
        dead.wait()
        r = subprocess.run(
            [PYTHON, TRACER, "--root", folder, "--log", log, "--calls-keep", "0", "main.py"],
            cwd=folder, stdout=subprocess.PIPE, env=clean_env({"NOW_TRACER_PARENT": str(dead.pid)}), timeout=60,
        )
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"False 300000\n", "the script runs on and never sees the variable")
        self.check_log(log, dead.pid)

    def test_call_heavy_script_goes_on_untraced(self):
        pid, log, marker, killed = self.start(
            """
            import sys, time
            def f(i):
                return i + 1
            end = time.monotonic() + 3.5
            n = 0
            while time.monotonic() < end:
                n = f(n)
            with open(sys.argv[1], "w") as out:
                out.write("finished %d" % (n > 0))
            """
        )
        time.sleep(2.0)
        size = os.path.getsize(log)
        self.wait_for(marker, 30)
        self.assertEqual(os.path.getsize(log), size, "the log grew more than 2 s after the parent's death")
        with open(marker) as f:
            self.assertEqual(f.read(), "finished 1")
        events = self.check_log(log, pid)
        self.assertGreater([e["e"] for e in events].count("call"), 1000)

    def test_quiet_script(self):
        # Nothing to flush after the parent's death: before 3.12 the background thread
        # notices within a second; on 3.12+ (no such thread) the exit does.
        pid, log, marker, killed = self.start(
            """
            import sys, time
            def f(i):
                return i + 1
            n = 0
            while n < 20000:
                n = f(n)
            open(sys.argv[1] + ".sleeping", "w").close()
            time.sleep(3)
            open(sys.argv[1], "w").close()
            """,
            kill_when=lambda marker: os.path.exists(marker + ".sleeping"),
        )
        if sys.version_info < (3, 12):
            deadline = time.monotonic() + 2.0
            while b'"e":"incomplete"' not in read_tail(log):
                self.assertLess(time.monotonic(), deadline, "no incomplete event while the script sleeps")
                time.sleep(0.05)
            self.assertFalse(os.path.exists(marker))
        self.wait_for(marker, 30)
        deadline = time.monotonic() + 10  # the exit, after the marker
        while b'"e":"incomplete"' not in read_tail(log) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.check_log(log, pid)


if __name__ == "__main__":
    unittest.main()
