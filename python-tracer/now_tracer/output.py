"""How many bytes the script wrote to stdout and stderr, where that can be known
without touching the streams the script sees.

Nothing wraps or replaces sys.stdout / sys.stderr (a `write` of ours would show
in the script's own profiles and stack inspection). When file descriptor 1 or 2
is a regular file, its offset at the start and at the end tell how many bytes
went into it, whoever wrote them (the script, its C extensions, its children
sharing the descriptor). A terminal, a pipe, a closed descriptor, both streams
into the same file (their bytes cannot be told apart), or a descriptor the
script pointed elsewhere: unknown (null).
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import io
import os
from stat import S_ISREG

STREAMS = (("stdout", 1), ("stderr", 2))


def _where(fd):
    """(device, inode, offset) of a regular file open as fd; None otherwise."""
    try:
        st = os.fstat(fd)
        if not S_ISREG(st.st_mode):
            return None
        return (st.st_dev, st.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
    except OSError:
        return None


class OutputSizes:
    def __init__(self) -> None:
        self.start = {name: _where(fd) for name, fd in STREAMS}
        out, err = self.start["stdout"], self.start["stderr"]
        if out is not None and err is not None and out[:2] == err[:2]:
            self.start = {"stdout": None, "stderr": None}

    def sizes(self, sys_module) -> dict:
        """Bytes per stream (None: unknown). The interpreter's own stream objects
        are flushed first (the script's atexit handlers have run; finalization
        would flush them next anyway); a replacement object of the script's is
        never called."""
        if not any(self.start.values()):
            return {"stdout": None, "stderr": None}
        for name in ("stdout", "stderr", "__stdout__", "__stderr__"):
            stream = getattr(sys_module, name, None)
            try:
                # Only the C classes all the way down to a file descriptor: a
                # flush that reached a Python class of the script's would run its code.
                plain = type(stream) is io.TextIOWrapper and type(stream.buffer) is io.BufferedWriter and \
                    type(stream.buffer.raw) is io.FileIO
                if plain:
                    stream.flush()
            except Exception:
                pass  # finalization tries again and reports it, as untraced
        result = {}
        for name, fd in STREAMS:
            before, after = self.start[name], _where(fd)
            if before is None or after is None or before[:2] != after[:2] or after[2] < before[2]:
                result[name] = None
            else:
                result[name] = after[2] - before[2]
        return result
