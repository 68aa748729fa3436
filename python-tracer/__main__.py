# `python /abs/python-tracer ARGS`: checks the command line, then replaces this
# interpreter with `python [flags] script args` booting the tracer (now_tracer/cli.py).
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    # -P / PYTHONSAFEPATH or an unusual launcher: make the package importable anyway.
    sys.path.insert(0, _here)

from now_tracer.cli import main  # noqa: E402

main("dir")
