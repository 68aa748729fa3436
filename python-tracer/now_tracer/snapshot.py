"""The builtins as they were when the tracer started.

Every now_tracer module binds its `__builtins__` to this copy before defining
anything, so a script that replaces a builtin (`builtins.len =
functools.lru_cache(4)(len)`, a patched `isinstance` or `repr`) changes nothing
the tracer does: on 3.10+ a function takes its builtins from its module's
`__builtins__` when it is created; on 3.8/3.9 a frame reads them from its
globals when it starts. Taken at the first import of the package, before the
script and before the tracer's own hooks (files.py's `open`) are installed.
"""

import builtins

BUILTINS = dict(builtins.__dict__)

# A copy of the os module's namespace as it is now, for the modules that write
# the tracer's own files (contentstore, modules): a script replacing os.write or
# os.replace does not reach them. os.path and os.environ are the live objects.
import os as _os
import types as _types

OS = _types.ModuleType("os", _os.__doc__)
OS.__dict__.update(_os.__dict__)
