"""The event log: JSON lines appended to one file (protocol/README.md, format v1).

Events are appended to an in-memory list (one `list.append` on the hot path)
and written out when FLUSH_SECONDS have passed since the last write — the
recorder checks this against the timestamp it takes for every event anyway —
and at exit, so a killed tracer leaves a readable prefix.

A run that goes quiet (a long computation in C, a sleep) would keep its last
events in memory until the next event. On Python < 3.12 a small background
thread also flushes every FLUSH_SECONDS. Not on 3.12+: there os.fork() warns
("This process is multi-threaded…") when the process has more than one OS
thread — 3.13 even counts threads before any at-fork hook could stop ours —
and that warning would be a visible difference from an untraced run.

The file is written with `os.write` on an O_APPEND descriptor, never through
`open`, so the tracer's own writes are never recorded as file accesses.

Nothing here may reach the script: a write that fails (full disk, quota, I/O
error) stops the log for good (`stopped` holds the reason) instead of raising,
and `on_stop` tells the trial to stop recording; the one line still tried
later is `incomplete` (write_incomplete). A line cut short by the failed write
is cut off the file again, so the log stays a sequence of whole lines.

The parent process (the `now run` or daemon that started the tracer) is
checked at each flush that writes, and every PARENT_CHECK_SECONDS by the
background thread where there is one: os.getppid() changes when it dies
(the tracer is re-parented), and recording stops (see the README).
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import _thread
import json
import os
import sys
import time

FLUSH_SECONDS = 0.25
PARENT_CHECK_SECONDS = 0.5
BACKGROUND_FLUSH = sys.version_info < (3, 12)

# Bound now: the script may replace os.getpid/os.write/os.getppid.
_getpid = os.getpid
_getppid = os.getppid
_write = os.write
_monotonic = time.monotonic
_sleep = time.sleep

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    # JSONEncoder.encode is Python code of json's, whose builtins (isinstance) the
    # script may replace: the C encoder it would build, built once and called
    # directly. No circular-reference markers: events are trees.
    _c_iterencode = _c_make_encoder(None, _encoder.default, json.encoder.encode_basestring, None, ":", ",",
                                    False, False, True)

    def _dumps(obj) -> str:
        return "".join(_c_iterencode(obj, 0))
else:
    _dumps = _encoder.encode
# JSON string literal (with quotes) for a str; the C-accelerated encoder.
encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _expected_parent() -> int:
    """The pid of the process that started the tracer. The server names itself in
    NOW_TRACER_PARENT: a parent that died before this line ran (a daemon killed while a
    loaded machine was still starting Python) would otherwise be missed, getppid()
    already naming init. The variable is removed before the script can see it."""
    named = os.environ.pop("NOW_TRACER_PARENT", "")
    try:
        pid = int(named)
    except ValueError:
        pid = 0
    return pid if pid > 0 else os.getppid()


class EventLog:
    def __init__(self, path) -> None:
        """path None: a log that writes nothing (it could not be created)."""
        self.path = path
        self._fd = -1 if path is None else os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._pid = os.getpid()
        self._buf: list = []
        # The hot path appends preformatted lines directly.
        self.append = self._buf.append
        self._lock = _thread.allocate_lock()
        self._flusher_running = False
        self.closed = False
        # Why the log stopped (one line), or None while it is written.
        self.stopped = None
        # Called once, with the reason, when recording must stop (set by the trial).
        self.on_stop = None
        self.clock = lambda: 0.0  # seconds since t0 (the recorder's clock, set by the trial)
        self._ppid = _expected_parent()
        # Off once the last events are made: a parent dying then loses nothing.
        self.watch_parent = True
        self._cut = False  # a partial line could not be cut off: `incomplete` starts on a new line
        self._incomplete_tried = False
        self._first = None  # the first line handed to flush
        self._any_line = False  # whether a whole line reached the file
        # text -> text with the known secret values replaced (secrets.Scrubber),
        # applied to every buffer written: the one place every event passes.
        self.scrub = None

    # -- writing ---------------------------------------------------------------
    def emit(self, event: dict) -> None:
        """Append one event given as a dict (the rare, non-hot events)."""
        if not self.closed and self.stopped is None:
            self._buf.append(_dumps(event))

    def flush(self) -> None:
        if self._pid != _getpid():  # a forked child must not write the parent's log
            return
        error = None
        with self._lock:
            buf = self._buf
            n = len(buf)
            if not n or self._fd < 0:
                return
            if self.stopped is not None:
                # What frames already running still append after the core was
                # switched off: dropped, so memory stays bounded.
                del buf[:n]
                return
            # Take exactly the first n lines: other threads may be appending, and
            # `del buf[:n]` is a single operation under the GIL.
            chunk = buf[:n]
            del buf[:n]
            if self._first is None:
                self._first = chunk[0]  # the header: what `incomplete` needs before it
            # encode_lines, inlined: under settrace each Python call here is a trace event.
            text = "\n".join(chunk) + "\n"
            if self.scrub is not None:
                text = self.scrub(text)
            data = text.encode("utf-8", "backslashreplace")
            view = memoryview(data)
            done = 0
            while done < len(data):
                try:
                    done += _write(self._fd, view[done:])
                except InterruptedError:
                    continue
                except OSError as e:
                    error = e
                    self._cut_partial(data, done)
                    break
            if data.rfind(b"\n", 0, done) >= 0:
                self._any_line = True
        if error is not None:
            self.stop("event log: %s" % one_line(error))
        elif _getppid() != self._ppid:
            self.check_parent()

    def check_parent(self) -> None:
        """Stop recording if the process that started the tracer has died."""
        if self.watch_parent and self.stopped is None and _getppid() != self._ppid and self._pid == _getpid():
            self.stop("now run (pid %d) died; recording stopped" % self._ppid)
            # The log itself still works: say so at once, and close it.
            self.write_incomplete(self.clock())

    def stop(self, reason: str) -> None:
        """No more events: the buffer is dropped, on_stop told (once)."""
        with self._lock:
            if self.stopped is not None:
                return
            self.stopped = reason
            del self._buf[:]
        hook = self.on_stop
        if hook is not None:
            try:
                hook(reason)
            except Exception:
                pass

    def _cut_partial(self, data: bytes, done: int) -> None:
        """A write failed after `done` bytes of `data`: cut the unfinished last
        line off the file (with the lock held)."""
        partial = done - (data.rfind(b"\n", 0, done) + 1)
        if partial:
            try:
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - partial)
            except OSError:
                self._cut = True

    def write_incomplete(self, t: float) -> bool:
        """The `incomplete` line, tried once (a write that fails is not retried),
        then the log is closed. True if it was written."""
        ok = False
        with self._lock:
            if self._incomplete_tried or self.stopped is None or self._fd < 0 or self._pid != _getpid():
                return False
            self._incomplete_tried = True
            line = _dumps({"e": "incomplete", "t": t, "reason": self.stopped})
            # A log whose header never reached the disk gets it first: every log
            # starts with its header.
            data = encode_lines([line] if self._any_line or self._first is None else [self._first, line], self.scrub)
            if self._cut:
                data = b"\n" + data
            try:
                done = _write(self._fd, data)
                if done < len(data):
                    self._cut_partial(data, done)
                else:
                    ok = True
            except OSError:
                pass
        self.close()
        return ok

    # -- background flushing -----------------------------------------------------
    def start_flusher(self) -> None:
        """A raw _thread thread: invisible to threading.enumerate()/active_count(),
        never traced (threading.settrace only reaches threading.Thread), and not
        joined at exit. It is stopped around os.fork() (see pause_for_fork)."""
        if self.closed or self._flusher_running or not BACKGROUND_FLUSH:
            return
        stop = _thread.allocate_lock()
        stop.acquire()
        done = _thread.allocate_lock()
        done.acquire()
        self._stop, self._done = stop, done
        self._flusher_tid = None
        self._flusher_ident = None
        self._flusher_running = True
        _thread.start_new_thread(self._flush_loop, (stop, done))

    def _flush_loop(self, stop, done) -> None:
        try:
            self._flusher_ident = _thread.get_ident()
            get_tid = getattr(_thread, "get_native_id", None)
            self._flusher_tid = get_tid() if get_tid else None
            ticks = 0
            every = max(1, int(PARENT_CHECK_SECONDS / FLUSH_SECONDS))
            while not stop.acquire(True, FLUSH_SECONDS):
                if self.closed:
                    return
                try:
                    self.flush()
                    ticks += 1
                    if ticks % every == 0:
                        self.check_parent()  # a quiet script has no flush that writes
                except Exception:
                    pass
        except BaseException:  # interpreter shutdown
            pass
        finally:
            try:
                done.release()
            except Exception:
                pass

    def stop_flusher(self) -> None:
        if not self._flusher_running:
            return
        self._flusher_running = False
        if _thread.get_ident() == self._flusher_ident:
            # The flusher itself closing the log (its parent died): it only has to
            # be told to end; waiting for itself would hang for a second.
            self._stop.release()
            return
        tid = self._flusher_tid
        try:
            self._stop.release()
            self._done.acquire(True, 1.0)
        except RuntimeError:
            pass
        # Python 3.12+ warns when forking a process with more than one OS thread
        # (it counts them in /proc): wait for the thread to be really gone.
        if tid is not None:
            task = "/proc/self/task/%d" % tid
            deadline = _monotonic() + 0.05
            while os.path.exists(task) and _monotonic() < deadline:
                _sleep(0.0005)

    def pause_for_fork(self) -> None:
        self._resume_after_fork = self._flusher_running
        self.stop_flusher()

    def resume_after_fork(self) -> None:
        if getattr(self, "_resume_after_fork", False):
            self._resume_after_fork = False
            self.start_flusher()

    def close(self) -> None:
        if self.closed:
            return
        self.stop_flusher()
        try:
            self.flush()
        except Exception:
            pass
        finally:
            self.closed = True
            with self._lock:
                fd, self._fd = self._fd, -1
            if fd >= 0 and self._pid == _getpid():
                try:
                    os.close(fd)
                except OSError:
                    pass

    def after_fork_in_child(self) -> None:
        """The child of os.fork() shares the descriptor: it must write nothing."""
        self.closed = True
        self._flusher_running = False
        del self._buf[:]
        self._fd = -1
        self._lock = _thread.allocate_lock()


def dumps(event: dict) -> str:
    return _dumps(event)


def encode_lines(lines, scrub=None) -> bytes:
    # Lone surrogates (undecodable bytes of file names, surrogateescape) are the
    # only characters UTF-8 cannot encode, and the JSON encoders (ensure_ascii
    # off) leave them as they are; they only occur inside JSON strings, where
    # their backslashreplace form is exactly the JSON escape backslash-u-dcXX.
    text = "\n".join(lines) + "\n"
    if scrub is not None:
        text = scrub(text)
    return text.encode("utf-8", "backslashreplace")


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
