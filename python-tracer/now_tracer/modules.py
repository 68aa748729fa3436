"""The `module` events written at the end: one per entry of sys.modules.

Cost is kept small: stdlib modules never get a version lookup, file hashes
are cached per path (ContentStore), and distribution versions are looked up
once per top-level name (failures included). The hashes of files outside the
project (stdlib, site-packages) are also kept between trials in
`.now/cache/module-hashes` (ModuleHashCache): most trials then hash none.
"""

from __future__ import annotations

import os
import re
import stat
import sys

from now_tracer.contentstore import open_quietly, racily_clean, restore_atime


class ModuleInventory:
    def __init__(self, store, project, warn, stdlib_dirs) -> None:
        self.store = store
        self.project = project
        self._warn = warn
        self._versions: dict = {}
        self._dirs: dict = {}
        self._stdlib = tuple(d + os.sep for d in stdlib_dirs)
        self._cache = ModuleHashCache(os.path.join(store.now_dir, "cache", "module-hashes"))

    def events(self):
        """Yield one event dict per usable entry of sys.modules."""
        self._cache.load()
        yield from self._events()
        self._cache.save()

    def _events(self):
        # Keys and values are the script's objects: only exact types are looked
        # at (isinstance would read a `__class__` property, str() or sorting
        # would call a key's own methods).
        entries = []
        for name, module in list(dict.items(sys.modules)):
            if type(name) is not str or not name or name.startswith("now_tracer") or module is None:
                continue
            entries.append((name, module))
        entries.sort(key=_first)
        for name, module in entries:
            try:
                ev = self._event(name, module)
            except Exception as e:
                self._warn("module %s: %s" % (name, e))
                continue
            if ev is not None:
                yield ev

    def _event(self, name, module):
        path = None
        file = _attr(module, "__file__")
        if type(file) is str and file:
            path = self.project.abspath(file)
        if path is not None and self.project.is_tracer_file(file):
            return None
        local = path is not None and self.project.is_project(file)
        digest = None
        if local:
            digest = self.store.hash_file(path, store=True)
        elif path is not None:
            digest = self._cache.hash_file(path, self.store)
        version = _attr(module, "__version__")
        if type(version) is not str:
            version = None
            if path is not None and not local and not self._is_stdlib(path):
                version = self._dist_version(name.partition(".")[0])
        return {"e": "module", "name": name, "version": version, "path": path, "hash": digest, "local": local}

    def _is_stdlib(self, path: str) -> bool:
        if "site-packages" in path or "dist-packages" in path:
            return False
        return path.startswith(self._stdlib)

    def _dist_version(self, top: str):
        if top not in self._versions:
            try:
                self._versions[top] = self._find_dist_version(top)
            except Exception:
                self._versions[top] = None
        return self._versions[top]

    def _find_dist_version(self, top: str):
        # A small reading of `<name>-<version>.dist-info/METADATA` on sys.path
        # instead of importlib.metadata: importing that at exit creates
        # namedtuples (eval of a string), which resets CPython's "unhandled
        # KeyboardInterrupt" flag and turns a SIGINT exit into exit code 1.
        # Only the distribution named like the top-level package is found.
        want = _normalize(top)
        for entry in sys.path:
            if not isinstance(entry, str) or not entry:
                continue
            names = self._listdir(entry)
            for name in names:
                if name.endswith(".dist-info") or name.endswith(".egg-info"):
                    dist = name.rsplit(".", 1)[0].split("-", 1)[0]
                    if _normalize(dist) != want:
                        continue
                    folder = os.path.join(entry, name)
                    for meta in ("METADATA", "PKG-INFO"):
                        version = _metadata_version(os.path.join(folder, meta))
                        if version:
                            return version
        return None

    def _listdir(self, folder: str):
        names = self._dirs.get(folder)
        if names is None:
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            self._dirs[folder] = names
        return names


class ModuleHashCache:
    """SHA-256 of files outside the project, kept between trials:
    path -> (dev, ino, size, mtime_ns, ctime_ns, digest), in one file of lines
    `digest dev ino size mtime_ns ctime_ns path`, after a header line.

    A hit needs the same (dev, ino, size, mtime_ns, ctime_ns) as os.stat now
    gives (ctime: an mtime put back after a change, `touch -r`, still misses); files
    modified less than 2 s before they were hashed are not kept (the racily
    clean rule of ContentStore.hash_file). The file is read once, and written
    (a temporary file, then os.replace: readers never see half of it) only when
    something changed; concurrent trials may each write theirs, the last one
    stays. An unreadable or malformed file is ignored and rewritten: the cache
    never fails a trial, at worst the files are hashed again. os.open/os.read/
    os.write only: nothing here is the script's I/O.
    """

    HEADER = b"now-module-hashes 1\n"
    MAX_ENTRIES = 20000  # beyond: only the entries this trial used are kept

    def __init__(self, path: str) -> None:
        self.path = path
        self._entries: dict = {}
        self._used: set = set()
        self._changed = False

    def load(self) -> None:
        data = read_all(self.path)
        if data is None:
            return  # none yet (or unreadable): written at the end
        entries = {}
        try:
            if not data.startswith(self.HEADER):
                raise ValueError("header")
            for line in data[len(self.HEADER):].split(b"\n"):
                if not line:
                    continue
                digest, dev, ino, size, mtime, ctime, path = line.split(b" ", 6)
                if len(digest) != 64 or digest.translate(None, b"0123456789abcdef"):
                    raise ValueError("digest")
                entries[os.fsdecode(path)] = (int(dev), int(ino), int(size), int(mtime), int(ctime), digest.decode("ascii"))
        except (ValueError, UnicodeError):
            self._changed = True  # rewritten, whole, at the end
            return
        self._entries = entries

    def hash_file(self, path: str, store):
        """The file's digest, from the cache when its stat matches, else from
        store.hash_file (not stored in the content store)."""
        self._used.add(path)
        hit = self._entries.get(path)
        if hit is not None:
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None and stat.S_ISREG(st.st_mode) and hit[:5] == _key(st):
                return hit[5]
        digest, st = store.hash_file_stat(path, store=False)
        if digest is not None and not racily_clean(st) and "\n" not in path:
            entry = _key(st) + (digest,)
            if hit != entry:
                self._entries[path] = entry
                self._changed = True
        elif hit is not None:
            del self._entries[path]
            self._changed = True
        return digest

    def save(self) -> None:
        if not self._changed:
            return
        entries = self._entries
        if len(entries) > self.MAX_ENTRIES:
            entries = {p: e for p, e in entries.items() if p in self._used}
        lines = [self.HEADER]
        for p in sorted(entries):
            e = entries[p]
            lines.append(b"%s %d %d %d %d %d %s\n" % (e[5].encode("ascii"), e[0], e[1], e[2], e[3], e[4], os.fsencode(p)))
        folder = os.path.dirname(self.path)
        # unique even for trials with the same pid (containers sharing a .now)
        tmp = "%s.%d.%s.tmp" % (self.path, os.getpid(), os.urandom(4).hex())
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:
            return  # a read-only or odd .now: the next trial hashes again
        try:
            try:
                view = memoryview(b"".join(lines))
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError:  # full disk…: the old cache (if any) stays whole
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._changed = False


def _key(st):
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_all(path: str):
    """A file's bytes, or None if it cannot be read; os.open/os.read, not the
    (recorded) open. Also the script's and project files' source (trial.py)."""
    try:
        st = os.stat(path)
        fd, quiet = open_quietly(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0), st)
    except OSError:
        return None
    try:
        blocks = []
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                if not quiet:
                    restore_atime(fd, path, st)
                return b"".join(blocks)
            blocks.append(block)
    except OSError:
        return None
    finally:
        os.close(fd)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def read_head(path: str, size: int):
    """The first `size` bytes of a file as text (UTF-8, errors replaced); None
    if it cannot be read. os.open/os.read, not open(): no file object."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, size).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _metadata_version(path: str):
    head = read_head(path, 8192)
    if head is None:
        return None
    for line in head.splitlines():
        if line.startswith("Version:"):
            return line[len("Version:"):].strip() or None
        if not line.strip():
            break
    return None


def stdlib_dirs():
    """sysconfig.get_paths()'s stdlib and platstdlib (abspath and realpath of
    each), without importing sysconfig (~1.2 ms of every start): the folder of
    os.py, and the same name under sys.exec_prefix/sys.platlibdir. Checked equal
    on CPython 3.8–3.13 (pyenv and Debian's, in and out of a venv)."""
    dirs = set()
    try:
        stdlib = os.path.dirname(os.path.abspath(os.__file__))
    except Exception:  # no os.__file__: an unusual embedding
        return []
    plat = os.path.join(sys.exec_prefix, getattr(sys, "platlibdir", "lib"), os.path.basename(stdlib))
    for p in (stdlib, plat):
        dirs.add(os.path.abspath(p))
        dirs.add(os.path.realpath(p))
    return sorted(dirs)


def _first(pair):
    return pair[0]


_MODULE = type(sys)
_module_dict = _MODULE.__dict__["__dict__"].__get__
_mro_of = type.__dict__["__mro__"].__get__
_dict_of = type.__dict__["__dict__"].__get__
_GETSET = type(type.__dict__["__dict__"])


def _attr(module, name):
    """`module.name` from the object's own namespace, or None — without running
    the script's code: a module subclass's __getattribute__, a lazy module's
    __getattr__, a `__dict__` property (CPython's test_descr
    test_module_subclasses logs every attribute read)."""
    try:
        tp = type(module)
        if issubclass(tp, _MODULE):
            d = _module_dict(module)
        else:
            # the instance dict through the C getter CPython made for the class
            # (as values._instance_dict), never a `__dict__` the class defines
            d = None
            for klass in _mro_of(tp):
                attr = _dict_of(klass).get("__dict__")
                if attr is not None:
                    if type(attr) is _GETSET:
                        d = attr.__get__(module)
                    break
    except Exception:
        return None
    if type(d) is not dict:
        return None
    return d.get(name)
