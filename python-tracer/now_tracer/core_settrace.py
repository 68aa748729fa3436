"""The sys.settrace core: turns CPython's trace events into activation events.

A core only decides *what happened* to which frame (call, return, raise,
yield, resume) and hands that to the recorder through five methods:

    on_call(frame, parent_id) -> activation id
    on_return(act, value) / on_raise(act, exc) / on_yield(act, value) / on_resume(act)

so that a sys.monitoring core (3.12+) can replace this one without touching
the recorder.

Why settrace with `f_trace_lines = False`: the global trace function runs for
every call; for frames outside the project it returns None at once (one dict
lookup on co_filename), so library code runs without a local trace function
and no line events are ever generated — the cost is one C->Python call per
function call, plus our work for project frames only.

Telling returns, raises and yields apart: settrace reports all three as a
`return` event (with value None for an exception). We look at the opcode at
`frame.f_lasti`: RETURN_VALUE/RETURN_CONST is a normal return; YIELD_VALUE
(3.11, 3.12), RESUME after the first one (3.13 reports a yield at the
following RESUME), or YIELD_FROM at the next instruction (3.8-3.10, yield
from/await) is a yield; anything else after an `exception` event in that frame
is an exception leaving it. An exception thrown into a generator (close(),
throw(), contextmanager) is reported at the yield instruction itself; we
count it as leaving the frame when the `return` event comes at the very
instruction of the last `exception` event, with no activation started in
between, and value None.

Generator resumes are `call` events on a frame we already know, at an
f_lasti past the start of the code: they become `resume` of the same
activation. Frames are keyed by id() (we never keep the frame alive: 3.13
closes a generator suspended outside any try block without any trace event,
and keeping such frames would leak them), and each entry remembers its code
object so a reused id is never mistaken for a known frame.

Parents: the nearest known frame down the f_back chain (this also gives a
generator the activation that first ran it). A thread's first project call
has no such frame: its parent is the activation that called Thread.start()
(seen through the `call` event of threading.Thread.start, the one library
frame the global trace function looks at).

Coarse mode with --calls-keep K: past a code object's first K activations,
the global trace function only counts a call and returns None (no local trace
function); a call event of such a generator at a resume point is ignored.
Fine mode ignores K.

Errors in the tracer never leave a trace function (CPython would switch
tracing off): they become one `warning` each; a RecursionError (the script
near the recursion limit) is only counted, since nothing can be called then,
and the trial says how many events it lost (check_lost). Signal handlers do
not run inside the trace functions on 3.11+ (signals.py). What still leaves
one — a RecursionError at the trace function's own first frame, a
KeyboardInterrupt or a handler's exception on 3.8-3.10 — makes CPython switch
tracing off for the thread: the script gets the exception, and at exit the
trial is `incomplete` with the reason (check_lost). A script's own
sys.settrace ends the recording cleanly (step_aside, takeover.py).
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import sys
import threading
import weakref

try:
    # 3.13+: the table opcode.opmap is, without the rest of opcode.py (~0.5 ms of
    # every start); before 3.13 there is no _opcode_metadata with it.
    from _opcode_metadata import opmap as _OP
except ImportError:
    from opcode import opmap as _OP

from now_tracer import takeover, tbtrim
from now_tracer.recorder import _CO_OPTIMIZED, _WRITEBACK_ALWAYS, LOCALS_SNAPSHOT, LocalsRelease, clear_locals, local_names
from now_tracer.signals import FROM_HANDLER

# Taken before the script runs: the script may replace sys.settrace (takeover.py).
_settrace = sys.settrace
_gettrace = sys.gettrace
current_thread = threading.current_thread
_get_ident = threading.get_ident

_PRE_311 = sys.version_info < (3, 11)
RETURN_VALUE = _OP["RETURN_VALUE"]
RETURN_CONST = _OP.get("RETURN_CONST", -1)
YIELD_VALUE = _OP["YIELD_VALUE"]
YIELD_FROM = _OP.get("YIELD_FROM", -1)
RESUME = _OP.get("RESUME", -1)
# Where a StopIteration only ends a loop or a `yield from`/`await` (fine mode:
# the statement goes on; the probe of these opcodes is in NOTES-fine.md).
_ITER_OPS = frozenset(
    _OP[n] for n in ("FOR_ITER", "YIELD_FROM", "SEND", "END_SEND", "CLEANUP_THROW", "END_ASYNC_FOR") if n in _OP
)

_GEN_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # GENERATOR, COROUTINE, ITERABLE_COROUTINE, ASYNC_GENERATOR
# 3.12 inlines list/set/dict comprehensions; skipping their frames elsewhere
# gives the same activations on every version.
SKIPPED_NAMES = frozenset(("<listcomp>", "<setcomp>", "<dictcomp>"))

_THREAD_START_CODE = threading.Thread.start.__code__
_THREADING_FILE = _THREAD_START_CODE.co_filename
_THREADING = 2  # file-flag value: not traced, but watch Thread.start there


def innermost_entry(frames, frame):
    """The entry of the nearest frame down the stack that a core knows, or None.
    `frames` maps id(frame) to an entry [activation, code, …]; the code check keeps a
    reused id from passing for a known frame."""
    while frame is not None:
        e = frames.get(id(frame))
        if e is not None and e[1] is frame.f_code:
            return e
        frame = frame.f_back
    return None


def innermost_activation(frames, frame):
    """The activation of the nearest frame down the stack that a core knows, or None."""
    e = innermost_entry(frames, frame)
    return None if e is None else e[0]


def file_flag(is_project, filename, failed):
    """Whether a file's code is traced: True (the project's), False (not), or
    _THREADING for threading.py, whose Thread.start is watched for thread parents.
    Both cores cache this per co_filename."""
    try:
        flag = bool(is_project(filename))
    except Exception as err:
        failed(err)
        flag = False
    if not flag and filename == _THREADING_FILE:
        flag = _THREADING
    return flag


def exc_keeper(exc_json):
    """keep(exc): what a frame entry remembers of the last exception that passed
    through the frame, until the frame returns (to tell a raise from a return):
    never the exception itself, which would keep it, its traceback and every frame
    and local of that traceback alive after the script's `except` let go of it. A
    weak reference if it takes one (user exception classes), else its rendered
    text (exc_json(exc), a str) now; a SystemExit itself."""

    ref = weakref.ref

    def keep(exc):
        if exc.__class__ is SystemExit:
            # The program is ending: its code is what the trial's end needs
            # (trial.py), and nothing is kept alive past what CPython keeps.
            return lambda: exc
        try:
            return ref(exc)
        except TypeError:
            return exc_json(exc)

    return keep


def _kept(k):
    """What exc_keeper kept, back: the rendered text, or the exception if it lives."""
    return k if k.__class__ is str else k()


class _CodeMeta:
    __slots__ = ("code", "is_gen", "co_code", "first_resume")

    def __init__(self, code) -> None:
        self.code = code
        self.is_gen = bool(code.co_flags & _GEN_FLAGS)
        self.co_code = code.co_code
        first = -1
        if RESUME >= 0:
            co = self.co_code
            for i in range(0, len(co), 2):
                if co[i] == RESUME:
                    first = i
                    break
        self.first_resume = first

    def is_resumption(self, lasti: int) -> bool:
        """Is a `call` event at this f_lasti a generator resuming (not starting)?"""
        if _PRE_311:
            return lasti >= 0
        return lasti > self.first_resume

    def at_yield(self, lasti: int) -> bool:
        co = self.co_code
        if lasti < 0 or lasti >= len(co):
            return False
        op = co[lasti]
        if op == YIELD_VALUE:
            return True
        if _PRE_311:
            return lasti + 2 < len(co) and co[lasti + 2] == YIELD_FROM
        return op == RESUME and lasti > self.first_resume


class SettraceCore:
    name = "settrace"

    def __init__(self, recorder, is_project, warn, fine=None, calls_keep=0) -> None:
        self.recorder = recorder
        # coarse mode: activations recorded per code object (0: all); the others counted
        self.calls_keep = calls_keep if (calls_keep and fine is None) else 0
        # id(code) -> [code, activations recorded, activations not recorded]
        self.calls: dict = {}
        # fine.FineRecorder in fine mode: line events and values (see _build_fine)
        self.fine = fine
        self._is_project = is_project
        self._warn = warn
        # id(frame) -> [activation, code, exc_value, exc_lasti, exc_mark, meta]
        self.frames: dict = {}
        self.thread_parents: dict = {}
        self._state = [False]  # [active]: a list cell, cheap to read in the trace functions
        self._global = None
        # why recording ended before the end (step_aside, check_lost), or None
        self.lost = None
        # events skipped because the tracer's own frames hit the recursion limit
        self.deep = [0]
        self._codes = frozenset()  # code objects of this core's trace functions
        self.locals_release = LocalsRelease()
        if fine is not None:
            # 3.8-3.10: every callback refills a frame's dict anyway, so fine mode's
            # reads are told to LocalsRelease, emptied at the next callback elsewhere.
            fine.set_held(self.locals_release, track=_WRITEBACK_ALWAYS)

    # -- public ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._state[0]

    def start(self) -> None:
        self._global = self._build() if self.fine is None else self._build_fine()
        self._state[0] = True
        threading.settrace(self._global)
        _settrace(self._global)
        takeover.watch(self)

    def step_aside(self, reason: str) -> None:
        """The script installs its own trace function (sys.settrace): recording
        ends here, said in the log, and no frame keeps a trace of ours that could
        change what the script's function observes (CPython calls a frame's
        f_trace, not the new global function, for frames already running)."""
        if not self._state[0]:
            return
        self.lost = reason
        self._state[0] = False
        if getattr(threading, "_trace_hook", None) is self._global:
            threading.settrace(None)  # type: ignore[arg-type]
        takeover.untrace_frames(self.frames, self._is_ours)

    def _is_ours(self, f) -> bool:
        """Whether a frame's f_trace is one of this core's (or none)."""
        t = f.f_trace
        return t is None or getattr(t, "__code__", None) in self._codes

    def check_lost(self):
        """At exit: a reason if tracing ended without the tracer knowing it. On
        3.8-3.11 an exception leaving the trace function (a RecursionError at its
        very first line) makes CPython switch tracing off for the thread; on any
        version recording may have skipped events near the recursion limit."""
        if self.lost is None and self._state[0] and _gettrace() is not self._global:
            self.lost = "tracing was switched off by Python (an exception left the trace function); nothing recorded after that"
        if self.lost is None and self.deep[0]:
            self.lost = "%d trace events not recorded: the script ran within a few frames of the recursion limit" % self.deep[0]
        return self.lost

    def stop(self) -> None:
        """Any thread, also from inside a trace function (the log failed, the
        parent died): the others untrace themselves at their next project call."""
        self._state[0] = False
        _settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        if sys.version_info < (3, 10):
            self._untrace_frames()

    def _untrace_frames(self) -> None:
        """Before 3.10 a frame with a trace function reports, in tracebacks, the
        line its last trace event saw: with tracing off that line goes stale (a
        script that goes on after recording stopped would show wrong lines). The
        frames still running lose their trace function."""
        frames = self.frames
        try:
            tops = list(sys._current_frames().values())
        except Exception:
            return
        for f in tops:
            while f is not None:
                e = frames.get(id(f))
                if e is not None and e[1] is f.f_code:
                    f.f_trace = None
                f = f.f_back

    def elided(self):
        """[(code, activations not recorded)] for the code objects over their cap."""
        return [(c[0], c[2]) for c in list(self.calls.values()) if c[2]]

    def current_activation(self, frame):
        """Innermost known activation on this frame's stack (or None)."""
        return innermost_activation(self.frames, frame)

    def note_file(self, frame, access) -> None:
        """Fine mode: a file access opened while `frame` (or the nearest project
        frame under it) runs belongs to that activation's current statement."""
        e = innermost_entry(self.frames, frame)
        if e is not None and len(e) > 6:
            self.fine.note_file(e[6], access)

    # -- the trace functions -----------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        if FROM_HANDLER and FROM_HANDLER.pop(id(exc), None) is exc:
            raise exc  # the script's signal handler's, not ours (signals.py, 3.8-3.10)
        self._warn("tracer error (ignored): %s: %s" % (type(exc).__name__, exc))

    @staticmethod
    def _meta_cache():
        """meta_of(code): the code object's _CodeMeta, made once per code object
        (one cache per set of trace functions)."""
        metas: dict = {}

        def meta_of(code):
            meta = metas.get(id(code))
            if meta is None or meta.code is not code:
                meta = _CodeMeta(code)
                metas[id(code)] = meta
            return meta

        return meta_of

    def _build(self):
        rec = self.recorder
        frames = self.frames
        flags: dict = {}
        skipped = SKIPPED_NAMES
        thread_parents = self.thread_parents
        on_call = rec.on_call
        on_return = rec.on_return
        on_raise = rec.on_raise
        on_yield = rec.on_yield
        on_resume = rec.on_resume
        RET_OPS = (RETURN_VALUE, RETURN_CONST)
        hidden = tbtrim.HIDDEN
        splice = tbtrim.splice
        counter = [0]  # activations started by this core (the throw heuristic)
        state = self._state
        keep = self.calls_keep or sys.maxsize
        calls = self.calls

        failed = self._failed

        deep = self.deep
        meta_of = self._meta_cache()
        keep_exc = exc_keeper(rec.exc_json)
        stash = rec.stash
        release = self.locals_release.release
        pend = self.locals_release.pend
        one_shot = not _WRITEBACK_ALWAYS


        # A frame entry: [activation, code, last exception (exc_keeper), its f_lasti,
        # activations started before it, is generator/coroutine, f_locals snapshot
        # to empty at the first line event].
        def local_trace(frame, event, arg):
            if pend:
                release(id(frame))
            if event == "return":
                try:
                    key = id(frame)
                    e = frames.get(key)
                    if e is None or not state[0]:
                        return None
                    exc = e[2]
                    if pend:
                        pend.pop(key, None)  # (a yield: the next callback elsewhere empties it)
                    if not e[5]:
                        del frames[key]
                        if exc is None or meta_of(e[1]).co_code[frame.f_lasti] in RET_OPS:
                            on_return(e[0], arg)
                        else:
                            on_raise(e[0], _kept(exc))
                        return None
                    meta = meta_of(e[1])
                    lasti = frame.f_lasti
                    if meta.co_code[lasti] in RET_OPS:
                        del frames[key]
                        on_return(e[0], arg)
                    elif meta.at_yield(lasti) and not (
                        exc is not None and arg is None and e[3] == lasti and e[4] == counter[0]
                    ):
                        e[2] = None
                        on_yield(e[0], arg)
                    else:
                        del frames[key]
                        if exc is not None:
                            on_raise(e[0], _kept(exc))
                        else:
                            on_return(e[0], arg)
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)
                return None
            if event == "exception":
                try:
                    e = frames.get(id(frame))
                    if e is not None:
                        e[2] = keep_exc(arg[1])
                        e[3] = frame.f_lasti
                        e[4] = counter[0]
                    if hidden:
                        splice(arg[1], arg[2])
                    if not one_shot:
                        # 3.8-3.10: this callback filled f_locals with every local,
                        # which the dict then holds (`obj = None` after an except
                        # would not free obj): line events from here on refill it
                        # as the frame goes, as fine mode does.
                        frame.f_trace_lines = True
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)
                return local_trace
            if event == "line":
                # The one line event asked for at the call (below): the call's
                # snapshot of the arguments is emptied before the body runs. No
                # script code ran since that callback, so f_locals was not read
                # since and this callback's write-back does nothing (3.11+).
                if not one_shot:
                    return local_trace  # 3.8-3.10: the refill before this callback was the point
                try:
                    frame.f_trace_lines = False
                    e = frames.get(id(frame))
                    if e is not None and e[6] is not None:
                        d = e[6]
                        e[6] = None
                        clear_locals(d, local_names(e[1]), 1)
                except Exception as err:
                    failed(err)
            return local_trace

        def global_trace(frame, event, arg):
            code = frame.f_code
            flag = flags.get(code.co_filename)
            if flag is not True:
                if flag is None:
                    flag = classify(code.co_filename)
                if flag is not True:
                    if flag is False:
                        return None
                    return _thread_start(frame, code)
            if not state[0]:
                # Recording stopped, maybe from another thread: untrace this one.
                _settrace(None)
                return None
            if code.co_name in skipped:
                return None
            if pend:
                release(id(frame))
            try:
                frame.f_trace_lines = False
                key = id(frame)
                e = frames.get(key)
                if e is not None and e[5] and e[1] is code and meta_of(code).is_resumption(frame.f_lasti):
                    e[2] = None
                    on_resume(e[0])
                    return local_trace if state[0] else None  # see below
                # --calls-keep: past the first `keep` activations of a code
                # object, an activation is counted, not recorded, and gets no
                # local trace function (its returns, yields, resumes: no events).
                c = calls.get(id(code))
                if c is None or c[0] is not code:
                    c = calls[id(code)] = [code, 0, 0]
                if c[1] >= keep:
                    if e is not None:
                        del frames[key]  # a stale entry (a generator closed unseen)
                    if code.co_flags & _GEN_FLAGS and meta_of(code).is_resumption(frame.f_lasti):
                        return None  # an unrecorded generator resuming
                    counter[0] += 1
                    c[2] += 1
                    return None
                c[1] += 1
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
                counter[0] += 1
                act = on_call(frame, parent)
                e = [act, code, None, -1, 0, code.co_flags & _GEN_FLAGS, None]
                frames[key] = e
                d = stash[0]
                if d is not None:
                    # on_call read f_locals of a function that rebinds a parameter:
                    # that snapshot must go before the body rebinds it.
                    stash[0] = None
                    if one_shot:
                        e[6] = d
                        frame.f_trace_lines = True
                    else:
                        # 3.8-3.10: every callback of the frame refills the snapshot and
                        # writes it back, so it cannot be emptied in one: emptied at the
                        # next callback elsewhere. A function's caller holds its
                        # arguments till it returns, not a generator's: there, line
                        # events refill it as the frame goes (a script's `locals()`
                        # dict is then refilled too, as fine mode does).
                        pend[key] = (d, code, _get_ident())
                        if e[5]:
                            frame.f_trace_lines = True
                    d = None
                # on_call may have stopped recording (the log failed): then the
                # frame must not get a trace function (see stop).
                return local_trace if state[0] else None
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
                return None

        classify, _thread_start = self._shared_hooks(flags, failed)
        self._codes = frozenset((global_trace.__code__, local_trace.__code__))
        return global_trace

    def _shared_hooks(self, flags: dict, failed):
        """What both sets of trace functions need and neither calls often: the per-file
        decision (cached in `flags`) and the watch on Thread.start."""
        core = self
        is_project = self._is_project
        state = self._state
        thread_parents = self.thread_parents
        deep = self.deep

        def classify(fn):
            flags[fn] = flag = file_flag(is_project, fn, failed)
            return flag

        def thread_start(frame, code):
            # Thread.start() called: remember which activation started the
            # thread, to be the parent of the thread's first project calls.
            if code is _THREAD_START_CODE and state[0]:
                try:
                    t = frame.f_locals.get("self")
                    if t is not None:
                        act = core.current_activation(frame.f_back)
                        if act is not None:
                            thread_parents[id(t)] = act
                except RecursionError:
                    deep[0] += 1  # no call here: the tracer's own frames are at the limit
                except Exception as err:
                    failed(err)
            return None

        return classify, thread_start

    # -- fine mode ------------------------------------------------------------------
    def _build_fine(self):
        """The same classification of calls, returns, raises, yields and resumes
        as _build (kept separate so that coarse mode pays nothing for fine mode),
        plus: line events for statement scopes (module, class body, function),
        one trace function per activation closing over its frame entry and its
        fine state, and the fine recorder's hooks.

        A frame entry here is [activation, code, last exception, its f_lasti,
        activations started before it, is generator, fine state, trace function].
        """
        rec = self.recorder
        fine = self.fine
        frames = self.frames
        flags: dict = {}
        skipped = SKIPPED_NAMES
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
        RET_OPS = (RETURN_VALUE, RETURN_CONST)
        hidden = tbtrim.HIDDEN
        splice = tbtrim.splice
        counter = [0]
        state = self._state

        failed = self._failed

        deep = self.deep
        meta_of = self._meta_cache()
        keep_exc = exc_keeper(rec.exc_json)
        stash = rec.stash
        release = self.locals_release.release
        pend = self.locals_release.pend
        refresh = not _WRITEBACK_ALWAYS and LOCALS_SNAPSHOT
        ident = _get_ident


        def loop_exit(frame, st, code):
            """A StopIteration that only ends a `for` loop (or a comprehension
            inlined in this frame, 3.12+), a `yield from` or an `await` does not
            abort the statement."""
            try:
                if meta_of(code).co_code[frame.f_lasti] in _ITER_OPS:
                    return True
            except IndexError:
                pass
            cur = st.cur
            return cur is not None and any(t[10] == "for" for part in cur[1] for t in part[0])

        def end_ok(st, frame, value):
            try:
                f_returned(st, frame, value)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
            if pend:
                pend.pop(id(frame), None)

        def end_raised(st, frame):
            try:
                f_ended(st, frame)
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
            if pend:
                pend.pop(id(frame), None)

        def make_tracer(e, st, key):
            table = st.table
            optimized = refresh and bool(e[1].co_flags & _CO_OPTIMIZED)

            # `return e[7]`, not `return tr`: a function naming itself is a reference
            # cycle (tr -> its closure cell -> tr) that gc.collect() would count as
            # garbage once the frame ends; e[7] is let go when the frame ends.
            def tr(frame, event, arg):
                if pend:
                    release(key)
                if event == "line":
                    try:
                        L = frame.f_lineno
                        if table is None:
                            if st.reason is not None:
                                unknown_once(st, L, st.reason)
                            return e[7]
                        g = table.get(L)
                        if g is None:
                            return e[7]
                        cur = st.cur
                        if g is cur:
                            if L != g[0]:  # a continuation line of the same statement
                                st.cont = True
                                return e[7]
                            if st.cont:  # back at its first line (3.11+ positions)
                                st.cont = False
                                return e[7]
                            if not g[3]:  # only a one-line loop runs a line again
                                return e[7]
                        if cur is not None and cur[6]:
                            close(st, frame, cur, L)
                        elif optimized:
                            # The snapshot an earlier read left may hold what the
                            # statement that just ended deleted or rebound (`del x`):
                            # read again, which drops it, before the next statement
                            # can look (a weakref, a count). Read at every statement,
                            # so a count the script takes in this frame sees the same
                            # snapshot each time.
                            st.loc = frame.f_locals
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
                    return e[7]
                if event == "return":
                    if not state[0]:
                        return None
                    try:
                        exc = e[2]
                        if not e[5]:
                            frames.pop(id(frame), None)
                            e[7] = None  # the entry and its trace function refer to each other: no cycle left for gc to count
                            if exc is None or meta_of(e[1]).co_code[frame.f_lasti] in RET_OPS:
                                end_ok(st, frame, arg)
                                on_return(e[0], arg)
                            else:
                                end_raised(st, frame)
                                on_raise(e[0], _kept(exc))
                            return None
                        meta = meta_of(e[1])
                        lasti = frame.f_lasti
                        if meta.co_code[lasti] in RET_OPS:
                            frames.pop(id(frame), None)
                            e[7] = None  # the entry and its trace function refer to each other: no cycle left for gc to count
                            end_ok(st, frame, arg)
                            on_return(e[0], arg)
                        elif meta.at_yield(lasti) and not (
                            exc is not None and arg is None and e[3] == lasti and e[4] == counter[0]
                        ):
                            e[2] = None
                            try:
                                f_yielded(st)
                            except RecursionError:
                                deep[0] += 1  # no call here: the tracer's own frames are at the limit
                            except Exception as err:
                                failed(err)
                            on_yield(e[0], arg)
                            # Suspended: its snapshot goes at the next callback of
                            # another frame (the consumer's next statement, most often).
                            d = st.loc
                            if d is not None and st.code is not None and st.code.names is not None:
                                st.loc = None
                                pend[key] = (d, e[1], ident())
                        else:
                            frames.pop(id(frame), None)
                            e[7] = None  # the entry and its trace function refer to each other: no cycle left for gc to count
                            if exc is not None:
                                end_raised(st, frame)
                                on_raise(e[0], _kept(exc))
                            else:
                                end_ok(st, frame, arg)
                                on_return(e[0], arg)
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                    return None
                if event == "exception":
                    try:
                        ev = arg[1]
                        e[2] = keep_exc(ev)
                        e[3] = frame.f_lasti
                        e[4] = counter[0]
                        tp = type(ev)
                        if not ((tp is StopIteration or tp is StopAsyncIteration) and loop_exit(frame, st, e[1])):
                            st.exc = True
                        if hidden:
                            splice(arg[1], arg[2])
                    except RecursionError:
                        deep[0] += 1  # no call here: the tracer's own frames are at the limit
                    except Exception as err:
                        failed(err)
                return e[7]

            return tr

        def global_trace(frame, event, arg):
            code = frame.f_code
            flag = flags.get(code.co_filename)
            if flag is not True:
                if flag is None:
                    flag = classify(code.co_filename)
                if flag is not True:
                    if flag is False:
                        return None
                    return _thread_start(frame, code)
            if not state[0]:
                _settrace(None)  # recording stopped, maybe from another thread
                return None
            if code.co_name in skipped:
                return None
            if pend:
                release(id(frame))
            try:
                key = id(frame)
                e = frames.get(key)
                if e is not None and e[5] and e[1] is code and meta_of(code).is_resumption(frame.f_lasti):
                    e[2] = None
                    on_resume(e[0])
                    # The statement that resumes it consumes what it yields (a
                    # generator expression's work is already routed there).
                    f = frame.f_back if e[6].kind != "g" else None
                    while f is not None:
                        pe = frames.get(id(f))
                        if pe is not None and pe[1] is f.f_code:
                            try:
                                note_call(pe[6], e[0])
                            except RecursionError:
                                deep[0] += 1  # no call here: the tracer's own frames are at the limit
                            except Exception as err:
                                failed(err)
                            break
                        f = f.f_back
                    return e[7]
                parent = None
                pst = None
                f = frame.f_back
                while f is not None:
                    pe = frames.get(id(f))
                    if pe is not None and pe[1] is f.f_code:
                        parent = pe[0]
                        pst = pe[6]
                        break
                    f = f.f_back
                if parent is None and thread_parents:
                    parent = thread_parents.get(id(current_thread()))
                if pst is not None and pst.loc is not None:
                    # The caller's f_locals snapshot (its statements' reads) goes while
                    # it waits for this call (see recorder.LocalsRelease).
                    d = pst.loc
                    pst.loc = None
                    if pst.code is not None and pst.code.names is not None:
                        clear_locals(d, pst.code.names, 1)
                    d = None
                counter[0] += 1
                act = on_call(frame, parent)
                stash[0] = None  # enter() keeps the dict it reads the parameters from
                try:
                    st = enter(frame, act, pst, code)
                except RecursionError:
                    raise  # counted below
                except Exception as err:
                    failed(err)
                    st = fine.blank(act)
                e = [act, code, None, -1, 0, code.co_flags & _GEN_FLAGS, st, None]
                tr = make_tracer(e, st, key)
                e[7] = tr
                frames[key] = e
                frame.f_trace_lines = st.lines
                return tr if state[0] else None  # see _build
            except RecursionError:
                deep[0] += 1  # no call here: the tracer's own frames are at the limit
            except Exception as err:
                failed(err)
                return None

        classify, _thread_start = self._shared_hooks(flags, failed)
        self._codes = frozenset([global_trace.__code__] + [c for c in make_tracer.__code__.co_consts if hasattr(c, "co_code")])
        return global_trace
