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
"""

from __future__ import annotations

import _thread
import json
import os
import sys
import time

FLUSH_SECONDS = 0.25
BACKGROUND_FLUSH = sys.version_info < (3, 12)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# JSON string literal (with quotes) for a str; the C-accelerated encoder.
encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


class EventLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o644)
        self._pid = os.getpid()
        self._buf: list = []
        # The hot path appends preformatted lines directly.
        self.append = self._buf.append
        self._lock = _thread.allocate_lock()
        self._flusher_running = False
        self.closed = False

    # -- writing ---------------------------------------------------------------
    def emit(self, event: dict) -> None:
        """Append one event given as a dict (the rare, non-hot events)."""
        if not self.closed:
            self._buf.append(_dumps(event))

    def flush(self) -> None:
        if self._pid != os.getpid():  # a forked child must not write the parent's log
            return
        with self._lock:
            buf = self._buf
            n = len(buf)
            if not n or self._fd < 0:
                return
            # Take exactly the first n lines: other threads may be appending, and
            # `del buf[:n]` is a single operation under the GIL.
            chunk = buf[:n]
            del buf[:n]
            # Lone surrogates (undecodable file names…) become JSON \\udcXX escapes.
            data = ("\n".join(chunk) + "\n").encode("utf-8", "backslashreplace")
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._fd, view)
                except InterruptedError:
                    continue
                view = view[written:]

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
        self._flusher_running = True
        _thread.start_new_thread(self._flush_loop, (stop, done))

    def _flush_loop(self, stop, done) -> None:
        try:
            get_tid = getattr(_thread, "get_native_id", None)
            self._flusher_tid = get_tid() if get_tid else None
            while not stop.acquire(True, FLUSH_SECONDS):
                if self.closed:
                    return
                try:
                    self.flush()
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
            deadline = time.monotonic() + 0.05
            while os.path.exists(task) and time.monotonic() < deadline:
                time.sleep(0.0005)

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
        finally:
            self.closed = True
            with self._lock:
                fd, self._fd = self._fd, -1
            if fd >= 0 and self._pid == os.getpid():
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
