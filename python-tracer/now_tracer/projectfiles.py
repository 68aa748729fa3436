"""Which source files belong to the project (and are therefore traced).

A file is the project's when it lies under the root (or the root's real path,
since sys.path[0] is the script's folder with symlinks resolved), not under
`.now/`, not inside a virtualenv or a site-packages/dist-packages folder, not
in the tracer itself and not a pseudo-file like `<string>` or `<frozen …>`.
The script always counts. Answers are cached per `co_filename` by the caller.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import os

_VENV_NAMES = frozenset((".venv", "venv", "site-packages", "dist-packages", "__pycache__", ".now"))

TRACER_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
TRACER_DIR = os.path.dirname(TRACER_PACKAGE_DIR)
TRACER_ENTRY = os.path.join(TRACER_DIR, "__main__.py")


def _under(path: str, folder: str) -> bool:
    if folder == os.sep:
        return path.startswith(os.sep)
    return path.startswith(folder + os.sep)


class ProjectFiles:
    def __init__(self, root: str, cwd: str, script_filename: str, script_path: str) -> None:
        self.root = root
        self.cwd = cwd
        roots = [root]
        real = os.path.realpath(root)
        if real != root:
            roots.append(real)
        self.roots = tuple(roots)
        # co_filename of the script's code (as CPython would set __file__) and its
        # normalized absolute path (the one reported in events).
        self.script_filename = script_filename
        self.script_path = script_path
        self._abs: dict = {script_filename: script_path}
        self._venv_dirs: dict = {}
        tracer = [TRACER_PACKAGE_DIR, os.path.realpath(TRACER_PACKAGE_DIR)]
        self._tracer_dirs = tuple(set(tracer))
        self._tracer_files = frozenset((TRACER_ENTRY, os.path.realpath(TRACER_ENTRY)))

    def abspath(self, filename: str) -> str:
        """Absolute, normalized path of a co_filename/__file__ (relative ones are
        resolved against the cwd the trial started in, not the current one)."""
        p = self._abs.get(filename)
        if p is None:
            if filename.startswith("<"):
                p = filename
            else:
                p = os.path.normpath(os.path.join(self.cwd, filename))
            self._abs[filename] = p
        return p

    def is_tracer_file(self, filename: str) -> bool:
        p = self.abspath(filename)
        return p in self._tracer_files or any(_under(p, d) for d in self._tracer_dirs)

    def is_project(self, filename: str) -> bool:
        if filename == self.script_filename:
            return True
        if not filename or filename.startswith("<"):
            return False
        p = self.abspath(filename)
        if p == self.script_path:
            return True
        if self.is_tracer_file(filename):
            return False
        for r in self.roots:
            if _under(p, r):
                rel = p[len(r):].lstrip(os.sep)
                break
        else:
            return False
        parts = rel.split(os.sep)[:-1]
        if any(part in _VENV_NAMES for part in parts):
            return False
        folder = r
        for part in parts:
            folder = os.path.join(folder, part)
            if self._is_venv(folder):
                return False
        return True

    def _is_venv(self, folder: str) -> bool:
        v = self._venv_dirs.get(folder)
        if v is None:
            v = os.path.exists(os.path.join(folder, "pyvenv.cfg"))
            self._venv_dirs[folder] = v
        return v


def find_root(script_dir: str) -> str:
    """First folder upwards from the script's containing a `.now`, `.git` or
    `pyproject.toml`; the script's folder when there is none."""
    d = script_dir
    while True:
        for marker in (".now", ".git", "pyproject.toml"):
            if os.path.exists(os.path.join(d, marker)):
                return d
        parent = os.path.dirname(d)
        if parent == d:
            return script_dir
        d = parent
