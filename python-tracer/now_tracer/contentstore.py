"""Hashing files and keeping their bytes in the content store.

Layout (protocol/README.md): `<root>/.now/content/<2 hex>/<62 hex>`, the exact
bytes whose SHA-256 is the path, written once through a temporary name in the
same folder and `os.replace`, so readers never see half a blob. Everything here
uses `os.open`/`os.read`/`os.write`, never `open`, so none of it is recorded.
"""

from __future__ import annotations

import os
import stat
import time

try:
    # What hashlib.sha256 is when Python has OpenSSL, without importing hashlib
    # (and _blake2) for it.
    from _hashlib import openssl_sha256 as _sha256
except ImportError:
    from hashlib import sha256 as _sha256

MAX_STORED = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


class ContentStore:
    def __init__(self, root: str, warn, secrets=None) -> None:
        # secrets.Secrets: files hashed but never copied here (is_secret_file),
        # whose values the event log must not show either (learn_file)
        self._secrets = secrets
        self.now_dir = os.path.join(root, ".now")
        self.dir = os.path.join(self.now_dir, "content")
        self._warn = warn
        self._known: set = set()
        self._counter = 0
        # path -> ((dev, ino, size, mtime_ns), digest): files read many times are hashed once
        self._hashes: dict = {}

    def hash_file(self, path: str, store: bool = True):
        """SHA-256 of a regular file's current bytes (stored when small enough).

        Returns None for a missing, unreadable or non-regular file (FIFOs and
        devices are never read: reading them would consume the script's data).
        """
        return self.hash_file_stat(path, store)[0]

    def hash_file_stat(self, path: str, store: bool = True):
        """(hash_file's digest, the os.stat taken before reading, or None);
        the stat is None when the digest is."""
        secret = self._secrets is not None and self._secrets.is_secret_file(path)
        if secret:
            store = False
        try:
            # stat before open: even opening a FIFO or a tty can disturb the script.
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return None, None
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            hit = self._hashes.get(path)
            if hit is not None and hit[0] == key and not secret and (not store or hit[1] in self._known or st.st_size > MAX_STORED):
                return hit[1], st
            # open_quietly, inlined: under settrace a call costs a trace event
            quiet = False
            if _NOATIME and (_EUID == 0 or st.st_uid == _EUID):
                try:
                    fd = os.open(path, _HASH_FLAGS | _NOATIME)
                    quiet = True
                except PermissionError:
                    pass
            if not quiet:
                fd = os.open(path, _HASH_FLAGS)
        except OSError:
            return None, None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, None
            h = _sha256()
            kept: list = []
            size = 0
            while True:
                block = os.read(fd, _CHUNK)
                if not block:
                    break
                h.update(block)
                size += len(block)
                if size <= MAX_STORED:
                    kept.append(block)
                elif kept:
                    kept = []
            if not quiet:
                restore_atime(fd, path, st)
            digest = h.hexdigest()
            if secret and kept:
                self._secrets.learn_file(b"".join(kept))
            if not racily_clean(st):
                self._hashes[path] = (key, digest)
            if store:
                if size <= MAX_STORED:
                    self.put(digest, b"".join(kept))
                else:
                    self._warn("file larger than 64 MiB hashed, not stored: %s" % path)
            return digest, st
        except OSError:
            return None, None
        finally:
            os.close(fd)

    def put(self, digest: str, data: bytes) -> None:
        if digest in self._known:
            return
        folder = os.path.join(self.dir, digest[:2])
        final = os.path.join(folder, digest[2:])
        try:
            if not os.path.exists(final):
                make_private_dirs(folder)
                self._counter += 1
                tmp = os.path.join(folder, ".%s.%d.%d.tmp" % (digest[2:10], os.getpid(), self._counter))
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
                try:
                    try:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(fd, view):]
                    finally:
                        os.close(fd)
                    os.replace(tmp, final)
                except OSError:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
                    raise
            self._known.add(digest)
        except OSError as e:
            self._warn("content store: cannot write %s: %s" % (digest, e.strerror or e))


_HASH_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
# Linux: a read through this descriptor leaves the file's access time alone.
# Only the file's owner (or root) may ask: anyone else gets EPERM.
_NOATIME = getattr(os, "O_NOATIME", 0)
_EUID = os.geteuid() if hasattr(os, "geteuid") else -1


def open_quietly(path: str, flags: int, st=None):
    """(fd, quiet): `path` opened with `flags` so that the tracer's read does
    not change the file's metadata, which the script may look at (it may have
    set the access time itself: CPython's test_os test_utime_fd). `quiet` says
    the descriptor reads without touching atime; if not, see restore_atime."""
    if _NOATIME and (st is None or _EUID == 0 or st.st_uid == _EUID):
        try:
            return os.open(path, flags | _NOATIME), True
        except PermissionError:
            pass  # not the owner after all (or not readable: the plain open says so)
    return os.open(path, flags), False


def restore_atime(fd: int, path: str, st) -> None:
    """After reading `fd` without O_NOATIME (another OS, or not the file's
    owner): put the access time of `st` back, when the read changed it and the
    owner is us (only the owner may set times). It changes the file's ctime,
    which no call can set: the one trace left. Skipped if the modification
    time moved meanwhile (another thread writing), so as not to set it back."""
    if st is None or (st.st_uid != _EUID and _EUID != 0):
        return
    try:
        now = os.fstat(fd)
        if now.st_atime_ns == st.st_atime_ns or now.st_mtime_ns != st.st_mtime_ns:
            return
        target = fd if os.utime in os.supports_fd else path
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    except (OSError, NotImplementedError, ValueError):
        pass


def make_private_dirs(folder: str) -> None:
    """os.makedirs where every folder it creates is 0700 (makedirs gives its
    `mode` to the last one only). The store may hold what a secret-scrubbed log
    does not (a project file with a password in it): only its owner reads it."""
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent and parent != folder:
        make_private_dirs(parent)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass


def racily_clean(st) -> bool:
    """Like git's "racily clean" rule: a file modified in the last seconds may
    change again within the same mtime tick, so its hash is not cached."""
    return time.time() - st.st_mtime <= 2.0


def sha256_bytes(data: bytes) -> str:
    return _sha256(data).hexdigest()

