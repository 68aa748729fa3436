"""The tracer's reads of the script's files (hashing at open and close, the
script's source) leave the files' metadata as the script left it: CPython's
test_os UtimeTests.test_utime_fd sets a file's atime, closes it and reads it
back."""

from __future__ import annotations

import os
import sys
import tempfile
import unittest

from support import TRACER, TracerTestCase, by_type

sys.path.insert(0, TRACER)
from now_tracer import contentstore  # noqa: E402
from now_tracer.contentstore import ContentStore, open_quietly, restore_atime  # noqa: E402
from now_tracer.modules import read_all  # noqa: E402

PAST = 1000000000 * 10 ** 9  # 2001: older than any mtime, so a read (relatime) would move it

MAIN = """
import os
PAST = %d
def times(p):
    st = os.stat(p)
    return st.st_atime_ns, st.st_mtime_ns
with open("written.bin", "wb") as f:
    f.write(b"data")
    f.flush()
    os.utime(f.fileno(), ns=(PAST, PAST + 10**9))
print("written", times("written.bin"))
os.utime("kept.txt", ns=(PAST, PAST + 10**9))
with open("kept.txt") as f:
    pass
print("opened, not read", times("kept.txt"))
os.utime("kept.txt", ns=(PAST, PAST + 10**9))
with open("kept.txt", "a") as f:
    pass
print("appended nothing", times("kept.txt"))
""" % PAST


class QuietReadTests(TracerTestCase):
    def test_script_sees_its_own_times(self):
        for options in ([], ["--fine"]):
            with self.subTest(options=options):
                files = {"main.py": MAIN, "kept.txt": "kept\n"}
                folder = self.project(files, name="p%d" % len(options))
                plain = self.run_plain("main.py", cwd=folder)
                os.makedirs(os.path.join(folder, ".git"))
                os.unlink(os.path.join(folder, "written.bin"))
                traced = self.run_traced("main.py", cwd=folder, options=options)
                self.assertSameBehaviour(plain, traced)
                self.assertIn(b"(%d, %d)" % (PAST, PAST + 10 ** 9), traced.stdout)
                # and the files were hashed all the same
                closes = by_type(traced.events(), "close")
                self.assertEqual(len(closes), 3)
                self.assertTrue(all(c["hash_after"] for c in closes))


class QuietReadUnitTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nowquiet-")
        self.path = os.path.join(self.dir, "f.txt")
        with open(self.path, "wb") as f:
            f.write(b"content")
        os.utime(self.path, ns=(PAST, PAST + 10 ** 9))
        self.warnings = []
        self.store = ContentStore(self.dir, self.warnings.append)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.dir, True)

    def times(self):
        st = os.stat(self.path)
        return st.st_atime_ns, st.st_mtime_ns

    def test_hash_keeps_atime(self):
        self.assertIsNotNone(self.store.hash_file(self.path))
        self.assertEqual(self.times(), (PAST, PAST + 10 ** 9))
        self.assertEqual(read_all(self.path), b"content")
        self.assertEqual(self.times(), (PAST, PAST + 10 ** 9))

    def test_without_noatime_the_time_is_put_back(self):
        # another OS (no O_NOATIME): read plainly, then os.utime back
        saved = contentstore._NOATIME
        contentstore._NOATIME = 0
        try:
            self.assertIsNotNone(self.store.hash_file(self.path))
            self.assertEqual(read_all(self.path), b"content")
        finally:
            contentstore._NOATIME = saved
        self.assertEqual(self.times(), (PAST, PAST + 10 ** 9))

    @unittest.skipUnless(getattr(os, "O_NOATIME", 0), "no O_NOATIME here")
    def test_noatime_refused(self):
        # what a file someone else owns gives: EPERM, then a plain open
        real_open = os.open

        def refusing(path, flags, *a):
            if flags & os.O_NOATIME:
                raise PermissionError(1, "Operation not permitted")
            return real_open(path, flags, *a)

        os.open = refusing
        try:
            fd, quiet = open_quietly(self.path, os.O_RDONLY)
            self.assertFalse(quiet)
            os.close(fd)
            self.assertIsNotNone(self.store.hash_file(self.path))
        finally:
            os.open = real_open
        self.assertEqual(self.times(), (PAST, PAST + 10 ** 9))
        self.assertEqual(self.warnings, [])

    def test_restore_leaves_a_moved_mtime_alone(self):
        st = os.stat(self.path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            os.read(fd, 100)
            os.write(fd, b"more")  # the script (another thread) wrote meanwhile
            after = os.fstat(fd)
            restore_atime(fd, self.path, st)
            self.assertEqual(os.fstat(fd).st_mtime_ns, after.st_mtime_ns)
        finally:
            os.close(fd)

    def test_restore_errors_are_ignored(self):
        st = os.stat(self.path)
        fd = os.open(self.path, os.O_RDONLY)
        os.close(fd)
        restore_atime(fd, self.path, st)  # a closed descriptor: fstat fails, nothing raised
        restore_atime(fd, self.path, None)


if __name__ == "__main__":
    unittest.main()
