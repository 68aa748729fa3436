"""The `module` events written at the end: one per entry of sys.modules.

Cost is kept small: stdlib modules never get a version lookup, file hashes
are cached per path (ContentStore), and distribution versions are looked up
once per top-level name (failures included).
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig


class ModuleInventory:
    def __init__(self, store, project, warn, stdlib_dirs) -> None:
        self.store = store
        self.project = project
        self._warn = warn
        self._versions: dict = {}
        self._dirs: dict = {}
        self._stdlib = tuple(d + os.sep for d in stdlib_dirs)

    def events(self):
        """Yield one event dict per usable entry of sys.modules."""
        for name, module in sorted(list(sys.modules.items()), key=lambda kv: str(kv[0])):
            if not isinstance(name, str) or not name or name.startswith("now_tracer"):
                continue
            if module is None:
                continue
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
        if isinstance(file, str) and file:
            path = self.project.abspath(file)
        if path is not None and self.project.is_tracer_file(file):
            return None
        local = path is not None and self.project.is_project(file)
        digest = None
        if path is not None:
            digest = self.store.hash_file(path, store=local)
        version = _attr(module, "__version__")
        if not isinstance(version, str):
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
    """Computed at start: at exit, sysconfig may have to import (and run) code."""
    dirs = set()
    for key in ("stdlib", "platstdlib"):
        try:
            p = sysconfig.get_paths()[key]
        except Exception:
            continue
        dirs.add(os.path.abspath(p))
        dirs.add(os.path.realpath(p))
    return sorted(dirs)


def _attr(module, name):
    # Module objects only: a lazy or proxy module's __getattr__ may run code.
    try:
        d = object.__getattribute__(module, "__dict__")
    except Exception:
        return None
    if not isinstance(d, dict):
        return None
    return d.get(name)
