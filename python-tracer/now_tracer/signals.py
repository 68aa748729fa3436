"""Python signal handlers run where the script would have run them, never
inside a tracer callback.

CPython runs a Python-level handler at the next eval-breaker check of the main
thread, whatever Python code that is. A signal that becomes due while a trace
callback (or a tracer wrapper: open, write) runs would have its handler run
there: the script's KeyboardInterrupt or TimeoutError raised inside the
tracer, caught by the tracer's own `except`, or (3.8-3.11) leaving the trace
function, which makes CPython drop tracing for the rest of the run.

So every Python-level handler — SIGINT's default_int_handler and whatever
the script installs later — is installed behind `_defer`. When the frame it is
given belongs to the tracer, the signal is tripped again with
`_thread.interrupt_main(signum)` (3.11+, below), which only marks it pending (unlike
os.kill, signal.raise_signal and signal.pthread_kill, which run the handlers
before returning — checked on 3.11 and 3.13), and the handler runs at the
next check, in the script's code once the tracer has returned.

Not on 3.8-3.10: interrupt_main() takes no signal number on 3.8/3.9, and
those versions check the eval breaker where 3.11+ does not (after the
re-trip, inside _defer: the handler would run again at once, recursively).
There the handler runs where the signal becomes due, as before, but what it
raises is not swallowed by the callback's own error handling: it leaves the
trace function (FROM_HANDLER, core_settrace._failed), the script gets it, and
CPython switches tracing off, which the trial records as `incomplete`
(core_settrace.check_lost).

The script does not see the wrapping: `_signal.signal` and `_signal.getsignal`
(which signal.signal/getsignal call) are replaced by callables that are not
descriptors (they do not bind when a class stores them) and that answer with
the script's own handlers.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import _signal
import _thread
import sys

from now_tracer import tbtrim
from now_tracer.takeover import Stand

_real_signal = _signal.signal
_real_getsignal = _signal.getsignal
_set_wakeup_fd = _signal.set_wakeup_fd
_SIG_DFL = _signal.SIG_DFL
_SIG_IGN = _signal.SIG_IGN
_NSIG = getattr(_signal, "NSIG", 65)
_SIGINT = _signal.SIGINT
# Where re-tripping was checked to wait for the next eval-breaker check (3.11+);
# on 3.10, as on 3.8/3.9, the re-tripped handler runs again at once inside _defer.
_DEFER = sys.version_info >= (3, 11)
_is_tracer_code = tbtrim.is_tracer_code
_hide = tbtrim.hide
_callable = callable
_type = type

# signum -> the handler the script would see installed (for signals behind _defer)
_script: dict = {}
_installed = [False]
# deferrals so far (tests, and a loop guard's evidence)
deferred = [0]
# id -> exception raised by a script's handler inside tracer code (3.8-3.10)
FROM_HANDLER: dict = {}


def _in_tracer(frame) -> bool:
    """Whether the code running in `frame` is the tracer's: any tracer frame
    down the stack says so (stdlib code the tracer calls counts as the
    tracer's; the script's code is never called from the tracer, and CPython
    runs the script itself, so no tracer frame sits under it: boot/)."""
    while frame is not None:
        if _is_tracer_code(frame.f_code):
            return True
        frame = frame.f_back
    return False


class _Subscript:
    # `_trip[signum]` calls interrupt_main(signum) through BINARY_SUBSCR, which
    # (unlike a CALL) is not followed by an eval-breaker check: a call would run
    # the re-tripped handler at once, inside _defer itself, again and again. A
    # builtin stored on a class does not bind, so the key is the only argument.
    __slots__ = ()


class _Trip(_Subscript):
    __getitem__ = _thread.interrupt_main


class _Wake(_Subscript):
    __getitem__ = _signal.set_wakeup_fd


_trip = _Trip()
_wake = _Wake()


def _defer(signum, frame):
    inside = frame is not None and _in_tracer(frame)
    if inside and _DEFER:
        deferred[0] += 1
        # The re-trip writes the signal number to the wakeup fd a second time
        # (asyncio would run its handler twice): the fd is off meanwhile.
        try:
            fd = _set_wakeup_fd(-1)
        except (ValueError, OSError):
            fd = -1
        _trip[signum]
        if fd != -1:
            _wake[fd]
        return None
    handler = _script.get(signum)
    if not _callable(handler):
        return None
    try:
        return handler(signum, frame)
    except BaseException as e:
        _hide(e)  # this frame out of the traceback (tbtrim)
        if inside:
            # 3.8-3.10: raised inside a trace callback, whose `except Exception`
            # must let it through to the script (settrace core: _failed)
            if len(FROM_HANDLER) > 16:
                FROM_HANDLER.clear()
            FROM_HANDLER[id(e)] = e
        raise


def _signal_entry(signalnum, handler):
    try:
        key = int(signalnum)
    except Exception:
        key = None  # _real_signal raises the error the script would get
    before = _script.get(key)
    wrap = _callable(handler)
    try:
        prev = _real_signal(signalnum, _defer if wrap else handler)
    except BaseException as e:
        _hide(e)
        raise
    if wrap:
        _script[key] = handler
    else:
        _script.pop(key, None)
    return before if prev is _defer else prev


def _getsignal_call(signalnum):
    try:
        h = _real_getsignal(signalnum)
    except BaseException as e:
        _hide(e)
        raise
    if h is _defer:
        return _script.get(signalnum, h)
    return h


def install() -> None:
    """Put every Python-level handler behind _defer (main thread, before the
    script runs). Idempotent."""
    if _installed[0] or _thread.get_ident() != _MAIN:
        return
    for signum in range(1, _NSIG):
        try:
            h = _real_getsignal(signum)
        except (ValueError, OSError):
            continue
        if _callable(h) and h is not _defer:
            try:
                _real_signal(signum, _defer)
            except (ValueError, OSError, RuntimeError):
                continue
            _script[signum] = h
    _signal.signal = Stand(_signal_entry, _real_signal)
    _signal.getsignal = Stand(_getsignal_call, _real_getsignal)
    _installed[0] = True


def uninstall() -> None:
    """The script's handlers back in place of _defer (tests)."""
    if not _installed[0]:
        return
    _signal.signal = _real_signal
    _signal.getsignal = _real_getsignal
    for signum, h in list(_script.items()):
        try:
            if _real_getsignal(signum) is _defer:
                _real_signal(signum, h)
        except (ValueError, OSError):
            pass
    _script.clear()
    _installed[0] = False


_MAIN = _thread.get_ident()
