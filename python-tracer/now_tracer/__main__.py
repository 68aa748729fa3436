# `python -m now_tracer ARGS` (python-tracer/ on sys.path).
import sys

_preloaded = set(sys.modules)

from now_tracer.cli import main  # noqa: E402

main("module", _preloaded)
