# `python /abs/python-tracer ARGS`: CPython runs this file with this folder as
# sys.path[0]; the runner later swaps that entry for the script's folder.
import sys

_preloaded = set(sys.modules)

import os  # noqa: E402

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    # -P / PYTHONSAFEPATH or an unusual launcher: make the package importable anyway.
    sys.path.insert(0, _here)

from now_tracer.cli import main  # noqa: E402

main("dir", _preloaded)
