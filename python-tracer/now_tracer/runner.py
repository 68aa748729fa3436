"""What CPython does for a script that the tracer must know or undo.

CPython itself runs the script (boot/sitecustomize.py starts the tracer inside
the script's interpreter): `__main__`, `__file__`, sys.argv, sys.path[0],
compiling, uncaught exceptions, exit codes and atexit order are its own. What is
left here:

- the filename CPython gives the script (its `__file__` and co_filename): on
  3.9+ the path made absolute by plain concatenation `os.getcwd() + "/" +
  script` (no normalization: `python ../x.py` gives `/cwd/../x.py`); on 3.8
  the path as given;
- the folder CPython puts first on sys.path after site ran (the script's real
  path's folder), and the stdlib modules the tracer imported before that which
  the folder shadows;
- the exit code a SystemExit stands for;
- the text of a source file as the compiler reads it (PEP 263), without
  importing tokenize, which the script would then find already imported.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import os
import sys
# What importlib.machinery.all_suffixes() returns, without importing the
# importlib package (its import renames _frozen_importlib for everyone).
import _frozen_importlib_external as _bootstrap_external


def all_suffixes():
    return _bootstrap_external.SOURCE_SUFFIXES + _bootstrap_external.BYTECODE_SUFFIXES + \
        _bootstrap_external.EXTENSION_SUFFIXES

SIGINT_EXIT_CODE = 130  # reported in `end` for a KeyboardInterrupt (the process dies by SIGINT)


def script_filename(script: str) -> str:
    """The filename CPython gives the script (its __file__ and co_filename)."""
    if sys.version_info < (3, 9) or os.path.isabs(script):
        return script
    try:
        cwd = os.getcwd()
    except OSError:
        return script
    return cwd + os.sep + script


def sys_path0(script: str) -> str:
    return os.path.dirname(os.path.realpath(script))


def unshadow(preloaded, folder: str) -> None:
    """Forget the stdlib modules the tracer imported that the script's folder
    shadows (a project's own `json.py`, `uuid.py`, `platform.py`…): untraced,
    `import json` would find the project's file, since that folder comes first
    on sys.path. The tracer keeps the objects it already bound."""
    added = [n for n in list(sys.modules) if n not in preloaded and not n.startswith("now_tracer")]
    tops = {n.partition(".")[0] for n in added}
    suffixes = all_suffixes()
    try:
        # one listing rather than six stats per module (only names found are checked)
        names = frozenset(os.listdir(folder))
    except OSError:
        names = None
    for top in tops:
        if top in preloaded or top in sys.builtin_module_names:
            continue
        spec = getattr(sys.modules.get(top), "__spec__", None)
        if spec is not None and spec.origin in ("frozen", "built-in"):
            continue  # found by meta-path finders before any sys.path entry
        if names is not None and top not in names and not any(top + suffix in names for suffix in suffixes):
            continue
        base = os.path.join(folder, top)
        shadowed = os.path.isfile(os.path.join(base, "__init__.py")) or any(
            os.path.isfile(base + suffix) for suffix in suffixes
        )
        if shadowed:
            for name in added:
                if name == top or name.startswith(top + "."):
                    sys.modules.pop(name, None)


def exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if os.name == "posix" else code
    return 1


def decode_source(source: bytes) -> str:
    """importlib.util.decode_source without tokenize: the BOM or the coding
    cookie of the first two lines (default UTF-8), universal newlines.
    UnicodeDecodeError / LookupError where the compiler gives a SyntaxError."""
    if source.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = coding_cookie(source) or "utf-8"
    return source.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def coding_cookie(source: bytes):
    """The encoding a `# -*- coding: NAME -*-` comment declares, normalized as
    tokenize does; None without one. Only on line 1, or on line 2 when line 1
    is blank or a comment (PEP 263)."""
    for line in source.split(b"\n", 2)[:2]:
        stripped = line.lstrip(b" \t\f")
        if not stripped.startswith(b"#"):
            if stripped.strip(b"\r") == b"":
                continue  # a blank first line: the second may still declare it
            return None
        at = stripped.find(b"coding")
        while at >= 0:
            rest = stripped[at + 6:]
            if rest[:1] in (b":", b"="):
                name = rest[1:].lstrip(b" \t")
                end = 0
                while end < len(name) and (name[end:end + 1].isalnum() or name[end:end + 1] in b"-_."):
                    end += 1
                if end:
                    return _normal_encoding(name[:end].decode("ascii"))
            at = stripped.find(b"coding", at + 1)
    return None


def _normal_encoding(name: str) -> str:
    enc = name[:12].lower().replace("_", "-")
    if enc == "utf-8" or enc.startswith("utf-8-"):
        return "utf-8"
    if enc in ("latin-1", "iso-8859-1", "iso-latin-1") or enc.startswith(("latin-1-", "iso-8859-1-", "iso-latin-1-")):
        return "iso-8859-1"
    return name
