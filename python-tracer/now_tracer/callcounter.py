"""Counting the calls of hot code objects in C (sysmon core, --calls-keep).

Past its first K recorded activations a function is only counted. A Python
PY_START callback per call costs ~2 µs on 3.13; here the counting is done by
a private `_lsprof.Profiler` (cProfile's C core, never enabled as a profiler:
it does not take cProfile's tool id) whose `_pystart_callback` and
`_pyreturn_callback` are registered as the C callbacks of a second
sys.monitoring tool id, with PY_START and PY_RETURN switched on for the
counted code objects only. A call costs two C callbacks, no Python frame.

The profiler counts a call when it sees its end (`callcount` grows in its
leave), and it keeps one stack of "contexts" for every thread, so its counts
are exact only if every end it is shown had its start shown first. Hence the
rules the core follows (core_sysmon.py):

- `add(code)` only for a code object nothing has run yet: a fresh copy of a
  function's code, set as the function's `__code__` after `add` (so no thread
  can start it unseen), and only for plain functions: a generator's frame may
  be suspended off every stack, and its yields would need events of their own;
- PY_UNWIND cannot be a per-code event, so an activation of a counted code
  that ends by an exception is shown its end by hand (`leave`) from the core's
  own global PY_UNWIND callback.

Then each end shown follows its start, the profiler's stack never runs empty
at an end, and `callcount` is exactly the number of calls, whatever the
interleaving of threads (an end pops some context, and the count goes to
the code that ended). A stop with activations still running loses their
counts, as a killed trial would.

Used only where it behaves as described: the probe in `usable()` checks it on
the running interpreter, and builds without the GIL are left out (the
profiler's state is not locked).
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import sys

_MON = getattr(sys, "monitoring", None)
_LSPROF: list = []  # the _lsprof module, once imported


def _profiler():
    if not _LSPROF:
        had = "_lsprof" in sys.modules
        try:
            import _lsprof
        except ImportError:
            return None
        _LSPROF.append(_lsprof)
        if not had:
            # The trial's module list is the script's: a cProfile it imports
            # loads its own _lsprof module.
            del sys.modules["_lsprof"]
    try:
        p = _LSPROF[0].Profiler(subcalls=False, builtins=False)
        enter, leave = p._pystart_callback, p._pyreturn_callback
    except (AttributeError, TypeError):
        return None
    return p, enter, leave


def usable() -> bool:
    """Does this interpreter count as described above?"""
    if _MON is None:
        return False
    gil = getattr(sys, "_is_gil_enabled", None)
    if gil is not None and not gil():
        return False
    made = _profiler()
    if made is None:
        return False
    p, enter, leave = made
    probe = usable.__code__
    try:
        for _ in range(2):
            enter(probe, 0)
        leave(probe, 0, None)
        leave(probe, 0, None)
        leave(probe, 0, None)  # one end too many: ignored, not counted
        return [(e.code, e.callcount) for e in p.getstats()] == [(probe, 2)]
    except Exception:
        return False


class CallCounter:
    def __init__(self, tool_id: int) -> None:
        self.tool_id = tool_id
        made = _profiler()
        if made is None:
            raise RuntimeError("_lsprof.Profiler has no sys.monitoring callbacks")
        self._profiler, self.enter, self.leave = made
        self._codes: list = []
        self._started = False

    def start(self) -> None:
        E = _MON.events
        _MON.register_callback(self.tool_id, E.PY_START, self.enter)
        _MON.register_callback(self.tool_id, E.PY_RETURN, self.leave)
        self._started = True

    def add(self, code) -> None:
        """Count `code`'s calls from now on (a code nothing has run: see above)."""
        E = _MON.events
        _MON.set_local_events(self.tool_id, code, E.PY_START | E.PY_RETURN)
        self._codes.append(code)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        mon = _MON
        tid = self.tool_id
        try:
            for code in self._codes:
                try:
                    mon.set_local_events(tid, code, 0)
                except Exception:
                    pass
            E = mon.events
            mon.register_callback(tid, E.PY_START, None)
            mon.register_callback(tid, E.PY_RETURN, None)
        finally:
            try:
                mon.free_tool_id(tid)
            except Exception:
                pass

    def counts(self) -> dict:
        """id(code) -> calls counted (codes never called since `add`: absent)."""
        return {id(e.code): e.callcount for e in self._profiler.getstats()}
