"""nowls Python tracer: records the provenance of one run of a Python script.

Kept import-free on purpose: the boot (boot/sitecustomize.py, cli.boot) imports
the submodules it needs before the user's script runs, so nothing here may have
side effects — but one, undone before the script runs: the tracer's own modules
are compiled to `now_tracer/__pycache__` even under PYTHONDONTWRITEBYTECODE or
`-B` (compiling its ~20 modules at every start would cost ~30 ms);
`restore_bytecode_setting()` puts `sys.dont_write_bytecode` back (cli.boot,
before the script).
"""

import sys as _sys

__version__ = "0.1.0"

_DONT_WRITE_BYTECODE = _sys.dont_write_bytecode
_sys.dont_write_bytecode = False


def restore_bytecode_setting() -> None:
    _sys.dont_write_bytecode = _DONT_WRITE_BYTECODE
