"""A script that installs its own trace function (settrace core, 3.8-3.11 by
default): the tracer steps aside and the trial says so.

sys.settrace holds one function per thread: the script's (trace.py, pdb,
coverage's Python tracer, a test of settrace itself) replaces ours, and the
recording would silently end with the trial saying "finished". Chaining the
two is not transparent either (the script's function would see the events in
the order and number ours lets through, and `sys.gettrace()` would not be its
function). So the first call of sys.settrace by the script ends the recording:
an `incomplete` event with the reason goes to the log, our trace functions are
taken off every frame that still has one, the frames' `f_trace_lines` (which
coarse mode turns off) is back to CPython's default, and the script's call
then runs as it would untraced. From then on sys.settrace/sys.gettrace are
the originals again.

While we trace, `sys.gettrace()` answers None (what the script would get
untraced) instead of the tracer's function.

sys.setprofile is not watched: the profile function is a separate slot, and
CPython runs neither while the other's callback runs, so both coexist.
sys.monitoring (3.12+, the sysmon core) coexists with sys.settrace as well.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import gc
import sys

_settrace = sys.settrace
_gettrace = sys.gettrace
_current_frames = sys._current_frames
REASON = "the script installed its own trace function (sys.settrace); nothing recorded after that"


class Stand:
    # Stands in for a builtin (of sys, _signal): not a descriptor, so it does not
    # bind when a class stores it, as a Python function would; named and shown as
    # the original. (No docstring: instances carry the original's.)

    def __init__(self, call, orig) -> None:
        self._call = call
        self._orig = orig
        self.__name__ = orig.__name__
        self.__qualname__ = getattr(orig, "__qualname__", orig.__name__)
        self.__doc__ = orig.__doc__
        self.__module__ = getattr(orig, "__module__", "sys")

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self._orig)

    def __reduce__(self):
        return self._orig.__reduce__()


def watch(core) -> None:
    """sys.settrace and sys.gettrace stood in for while `core` records."""

    def settrace(*args, **kwargs):
        if len(args) == 1 and not kwargs and args[0] is core._global:
            # threading starting a thread with threading.settrace's function: ours
            return _settrace(*args)
        unwatch()
        try:
            core.step_aside(REASON)
            note = getattr(core, "on_lost", None)
            if note is not None:
                note(REASON)
        except Exception:
            pass
        return _settrace(*args, **kwargs)

    def gettrace(*args, **kwargs):
        t = _gettrace(*args, **kwargs)
        return None if t is not None and t is core._global else t

    sys.settrace = Stand(settrace, _settrace)
    sys.gettrace = Stand(gettrace, _gettrace)


def unwatch() -> None:
    if isinstance(sys.__dict__.get("settrace"), Stand):
        sys.settrace = _settrace
    if isinstance(sys.__dict__.get("gettrace"), Stand):
        sys.gettrace = _gettrace


def untrace_frames(frames: dict, is_ours) -> None:
    """Every frame still running (on a thread's stack, or a suspended
    generator or coroutine): no trace function if it has ours, line events on
    (CPython's default; a frame where the script itself turned them off before
    calling settrace gets them back: not told apart). The gc walk is once per
    trial."""
    todo = []
    try:
        for top in list(_current_frames().values()):
            f = top
            while f is not None:
                todo.append(f)
                f = f.f_back
    except Exception:
        pass
    if frames:
        try:
            for o in gc.get_objects():
                if type(o) not in _SUSPENDABLE:
                    continue
                f = getattr(o, "gi_frame", None) or getattr(o, "cr_frame", None) or getattr(o, "ag_frame", None)
                if f is not None:
                    todo.append(f)
        except Exception:
            pass
    for f in todo:
        try:
            if f.f_trace is not None and is_ours(f):
                f.f_trace = None
            # Also where the script has just set its own f_trace (pdb, a test that
            # traces its frame before calling settrace): coarse mode turned its
            # lines off.
            if not f.f_trace_lines:
                f.f_trace_lines = True
        except Exception:
            pass


def _suspendable():
    types_ = [type((lambda: (yield))())]

    async def c():
        pass

    co = c()
    types_.append(type(co))
    co.close()

    async def ag():
        yield

    types_.append(type(ag()))
    return frozenset(types_)


_SUSPENDABLE = _suspendable()
