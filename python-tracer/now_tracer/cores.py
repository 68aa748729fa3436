"""Which core traces this trial: the one place that decides.

Default: sys.monitoring ("sysmon") on Python 3.12+, sys.settrace before.
NOW_TRACER_CORE=settrace|sysmon overrides (read here only; the script's
environment is not touched). Falls back to settrace, with the reason in the
header's `core_reason`, when sys.monitoring is missing (< 3.12) or when no
tool id is free. Coarse and fine mode both run on either core.

Tool id: 4, then 3 (the ids PEP 669 leaves unnamed), then PROFILER_ID. Not
PROFILER_ID first: on 3.12+ cProfile/profile take PROFILER_ID themselves, so a
script profiling itself would fail ("tool 2 is already in use").
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import os
import sys

from now_tracer.core_settrace import SettraceCore

ENV = "NOW_TRACER_CORE"
DEFAULT_SYSMON = True  # sysmon is the default on 3.12+
TOOL_NAME = "now_tracer"
COUNTER_NAME = "now_tracer counter"


def _tool_ids(mon):
    return (4, 3, mon.PROFILER_ID)


def select(fine: bool, counting: bool = False):
    """-> (core name, core_reason or None, tool id or None, counter tool id or
    None). A sysmon choice holds its tool id (use_tool_id) from here on.

    counting (coarse mode with --calls-keep): the sysmon core also takes a second
    free tool id, if there is one, for callcounter.CallCounter (the calls past
    the cap counted in C); without it they are counted by the core's PY_START."""
    wanted = os.environ.get(ENV, "").strip().lower()
    has_mon = sys.version_info >= (3, 12) and hasattr(sys, "monitoring")
    reason = None
    if wanted == "settrace":
        return "settrace", "%s=settrace" % ENV, None, None
    if wanted == "sysmon":
        if not has_mon:
            return "settrace", "sys.monitoring needs Python 3.12+", None, None
        reason = "%s=sysmon" % ENV
    elif wanted:
        reason_bad = "%s=%s not understood" % (ENV, wanted)
        if not has_mon or not DEFAULT_SYSMON:
            return "settrace", reason_bad, None, None
        reason = reason_bad
    else:
        if not has_mon:
            return "settrace", None, None, None
        if not DEFAULT_SYSMON:
            return "settrace", None, None, None
    mon = sys.monitoring
    taken: list = []
    tid = _take(mon, _tool_ids(mon), TOOL_NAME, taken)
    if tid is None:
        return "settrace", "sys.monitoring tool ids taken: %s" % ", ".join(taken), None, None
    counter = None
    if counting and not fine:
        from now_tracer import callcounter

        if callcounter.usable():
            counter = _take(mon, [t for t in _tool_ids(mon) if t != tid], COUNTER_NAME, [])
    return "sysmon", reason, tid, counter


def _take(mon, ids, name, taken):
    """The first of ids that is free, now held under name; None if none is
    (taken lists the ones in use)."""
    for tid in ids:
        try:
            owner = mon.get_tool(tid)
        except Exception:
            owner = "?"
        if owner is not None:
            taken.append("%d (%s)" % (tid, owner))
            continue
        try:
            mon.use_tool_id(tid, name)
        except Exception:
            taken.append("%d" % tid)
            continue
        return tid
    return None


def make_core(name, tool_id, recorder, is_project, warn, fine, calls_keep=0, counter_tool_id=None):
    """calls_keep (coarse mode only; 0: all): activations recorded per code object."""
    if name == "sysmon":
        from now_tracer.core_sysmon import SysmonCore

        return SysmonCore(recorder, is_project, warn, fine, tool_id=tool_id, calls_keep=calls_keep,
                          counter_tool_id=counter_tool_id)
    return SettraceCore(recorder, is_project, warn, fine, calls_keep=calls_keep)


def release(*tool_ids) -> None:
    """Give back the tool ids select() took, for a core that will never start
    (the log could not be written): the script finds them free, as untraced."""
    mon = getattr(sys, "monitoring", None)
    for tid in tool_ids:
        if tid is not None and mon is not None:
            try:
                mon.free_tool_id(tid)
            except Exception:
                pass
