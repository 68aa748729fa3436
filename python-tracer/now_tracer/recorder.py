"""Turns core callbacks into events: activation ids, code ids, safe reprs.

The activation events are formatted by hand with `%` into JSON text (string
parts through json's C encoder): json.dumps of a dict per call would cost
several times more, and the call-heavy benchmark makes ~10^6 of them.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import itertools
import sys
import threading
import time

from now_tracer.eventlog import FLUSH_SECONDS, encode_str
from now_tracer.values import type_name

_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
_CO_OPTIMIZED = 0x01

# Up to 3.12 a frame's f_locals is a dict the frame keeps: reading it copies every
# local into it, and it then holds them until the next read (a `del`eted or
# rebound argument stays alive). 3.13 (PEP 667) returns a proxy instead.
LOCALS_SNAPSHOT = sys.version_info < (3, 13)
# 3.11 and 3.12 write that dict back into the frame after a trace callback only when
# f_locals was read since the frame's last callback (PyFrame_LocalsToFast checks
# f_fast_as_locals); 3.8-3.10 copy it in before and write it back after every one.
_WRITEBACK_ALWAYS = sys.version_info < (3, 11)
try:
    from opcode import opmap as _OPMAP
except ImportError:  # pragma: no cover
    _OPMAP = {}
_REBIND_OPS = frozenset(_OPMAP[n] for n in ("STORE_FAST", "DELETE_FAST") if n in _OPMAP)
_DEREF_OPS = frozenset(_OPMAP[n] for n in ("STORE_DEREF", "DELETE_DEREF") if n in _OPMAP)


def rebinds_args(code) -> bool:
    """Does the code assign or delete one of its parameters (`a = weakref.ref(a)`,
    `del a`)? Only then can the snapshot of the arguments taken at the call hold an
    object the frame itself no longer holds. Over-approximated: a store to a local
    whose index's low byte is a parameter's, or any store to a cell when a
    parameter is a cell."""
    if not LOCALS_SNAPSHOT or not code.co_flags & _CO_OPTIMIZED:
        return False
    nargs = code.co_argcount + code.co_kwonlyargcount
    nargs += bool(code.co_flags & _CO_VARARGS) + bool(code.co_flags & _CO_VARKEYWORDS)
    if not nargs:
        return False
    cell_arg = bool(set(code.co_cellvars) & set(code.co_varnames[:nargs]))
    co = code.co_code
    for i in range(0, len(co), 2):
        op = co[i]
        if op in _REBIND_OPS:
            if co[i + 1] < nargs:
                return True
        elif cell_arg and op in _DEREF_OPS:
            return True
    return False


def local_names(code):
    return code.co_varnames + code.co_cellvars + code.co_freevars


def clear_locals(d, names, others: int) -> None:
    """Empty a function frame's f_locals snapshot `d` of its locals (a later read of
    f_locals or locals() fills it again from the frame), unless someone besides the
    frame, `others` references the tracer holds besides this argument, and
    getrefcount's own has it: a script's `d = locals()` keeps its dict as it is. Keys that are not
    local names (put there by the script) stay."""
    if d.__class__ is not dict or sys.getrefcount(d) > others + 3:
        return  # (3.13: a FrameLocalsProxy, whose pop would delete the locals themselves)
    pop = d.pop
    for n in names:
        pop(n, None)


class LocalsRelease:
    """The f_locals snapshots the tracer made (by reading frame.f_locals of a
    function frame, 3.8-3.12), to be emptied as soon as that is safe: never inside
    a trace callback of the frame itself when the callback's write-back would then
    delete the frame's locals, so at the next callback of any other frame of the same
    thread (settrace), or at once (sys.monitoring: no write-back).

    pend: id(frame) -> (dict, code, thread ident)."""

    def __init__(self) -> None:
        self.pend: dict = {}
        pend = self.pend
        get_ident = threading.get_ident
        names_of: dict = {}
        # bound now: the script may replace builtins (`builtins.len = lru_cache(4)(len)`)
        keys = pend.copy
        names_count = names_of.__len__

        def held(frame, d):
            # A frame's f_locals dict is one object for the frame's life: once pending,
            # reads of it need nothing more.
            k = id(frame)
            if k not in pend and d.__class__ is dict:
                code = frame.f_code
                if code.co_flags & _CO_OPTIMIZED:
                    pend[k] = (d, code, get_ident())

        def release(key):
            """Empty the snapshots of frames other than `key` (None: all) of this
            thread. Never raises: it runs outside the cores' error handling."""
            try:
                me = get_ident()
                for k in keys():
                    if k == key:
                        continue
                    item = pend.get(k)
                    if item is None or item[2] != me:
                        continue
                    pend.pop(k, None)
                    d = item[0]
                    code = item[1]
                    item = None
                    names = names_of.get(code)
                    if names is None:
                        if names_count() > 4096:
                            names_of.clear()
                        names = names_of[code] = local_names(code)
                    clear_locals(d, names, 1)
            except Exception:
                pass

        def ended(frame):
            """The frame returned or raised: its dict goes with it, unless someone
            else (a script that returned `locals()`) keeps it, which is then theirs."""
            pend.pop(id(frame), None)

        self.held = held
        self.release = release
        self.ended = ended


class Recorder:
    """Core-facing interface: on_call(frame, parent) -> activation id,
    on_return/on_yield(act, value), on_resume(act), on_raise(act, exc).

    These five are closures over local variables (built in _build_hot): in a
    call-heavy script they run millions of times, and local-variable access is
    markedly cheaper than attribute access on self. Ids come from
    itertools.count, whose next() is atomic under the GIL (threads).
    """

    def __init__(self, log, reprs, codeinfo, project) -> None:
        self.log = log
        self.reprs = reprs
        self.codeinfo = codeinfo
        self.project = project
        self._perf = time.perf_counter
        self.t0 = round(time.time(), 6)
        self._base = self._perf()
        self._code_ids = itertools.count(1)
        self._access_ids = itertools.count(1)
        self.write_accesses: set = set()  # access ids opened for writing (fine mode's file edges)
        self._codes: dict = {}  # id(code) -> (code, code id, parameter names, call-line format)
        self._warned: set = set()
        self._lock = threading.Lock()
        self._flush_at = [0.0]
        self._build_hot()

    def now(self) -> float:
        return round(self._perf() - self._base, 6)

    # -- activations (hot) ----------------------------------------------------------
    # Each event takes one perf_counter() for `t`, which also drives flushing:
    # the log is written when 0.25 s have passed since the last write.
    def _build_hot(self) -> None:
        codes = self._codes
        new_code = self._new_code
        jrepr = self.reprs.json
        exc_json = self._exc_json
        perf = self._perf
        base = self._base
        append = self.log.append
        flush_at = self._flush_at
        flush = self.log.flush
        next_act = itertools.count(1).__next__
        stash = self.stash = [None]  # the f_locals dict on_call read, for code that rebinds a parameter

        def due(t):
            flush_at[0] = t + FLUSH_SECONDS
            try:
                flush()
            except Exception:
                pass

        def on_call(frame, parent):
            code = frame.f_code
            info = codes.get(id(code))
            if info is None or info[0] is not code:
                info = new_code(code)
            act = next_act()
            names = info[2]
            n = len(names)
            p = "null" if parent is None else parent
            t = perf() - base
            # info[3]: this code's whole call line as a %-format. Small arities
            # are spelled out: a comprehension costs a function call on <3.12.
            if n == 0:
                line = info[3] % (act, p, t)
            else:
                loc = frame.f_locals
                if n == 1:
                    line = info[3] % (act, p, t, jrepr(loc[names[0]]))
                elif n == 2:
                    line = info[3] % (act, p, t, jrepr(loc[names[0]]), jrepr(loc[names[1]]))
                elif n == 3:
                    line = info[3] % (act, p, t, jrepr(loc[names[0]]), jrepr(loc[names[1]]), jrepr(loc[names[2]]))
                else:
                    line = info[3] % ((act, p, t) + tuple([jrepr(loc[name]) for name in names]))
            append(line)
            if t >= flush_at[0]:
                due(t)
            if info[4] and n:
                stash[0] = loc
            return act

        def on_return(act, value):
            value = jrepr(value)
            t = perf() - base
            append('{"e":"return","id":%d,"t":%.6f,"value":%s}' % (act, t, value))
            if t >= flush_at[0]:
                due(t)

        def on_yield(act, value):
            value = jrepr(value)
            t = perf() - base
            append('{"e":"yield","id":%d,"t":%.6f,"value":%s}' % (act, t, value))
            if t >= flush_at[0]:
                due(t)

        def on_resume(act):
            t = perf() - base
            append('{"e":"resume","id":%d,"t":%.6f}' % (act, t))
            if t >= flush_at[0]:
                due(t)

        def on_raise(act, exc):
            # a str: already rendered (core_settrace.exc_keeper)
            exc = exc if exc.__class__ is str else exc_json(exc)
            t = perf() - base
            append('{"e":"raise","id":%d,"t":%.6f,"exc":%s}' % (act, t, exc))
            if t >= flush_at[0]:
                due(t)

        def append_timed(line):
            """A preformatted event line (fine mode), same flushing rule."""
            append(line)
            t = perf() - base
            if t >= flush_at[0]:
                due(t)

        def emit(event):
            """A non-hot event (code, open, close, warning…), same flushing rule."""
            self.log.emit(event)
            t = perf() - base
            if t >= flush_at[0]:
                due(t)

        self.on_call = on_call
        self.on_return = on_return
        self.on_yield = on_yield
        self.on_resume = on_resume
        self.on_raise = on_raise
        self.exc_json = exc_json
        self.emit = emit
        self.append_timed = append_timed

    def exc_info(self, exc) -> dict:
        if isinstance(exc, BaseException):
            return {"type": type_name(type(exc)), "message": self.reprs.exc_message(exc)}
        # settrace may hand over an exception class or string on old paths
        return {"type": type_name(exc) if isinstance(exc, type) else type_name(type(exc)), "message": ""}

    def _exc_json(self, exc) -> str:
        info = self.exc_info(exc)
        return '{"type":%s,"message":%s}' % (encode_str(info["type"]), encode_str(info["message"]))

    def _new_code(self, code):
        with self._lock:
            info = self._codes.get(id(code))
            if info is not None and info[0] is code:
                return info
            cid = next(self._code_ids)
            filename = self.project.abspath(code.co_filename)
            try:
                qualname, line = self.codeinfo.describe(code, code.co_filename)
            except Exception:
                qualname, line = code.co_name, code.co_firstlineno
            self.emit(
                {
                    "e": "code",
                    "code": cid,
                    "file": filename,
                    "name": code.co_name,
                    "qualname": qualname,
                    "line": line,
                    "kind": _kind(code),
                }
            )
            names = tuple(_arg_names(code))
            # Parameters are always bound when the call event fires, so every
            # name has a value. Identifiers cannot contain "%".
            args = ",".join("[%s,%%s]" % encode_str(n) for n in names)
            fmt = '{"e":"call","id":%%d,"code":%d,"parent":%%s,"t":%%.6f,"args":[%s]}' % (cid, args)
            info = (code, cid, names, fmt, rebinds_args(code))
            self._codes[id(code)] = info
            return info

    def calls_elided(self, counts) -> None:
        """`calls_elided` events (coarse mode, --calls-keep): counts is [(code, n)]
        for the code objects with n > 0 unrecorded activations; in code id order."""
        out = []
        for code, n in counts:
            info = self._codes.get(id(code))
            if n > 0 and info is not None and info[0] is code:
                out.append((info[1], n))
        for cid, n in sorted(out):
            self.emit({"e": "calls_elided", "code": cid, "count": n})

    # -- files ----------------------------------------------------------------------
    def new_access_id(self) -> int:
        return next(self._access_ids)

    def on_open(self, access, activation, path, mode, hash_before) -> None:
        if any(c in mode for c in "wax+"):
            self.write_accesses.add(access)
        self.emit(
            {
                "e": "open",
                "id": access,
                "activation": activation,
                "t": self.now(),
                "path": path,
                "mode": mode,
                "hash_before": hash_before,
            }
        )

    def on_close(self, access, hash_after, at_exit: bool) -> None:
        self.emit({"e": "close", "id": access, "t": self.now(), "hash_after": hash_after, "at_exit": at_exit})
        # A closed file is a moment worth keeping: on 3.12+ no timer thread flushes during
        # a quiet stretch (see eventlog.py), and scripts often write a file and then wait.
        try:
            self.log.flush()
        except Exception:
            pass

    # -- other ----------------------------------------------------------------------
    def warning(self, message: str) -> None:
        message = " ".join(str(message).split())[:500]
        if message in self._warned:
            return
        self._warned.add(message)
        self.emit({"e": "warning", "message": message})


_CO_NEWLOCALS = 0x02
_KINDS = ((0x200, "async_generator"), (0x80, "coroutine"), (0x20, "generator"))


def _kind(code) -> str:
    if code.co_name == "<module>":
        return "module"
    flags = code.co_flags
    # Only module and class bodies run without a fresh locals dict.
    if not flags & _CO_NEWLOCALS:
        return "class"
    for flag, kind in _KINDS:
        if flags & flag:
            return kind
    return "function"


def _arg_names(code):
    """Parameter names in signature order: positional (incl. positional-only),
    *args, keyword-only, **kwargs (co_varnames keeps *args after the kw-only).
    The implicit iterator a generator expression receives (`.0`) is not a
    parameter anyone wrote, and is left out."""
    names = code.co_varnames
    n = code.co_argcount
    k = code.co_kwonlyargcount
    out = list(names[:n])
    i = n + k
    if code.co_flags & _CO_VARARGS:
        out.append(names[i])
        i += 1
    out.extend(names[n : n + k])
    if code.co_flags & _CO_VARKEYWORDS:
        out.append(names[i])
    return [n for n in out if not n.startswith(".")]

