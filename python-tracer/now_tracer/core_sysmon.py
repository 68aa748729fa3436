"""The sys.monitoring core (PEP 669, Python 3.12+): same interface and same
recorded provenance as core_settrace.SettraceCore, in coarse and in fine mode;
cheaper per call (by ~20 % of the core's own work on 3.13, more on 3.12, where
settrace is emulated over sys.monitoring at a higher cost).

One tool id (see cores.py for which) with PY_START enabled globally. The
first PY_START of a code object decides once:

- not the project's (or a list/set/dict comprehension, skipped as settrace
  skips them): the callback returns sys.monitoring.DISABLE, and CPython never
  calls us again for that code — library code runs with no callback at all;
- threading.Thread.start: watched (its caller's activation becomes the parent
  of the thread's first project calls), like the settrace core does;
- the project's: PY_RETURN, PY_YIELD and PY_RESUME are switched on for that
  code object only (set_local_events), once. PY_UNWIND, PY_THROW and RAISE
  cannot be local events: they are global, and their callbacks return after
  one dict lookup for frames that are not the project's.

sys.monitoring tells returns, yields and unwinds apart by itself, so none of
settrace's opcode heuristics are needed. Frames are keyed by id() with their
code object checked (the frame is `sys._getframe(1)` in a callback), never kept
alive, so `current_activation(frame)` (files.py) and parents work exactly as
in the settrace core. sys.monitoring is process-wide: callbacks come from every
thread, including threads started with `_thread` directly (settrace only sees
threading's threads; such threads' activations get parent null).

Coarse mode with --calls-keep K: past a code object's first K activations,
nothing is recorded, only counted (calls_elided, written by the trial at exit;
README, "Bounded activations"). At the first call past the cap the function
is split: it runs a copy of its code from then on, whose calls a
callcounter.CallCounter on a second tool id counts in C, and this tool's
PY_START returns DISABLE for the copy (see split in _build). Calls of the
original code (a function that cannot be split, a generator, frames already
running) are counted by PY_START, and once no recorded activation of it is in
the frame table its local events go off. Without a second free tool id,
PY_START counts everything.
Fine mode ignores K.

Fine mode (_build_fine) adds, per project code object, LINE (when its
activations need line events) and JUMP (for settrace's extra line event on a
backward jump within one line), and uses RAISE as settrace's `exception`.

An exception must never leave a callback (it would propagate into the
script): every callback catches and turns errors into one `warning` each.
At stop: all events off (global and per code), callbacks unregistered, tool id
freed.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import sys
import threading

from now_tracer import tbtrim
from now_tracer.recorder import _CO_OPTIMIZED, LOCALS_SNAPSHOT, LocalsRelease, clear_locals, local_names
from now_tracer.core_settrace import _ITER_OPS, SKIPPED_NAMES, _THREAD_START_CODE, _THREADING, file_flag, innermost_activation, innermost_entry
from now_tracer.core_settrace import _CodeMeta as _META

_MON = getattr(sys, "monitoring", None)
_FUNCTION = type(lambda: None)


def function_of(code, frame):
    """The function whose code is `code`, found under its qualified name in the
    globals of `frame` (an activation of it), or None. Only dicts are looked
    into (a module's globals, a class's __dict__, a wrapper's __wrapped__), so
    no code of the script runs."""
    names = code.co_qualname.split(".")
    if "<locals>" in names:
        return None
    obj = frame.f_globals.get(names[0]) if type(frame.f_globals) is dict else None
    for name in names[1:]:
        d = _own_dict(obj)
        obj = d.get(name) if d is not None else None
    for _ in range(8):
        if type(obj) is _FUNCTION:
            return obj if obj.__code__ is code else None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
            continue
        d = _own_dict(obj)
        obj = d.get("__wrapped__") if d is not None else None
    return None


def _own_dict(obj):
    if obj is None:
        return None
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:
        return None
    return d if type(d) is dict or type(d).__name__ == "mappingproxy" else None


class SysmonCore:
    name = "sysmon"

    def __init__(self, recorder, is_project, warn, fine=None, tool_id=None, calls_keep=0, counter_tool_id=None) -> None:
        self.recorder = recorder
        # coarse mode: activations recorded per code object (0: all); the others counted
        self.calls_keep = calls_keep if (calls_keep and fine is None) else 0
        # fine.FineRecorder in fine mode: line events and values (see _build_fine)
        self.fine = fine
        self._is_project = is_project
        self._warn = warn
        self.tool_id = tool_id
        # id(frame) -> (activation, code); fine mode: [activation, code, fine state]
        self.frames: dict = {}
        self.thread_parents: dict = {}
        self._state = [False]
        # id(code) -> the project's code objects. Fine mode: the code object.
        # Coarse mode: [code, activations recorded, not recorded (counted here),
        # counted by the CallCounter, local events on, generator/coroutine,
        # either of the last two, split (see _build's split)]
        self._codes: dict = {}
        # split functions: [(function, its code, the copy it runs)]
        self._splits: list = []
        self._started = False
        # events skipped because the tracer's own frames hit the recursion limit
        self.deep = [0]
        self.lost = None
        # --calls-keep: a second tool id counting, in C, the calls past the cap
        self.counter = None
        # 3.12: the f_locals dicts read (fine mode), emptied at the next callback.
        # No trace callback writes them back into a frame here, so the frame's own
        # next callback may empty them too.
        self.locals_release = LocalsRelease()
        if fine is not None:
            fine.set_held(self.locals_release, track=LOCALS_SNAPSHOT)
        if counter_tool_id is not None and self.calls_keep:
            from now_tracer.callcounter import CallCounter

            self.counter = CallCounter(counter_tool_id)

    @property
    def active(self) -> bool:
        return self._state[0]

    def start(self) -> None:
        mon = _MON
        tid = self.tool_id
        E = mon.events
        callbacks = self._build() if self.fine is None else self._build_fine()
        for ev, cb in callbacks.items():
            mon.register_callback(tid, ev, cb)
        self._state[0] = True
        self._started = True
        # PY_UNWIND, PY_THROW and RAISE cannot be set per code object: global,
        # with callbacks that cost one dict lookup outside the project.
        mon.set_events(tid, E.PY_START | E.PY_UNWIND | E.PY_THROW | E.RAISE)
        if self.counter is not None:
            self.counter.start()

    def stop(self) -> None:
        self._state[0] = False
        if not self._started:
            return
        self._started = False
        mon = _MON
        tid = self.tool_id
        if self.counter is not None:
            self.counter.stop()
        for func, code, copy in self._splits:
            try:
                if func.__code__ is copy:
                    func.__code__ = code
            except Exception:
                pass
        try:
            mon.set_events(tid, 0)
            for code in list(self._codes.values()):
                if isinstance(code, list):
                    code = code[0]
                try:
                    mon.set_local_events(tid, code, 0)
                except Exception:
                    pass
            for ev in self._events():
                mon.register_callback(tid, ev, None)
        finally:
            try:
                mon.free_tool_id(tid)
            except Exception:
                pass

    def check_lost(self):
        """At exit: why the record misses events, or None."""
        if self.lost is None and self.deep[0]:
            self.lost = "%d trace events not recorded: the script ran within a few frames of the recursion limit" % self.deep[0]
        return self.lost

    def elided(self):
        """[(code, activations not recorded)] for the code objects over their cap."""
        counted = self.counter.counts() if self.counter is not None else {}
        copy_of = {id(copy): code for _, code, copy in self._splits}
        totals: dict = {}
        for key, c in list(self._codes.items()):
            if isinstance(c, list):
                n = c[2] + (counted.get(key, 0) if c[3] else 0)
                code = copy_of.get(key, c[0])  # a split's copy counts for its function's code
                totals[code] = totals.get(code, 0) + n
        return [(code, n) for code, n in totals.items() if n]

    def thread_starting(self, frame, thread_parents) -> None:
        """`frame` runs Thread.start: the thread's first project activation will have
        as parent the activation that called it."""
        t = frame.f_locals.get("self")
        if t is not None:
            act = self.current_activation(frame.f_back)
            if act is not None:
                thread_parents[id(t)] = act

    def current_activation(self, frame):
        return innermost_activation(self.frames, frame)

    def note_file(self, frame, access) -> None:
        """Fine mode: a file access opened while `frame` (or the nearest project
        frame under it) runs belongs to that activation's current statement."""
        e = innermost_entry(self.frames, frame)
        if e is not None and len(e) > 2:
            self.fine.note_file(e[2], access)

    # -- callbacks -------------------------------------------------------------------
    @staticmethod
    def _events():
        E = _MON.events
        return (E.PY_START, E.PY_RETURN, E.PY_YIELD, E.PY_RESUME, E.PY_THROW, E.PY_UNWIND, E.RAISE, E.LINE, E.JUMP)

    def _failed(self, exc: BaseException) -> None:
        try:
            self._warn("tracer error (ignored): %s: %s" % (type(exc).__name__, exc))
        except Exception:
            pass

    def _first_start(self, failed):
        """py_start's decision for a code object not yet among the project's,
        shared by the coarse and fine builders (once per code object: the code
        it DISABLEs never comes back). Returns True to start tracing the code,
        else what py_start returns: DISABLE (not the project's, or a skipped
        comprehension) or None (Thread.start, watched; or tracing stopped)."""
        core = self
        DISABLE = _MON.DISABLE
        is_project = self._is_project
        skipped = SKIPPED_NAMES
        state = self._state
        thread_parents = self.thread_parents
        getframe = sys._getframe
        deep = self.deep
        flags: dict = {}  # co_filename -> True / False / _THREADING

        def first_start(code):
            fn = code.co_filename
            flag = flags.get(fn)
            if flag is None:
                flags[fn] = flag = file_flag(is_project, fn, failed)
            if flag is not True:
                if code is _THREAD_START_CODE:
                    if state[0]:
                        try:
                            core.thread_starting(getframe(2), thread_parents)
                        except RecursionError:
                            deep[0] += 1  # no call here: the tracer's own frames are at the limit
                        except Exception as err:
                            failed(err)
                    return None
                return DISABLE
            if code.co_name in skipped:
                return DISABLE
            if not state[0]:
                return None
            return True

        return first_start

    def _build(self):
        mon = _MON
        E = mon.events
        tid = self.tool_id
        LOCAL = E.PY_RETURN | E.PY_YIELD | E.PY_RESUME
        set_local = mon.set_local_events
        rec = self.recorder
        frames = self.frames
        codes = self._codes
        thread_parents = self.thread_parents
        on_call = rec.on_call
        on_return = rec.on_return
        on_raise = rec.on_raise
        on_yield = rec.on_yield
        on_resume = rec.on_resume
        hidden = tbtrim.HIDDEN
        ours = tbtrim.is_tracer_code
        splice = tbtrim.splice
        state = self._state
        getframe = sys._getframe
        current_thread = threading.current_thread
        keep = self.calls_keep or sys.maxsize
        GEN = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator
        DISABLE = mon.DISABLE
        counter = self.counter
        count_end = counter.leave if counter is not None else None

        failed = self._failed

        deep = self.deep
        first_start = self._first_start(failed)
        stash = rec.stash

        def empty_args(code):
            # on_call read f_locals (3.12) of a function that rebinds a parameter:
            # nothing writes that dict back into the frame, so it can go now.
            d = stash[0]
            stash[0] = None
            clear_locals(d, local_names(code), 1)

        def start_activation(frame, code, c):
            parent = None
            f = frame.f_back
            while f is not None:
                pe = frames.get(id(f))
                if pe is not None and pe[1] is f.f_code:
                    parent = pe[0]
                    break
                f = f.f_back
            if parent is None and thread_parents:
                parent = thread_parents.get(id(current_thread()))
            c[1] += 1
            act = on_call(frame, parent)
            frames[id(frame)] = (act, code)
            if stash[0] is not None:
                empty_args(code)

        def live(code):
            """Is a recorded activation of code still in the frame table?"""
            for e in list(frames.values()):
                if e[1] is code:
                    return True
            return False

        splits = self._splits

        def split(code, c, frame):
            """The first call past the cap: from now on the function runs an
            identical copy of its code (code.replace(): same name, qualname,
            file, lines, bytecode), which the CallCounter counts in C from its
            very first call, and this tool's PY_START DISABLEs. The frames
            already running keep the original code and its events, so a recorded
            activation still running (fib(25) under its 242 784 descendants)
            still gets its return, and no activation of the copy ever started
            unseen by the counter, whatever the threads do (callcounter.py).
            Only a function found under its qualified name in the frame's
            globals is split (module functions, methods, static and class
            methods, through __wrapped__); others keep being counted here, as do
            generators and coroutines. stop() gives the function its code back."""
            c[7] = False  # tried once
            if c[5]:
                return
            func = function_of(code, frame)
            if func is None:
                return
            copy = code.replace()
            codes[id(copy)] = [copy, keep, 0, True, False, False, False, False]
            counter.add(copy)
            splits.append((func, code, copy))
            func.__code__ = copy
            c[7] = copy

        def py_start(code, offset):
            c = codes.get(id(code))
            if c is not None and c[0] is code:
                if c[1] >= keep:
                    # --calls-keep: this activation is counted, not recorded. A stale
                    # entry at a generator frame's address (one closed unseen) must not
                    # take its yields. Once no recorded activation of the code is live
                    # (looked at the first time and every 64th), its local events go
                    # off. At the first such call the function is split (above): its
                    # later calls run a copy, counted in C.
                    if c[3]:  # a split's copy, back here only after a restart_events()
                        return DISABLE
                    c[2] += 1
                    if c[6]:  # a generator, or local events still on
                        try:
                            if c[5]:
                                frames.pop(id(getframe(1)), None)
                            if c[4] and c[2] & 63 == 1 and not live(code):
                                c[4] = False
                                c[6] = c[5]
                                set_local(tid, code, 0)
                        except RecursionError:
                            deep[0] += 1  # no call here: the tracer's own frames are at the limit
                        except Exception as err:
                            failed(err)
                    if c[7] is None and counter is not None:
                        try:
                            split(code, c, getframe(1))
                        except RecursionError:
                            deep[0] += 1  # no call here: the tracer's own frames are at the limit
                        except Exception as err:
                            failed(err)
                    return None
                # the hot path of recorded activations: start_activation inlined
                if not state[0]:
                    return None
                try:
                    frame = getframe(1)
                    parent = None
                    f = frame.f_back
                    while f is not None:
                        pe = frames.get(id(f))
                        if pe is not None and pe[1] is f.f_code:
                            parent = pe[0]
                            break
                        f = f.f_back
                    if parent is None and thread_parents:
                        parent = thread_parents.get(id(current_thread()))
                    c[1] += 1
                    frames[id(frame)] = (on_call(frame, parent), code)
                    if stash[0] is not None:
                        empty_args(code)
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)
                return None
            go = first_start(code)
            if go is not True:
                return go
            try:
                codes[id(code)] = c = [code, 0, 0, False, True, bool(code.co_flags & GEN), True, None]
                set_local(tid, code, LOCAL)
                start_activation(getframe(1), code, c)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
            return None

        def py_return(code, offset, value):
            try:
                e = frames.pop(id(getframe(1)), None)
                if e is not None and e[1] is code and state[0]:
                    on_return(e[0], value)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_unwind(code, offset, exc):
            try:
                e = frames.pop(id(getframe(1)), None)
                if e is not None and e[1] is code:
                    if state[0]:
                        on_raise(e[0], exc)
                elif count_end is not None:
                    # PY_UNWIND cannot be the counter's per-code event: its end, by hand
                    c = codes.get(id(code))
                    if c is not None and c[3] and c[0] is code:
                        count_end(code, offset, exc)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_yield(code, offset, value):
            try:
                e = frames.get(id(getframe(1)))
                if e is not None and e[1] is code and state[0]:
                    on_yield(e[0], value)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def resumed(frame, code, thrown=False):
            e = frames.get(id(frame))
            if not state[0]:
                return
            if e is not None and e[1] is code:
                on_resume(e[0])
                return
            c = codes.get(id(code))
            if c is None or c[0] is not code:
                return
            if c[1] < keep:
                # a generator suspended before tracing started (or a reused id)
                start_activation(frame, code, c)
            elif thrown and not _META(code).is_resumption(frame.f_lasti):
                # thrown into a generator that never ran, over the cap: counted
                # (settrace sees a first `call` there)
                if e is not None:
                    frames.pop(id(frame), None)
                c[2] += 1
            # else: an unrecorded generator resuming, no event

        def py_resume(code, offset):
            try:
                resumed(getframe(1), code)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_throw(code, offset, exc):
            # An exception thrown into a generator (throw(), close()): settrace
            # reports a `call` there, so this is a resume — or the start of a
            # generator that never ran (of a code object already seen).
            c = codes.get(id(code))
            if c is not None and c[0] is code:
                try:
                    resumed(getframe(1), code, True)
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)

        def raised(code, offset, exc):
            # Not in the tracer's own frames: the exception still passes through
            # more of them (a wrapper's __call__), to be unlinked all at once.
            if hidden and not ours(code):
                try:
                    splice(exc, exc.__traceback__)
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)

        return {
            E.PY_START: py_start,
            E.PY_RETURN: py_return,
            E.PY_UNWIND: py_unwind,
            E.PY_YIELD: py_yield,
            E.PY_RESUME: py_resume,
            E.PY_THROW: py_throw,
            E.RAISE: raised,
        }

    # -- fine mode ------------------------------------------------------------------
    def _build_fine(self):
        """The coarse callbacks plus fine mode's hooks (kept apart, so coarse mode
        pays nothing for fine mode), reproducing what the settrace core's fine
        trace functions see:

        - `line` events: LINE switched on, per code object, for the code whose
          activations need them (statement scopes, fine.wants_lines), with JUMP
          for what settrace adds on top of LINE: a backward jump that stays on one
          line (a one-line loop) is a line event of that line. Other jumps return
          DISABLE at once and never come back (their direction and lines are fixed).
        - `exception` events: RAISE, which fires in every frame an exception
          passes through, as settrace's `exception` does; a StopIteration that
          only ends a loop or a `yield from`/`await` is ignored, as there
          (STOP_ITERATION, which 3.13's settrace also reports, is always such a
          one, so it is not asked for).

        A frame entry here is [activation, code, fine state].
        """
        mon = _MON
        E = mon.events
        DISABLE = mon.DISABLE
        tid = self.tool_id
        LOCAL = E.PY_RETURN | E.PY_YIELD | E.PY_RESUME
        LINES = E.LINE | E.JUMP
        set_local = mon.set_local_events
        rec = self.recorder
        fine = self.fine
        frames = self.frames
        codes = self._codes
        thread_parents = self.thread_parents
        on_call = rec.on_call
        on_return = rec.on_return
        on_raise = rec.on_raise
        on_yield = rec.on_yield
        on_resume = rec.on_resume
        enter = fine.enter
        close = fine.close
        snapshot = fine.snapshot
        f_returned = fine.returned
        f_ended = fine.ended
        f_yielded = fine.yielded
        note_call = fine.note_call
        unknown_once = fine.unknown_once
        wants_lines = fine.wants_lines
        blank = fine.blank
        hidden = tbtrim.HIDDEN
        ours = tbtrim.is_tracer_code
        splice = tbtrim.splice
        state = self._state
        getframe = sys._getframe
        current_thread = threading.current_thread
        metas: dict = {}  # id(code) -> (code, co_code, {offset: line})

        failed = self._failed

        deep = self.deep
        first_start = self._first_start(failed)
        stash = rec.stash
        release = self.locals_release.release
        pend = self.locals_release.pend
        held = self.locals_release.held
        get_ident = threading.get_ident

        def meta_of(code):
            m = metas.get(id(code))
            if m is None or m[0] is not code:
                lines = {}
                for start, end, line in code.co_lines():
                    for off in range(start, end, 2):
                        lines[off] = line
                m = metas[id(code)] = (code, code.co_code, lines)
            return m

        def start_activation(frame, code):
            parent = None
            pst = None
            f = frame.f_back
            while f is not None:
                pe = frames.get(id(f))
                if pe is not None and pe[1] is f.f_code:
                    parent = pe[0]
                    pst = pe[2]
                    break
                f = f.f_back
            if parent is None and thread_parents:
                parent = thread_parents.get(id(current_thread()))
            if LOCALS_SNAPSHOT and pst is not None and pst.loc is not None:
                # The caller's f_locals snapshot (its statements' reads) goes while
                # it waits for this call, as under settrace.
                d = pst.loc
                pst.loc = None
                if pst.code is not None and pst.code.names is not None:
                    clear_locals(d, pst.code.names, 1)
                d = None
            act = on_call(frame, parent)
            stash[0] = None  # enter() reads the parameters too: LocalsRelease has the dict
            try:
                st = enter(frame, act, pst, code)
            except RecursionError:
                raise  # counted by the callback
            except Exception as err:
                failed(err)
                st = blank(act)
            frames[id(frame)] = [act, code, st]

        def py_start(code, offset):
            if pend:
                release(None)
            if codes.get(id(code)) is code:
                if state[0]:
                    try:
                        start_activation(getframe(1), code)
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                return None
            go = first_start(code)
            if go is not True:
                return go
            try:
                codes[id(code)] = code
                events = LOCAL
                try:
                    if wants_lines(code):
                        events |= LINES
                except RecursionError:
                    raise  # counted by the callback
                except Exception as err:
                    failed(err)
                    events |= LINES
                set_local(tid, code, events)
                start_activation(getframe(1), code)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
            return None

        def on_line(frame, e, L):
            # settrace's fine trace function for a `line` event (core_settrace.make_tracer)
            st = e[2]
            table = st.table
            if table is None:
                if st.reason is not None:
                    unknown_once(st, L, st.reason)
                return
            g = table.get(L)
            if g is None:
                return
            cur = st.cur
            if g is cur:
                if L != g[0]:  # a continuation line of the same statement
                    st.cont = True
                    return
                if st.cont:  # back at its first line (3.11+ positions)
                    st.cont = False
                    return
                if not g[3]:  # only a one-line loop runs a line again
                    return
            if cur is not None and cur[6]:
                close(st, frame, cur, L)
            elif LOCALS_SNAPSHOT and st.ns is None and frame.f_code.co_flags & _CO_OPTIMIZED:
                # as line() below
                st.loc = frame.f_locals
                if id(frame) not in pend:
                    held(frame, st.loc)
            st.cur = g
            st.cont = L != g[0]
            st.calls = None
            st.files = None
            st.exc = False
            if g[7]:
                snapshot(st, frame, g)

        def line(code, L):
            # on_line inlined (this runs for every line of project code). Never
            # DISABLE here: that would switch the line off for every frame.
            try:
                if pend:
                    # in the try: at the recursion limit, calling it raises
                    release(None)
                frame = getframe(1)
                e = frames.get(id(frame))
                if e is None or e[1] is not code:
                    return
                st = e[2]
                table = st.table
                if table is None:
                    if st.reason is not None:
                        unknown_once(st, L, st.reason)
                    return
                g = table.get(L)
                if g is None:
                    return
                cur = st.cur
                if g is cur:
                    if L != g[0]:
                        st.cont = True
                        return
                    if st.cont:
                        st.cont = False
                        return
                    if not g[3]:
                        return
                if cur is not None and cur[6]:
                    close(st, frame, cur, L)
                elif LOCALS_SNAPSHOT and st.ns is None and code.co_flags & _CO_OPTIMIZED:
                    # 3.12, as the settrace core's fine trace function: the snapshot
                    # fine mode's last read left (st.loc, which release() leaves
                    # alone) may hold what the statement that just ended deleted or
                    # rebound (`del x`): read again, which drops it, before the next
                    # statement can look (a weakref, a count); read at every
                    # statement, so a count the script takes in this frame sees the
                    # same snapshot each time. Inline: no frame more near the limit.
                    d = st.loc = frame.f_locals
                    if d.__class__ is dict:  # held(), inline
                        pend[id(frame)] = (d, code, get_ident())
                    d = None
                st.cur = g
                st.cont = L != g[0]
                st.calls = None
                st.files = None
                st.exc = False
                if g[7]:
                    snapshot(st, frame, g)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def jump(code, src, dst):
            if dst > src:
                return DISABLE
            try:
                lines = meta_of(code)[2]
                to_line = lines.get(dst)
                if to_line is None or to_line != lines.get(src):
                    return DISABLE  # a new line: LINE reports it
                frame = getframe(1)
                e = frames.get(id(frame))
                if e is not None and e[1] is code:
                    on_line(frame, e, to_line)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
            return None

        def py_return(code, offset, value):
            try:
                frame = getframe(1)
                e = frames.pop(id(frame), None)
                if e is not None and e[1] is code and state[0]:
                    try:
                        f_returned(e[2], frame, value)
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                    if pend:
                        pend.pop(id(frame), None)
                    on_return(e[0], value)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_unwind(code, offset, exc):
            try:
                frame = getframe(1)
                e = frames.pop(id(frame), None)
                if e is not None and e[1] is code and state[0]:
                    try:
                        f_ended(e[2], frame)
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                    if pend:
                        pend.pop(id(frame), None)
                    on_raise(e[0], exc)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_yield(code, offset, value):
            try:
                frame = getframe(1)
                e = frames.get(id(frame))
                if e is not None and e[1] is code and state[0]:
                    try:
                        f_yielded(e[2])
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                    on_yield(e[0], value)
                    st = e[2]
                    d = st.loc
                    if d is not None and st.code is not None and st.code.names is not None:
                        # Suspended: its snapshot goes at the next callback (as under settrace)
                        st.loc = None
                        pend[id(frame)] = (d, code, get_ident())
                    d = None
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def resumed(frame, code):
            if not state[0]:
                return
            e = frames.get(id(frame))
            if e is not None and e[1] is code:
                on_resume(e[0])
                # The statement that resumes it consumes what it yields (a
                # generator expression's work is already routed there).
                f = frame.f_back if e[2].kind != "g" else None
                while f is not None:
                    pe = frames.get(id(f))
                    if pe is not None and pe[1] is f.f_code:
                        try:
                            note_call(pe[2], e[0])
                        except RecursionError:
                            deep[0] += 1  # no call here: the tracer's own frames are at the limit
                        except Exception as err:
                            failed(err)
                        break
                    f = f.f_back
            else:
                start_activation(frame, code)

        def py_resume(code, offset):
            try:
                resumed(getframe(1), code)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        def py_throw(code, offset, exc):
            if codes.get(id(code)) is code:
                try:
                    resumed(getframe(1), code)
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)

        def loop_exit(code, offset, st):
            """A StopIteration that only ends a `for` loop (or an inlined
            comprehension), a `yield from` or an `await` does not abort the statement."""
            try:
                if meta_of(code)[1][offset] in _ITER_OPS:
                    return True
            except IndexError:
                pass
            cur = st.cur
            return cur is not None and any(t[10] == "for" for part in cur[1] for t in part[0])

        def raised(code, offset, exc):
            try:
                if frames:
                    e = frames.get(id(getframe(1)))
                    if e is not None and e[1] is code:
                        tp = type(exc)
                        st = e[2]
                        if not ((tp is StopIteration or tp is StopAsyncIteration) and loop_exit(code, offset, st)):
                            st.exc = True
                if hidden and not ours(code):
                    splice(exc, exc.__traceback__)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)

        return {
            E.PY_START: py_start,
            E.PY_RETURN: py_return,
            E.PY_UNWIND: py_unwind,
            E.PY_YIELD: py_yield,
            E.PY_RESUME: py_resume,
            E.PY_THROW: py_throw,
            E.RAISE: raised,
            E.LINE: line,
            E.JUMP: jump,
        }
