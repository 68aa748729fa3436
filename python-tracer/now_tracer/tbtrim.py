"""Keeping the tracer's own frames out of the script's tracebacks.

An exception raised by the real `open` (FileNotFoundError…) or by a stream's
`write` passes through the tracer's wrapper frame, so its traceback would show
a line of now_tracer that an untraced run does not have. The wrappers register
such exceptions with `hide()`; the core's `exception` event in the first
project frame they reach then unlinks the tracer's entries from the
traceback (tb_next is writable since 3.7), before any user code can see it.
`trim()` does the same for the uncaught exception the runner prints.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import builtins
import os

from now_tracer.projectfiles import TRACER_ENTRY, TRACER_PACKAGE_DIR

# co_filename of the tracer's modules as imported (possibly relative) and absolute.
_PREFIXES = tuple({os.path.dirname(__file__) + os.sep, TRACER_PACKAGE_DIR + os.sep})
_ENTRY = TRACER_ENTRY
_GROUP = getattr(builtins, "BaseExceptionGroup", None)  # 3.11+

# id(exception) -> exception, for exceptions that went through a tracer wrapper.
HIDDEN: dict = {}
_MAX_HIDDEN = 64

_is_ours_cache: dict = {}


def is_tracer_code(code) -> bool:
    fn = code.co_filename
    v = _is_ours_cache.get(fn)
    if v is None:
        v = fn.startswith(_PREFIXES) or fn == _ENTRY
        _is_ours_cache[fn] = v
    return v


def hide(exc: BaseException) -> None:
    if len(HIDDEN) >= _MAX_HIDDEN:
        HIDDEN.clear()  # exceptions caught inside libraries never reach a project frame
    HIDDEN[id(exc)] = exc


def splice(exc, tb) -> None:
    """Called from the `exception` trace event of a project frame."""
    if HIDDEN.pop(id(exc), None) is None:
        return
    _unlink(tb)


def _unlink(tb):
    """Remove tracer entries from a traceback chain; returns the new head."""
    while tb is not None and is_tracer_code(tb.tb_frame.f_code):
        tb = tb.tb_next
    head = tb
    while tb is not None:
        nxt = tb.tb_next
        while nxt is not None and is_tracer_code(nxt.tb_frame.f_code):
            nxt = nxt.tb_next
        if tb.tb_next is not nxt:
            tb.tb_next = nxt
        tb = nxt
    return head


def trim(exc: BaseException):
    """Strip tracer frames from an exception and from everything chained to it
    (cause, context, exception-group members); returns exc's new traceback."""
    seen = set()
    todo = [exc]
    head = None
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        try:
            new = _unlink(e.__traceback__)
            if new is not e.__traceback__:
                e.__traceback__ = new
            if e is exc:
                head = new
        except Exception:
            pass
        todo.append(e.__cause__)
        todo.append(e.__context__)
        if _GROUP is not None and isinstance(e, _GROUP):
            todo.extend(e.exceptions)
    return head
