"""One trial: wires the pieces together, writes the first and the last events.

Order of the log: header and deployment (flushed at once), then what the
script does, then — from an atexit handler registered before the script
runs, so that it runs after the script's own atexit handlers (atexit is
LIFO) and after non-daemon threads were joined — close events of files left
open, module events, output, end.

CPython runs the script and ends the process itself; how the script ended is
learnt without touching it: the exception that leaves the script's module
frame (the bottom frame of the main thread) is seen by the core's `raise`
callback; an uncaught one is also in sys.last_value by the time atexit
handlers run (PyErr_Print sets it), which covers a core that was stopped.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import atexit
import os
import sys

from now_tracer import __version__
from now_tracer.codeinfo import CodeInfo
from now_tracer.contentstore import ContentStore, make_private_dirs, sha256_bytes
from now_tracer import cores, signals
from now_tracer.deployment import deployment_event
from now_tracer.eventlog import EventLog, one_line
from now_tracer.files import FileTracker
from now_tracer.modules import ModuleInventory, read_all, stdlib_dirs
from now_tracer.output import OutputSizes
from now_tracer.projectfiles import ProjectFiles
from now_tracer.recorder import Recorder
from now_tracer.runner import SIGINT_EXIT_CODE, exit_code_of
from now_tracer.tbtrim import is_tracer_code, trim
from now_tracer.secrets import Secrets
from now_tracer.values import Reprs


read_source = read_all  # bytes of a source file, without going through (recorded) open
_getpid = os.getpid  # bound before the script may replace it


class Trial:
    def __init__(self, root: str, trial_id: str, log_path: str, redact: bool, fine: bool = False, loop_keep: int = 3,
                 calls_keep: int = 0) -> None:
        self.root = root
        # coarse mode: activations recorded per code object (0: all); fine mode records all
        self.calls_keep = calls_keep
        self.fine_mode = fine
        self.loop_keep = loop_keep
        self.fine = None
        self.trial_id = trial_id
        self.log_path = log_path
        self.redact = redact
        self.pid = os.getpid()
        self.outcome = None  # (exit_code, exception dict or None), when set by hand
        self.uncaught = None  # the exception that left the script's module frame
        self.uncaught_text = None  # or its rendered text, when the core kept only that
        self._last_value = getattr(sys, "last_value", None)
        self.finished = False
        self._lost_said = False

    def start(self, script_path: str, script_filename: str, source: bytes, argv, cwd: str) -> None:
        # Known before the first line is written, from the environment and argv
        # as they are before the script can change them (secrets.py).
        secrets = Secrets(os.environ, argv) if self.redact else None
        try:
            make_private_dirs(os.path.dirname(self.log_path))
            self.log = log = EventLog(self.log_path)
        except OSError as e:
            # No log at all (full disk, read-only store): the script runs untraced
            # all the same, with nothing recorded and nothing said.
            self.log = log = EventLog(None)
            log.stop("event log: %s" % one_line(e))
        if secrets is not None and secrets.scrub.active:
            log.scrub = secrets.scrub
        self.project = ProjectFiles(self.root, cwd, script_filename, script_path)
        self.store = ContentStore(self.root, self._warn, secrets)
        self.reprs = Reprs()
        def source_of(fn):
            return source if fn == script_filename else read_source(self.project.abspath(fn))

        codeinfo = CodeInfo(source_of)
        self.recorder = rec = Recorder(log, self.reprs, codeinfo, self.project)
        log.clock = rec.now
        self._watch_main_frame(rec, script_filename)
        if self.fine_mode:
            from now_tracer.fine import FineRecorder

            self.fine = FineRecorder(rec, self.reprs, source_of, self.loop_keep)
        digest = sha256_bytes(source)
        core_name, core_reason, tool_id, counter_tool_id = cores.select(
            self.fine_mode, counting=bool(self.calls_keep) and not self.fine_mode)
        header = {
            "e": "header",
            "format": "now-events",
            "version": 1,
            "trial": self.trial_id,
            "tracer": __version__,
            "core": core_name,
            "core_reason": core_reason,
            "granularity": "fine" if self.fine_mode else "coarse",
            "t0": rec.t0,
            "pid": self.pid,
            "root": self.root,
            "script": script_path,
            "script_hash": digest,
            "argv": list(argv),
            "cwd": cwd,
            "calls_keep": self.calls_keep,
        }
        if tool_id is not None:
            header["core_tool_id"] = tool_id  # the sys.monitoring tool id taken
        if counter_tool_id is not None:
            header["core_counter_tool_id"] = counter_tool_id  # the second one, counting calls past the cap
        if self.fine_mode:
            header["loop_keep"] = self.loop_keep
        log.emit(header)
        try:
            log.emit(deployment_event(self.redact))
        except Exception as e:  # never lose the trial over a strange environment
            rec.warning("deployment: %s: %s" % (type(e).__name__, e))
        log.flush()
        self.core = cores.make_core(core_name, tool_id, rec, self.project.is_project, self._warn, self.fine,
                                     calls_keep=0 if self.fine_mode else self.calls_keep,
                                     counter_tool_id=counter_tool_id)
        self.files = FileTracker(rec, self.store, self.core, os.path.join(self.root, ".now"))
        self.output = OutputSizes()
        # Registered before the script runs: atexit is LIFO, so this runs last.
        atexit.register(self.finish)
        if log.stopped is not None:
            # The header could not be written: nothing to record, nothing to patch.
            cores.release(tool_id, counter_tool_id)
            return
        log.on_stop = self._stop_recording
        self.core.on_lost = self._lost
        signals.install()
        self.store.put(digest, source)
        self._stdlib_dirs = stdlib_dirs()
        self.files.install()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=log.pause_for_fork,
                after_in_parent=log.resume_after_fork,
                after_in_child=self._after_fork_in_child,
            )
        log.start_flusher()

    def _warn(self, message: str) -> None:
        rec = getattr(self, "recorder", None)
        if rec is not None:
            rec.warning(message)

    def _watch_main_frame(self, rec, filename: str) -> None:
        """Before the core binds rec.on_raise: keep the exception that leaves the
        script's `<module>` frame, the bottom one (f_back None: CPython runs it;
        runpy or exec of the same file would have frames below). Only `raise`
        callbacks pay for it, and only the first frames up from the core's."""
        on_raise = rec.on_raise
        getframe = sys._getframe

        def on_raise_watching_main(act, exc):
            on_raise(act, exc)
            f = getframe(1)
            while f is not None and is_tracer_code(f.f_code):
                f = f.f_back
            if f is not None and f.f_back is None:
                code = f.f_code
                if code.co_name == "<module>" and code.co_filename == filename:
                    if exc.__class__ is str:
                        # Rendered already (the settrace core keeps no built-in
                        # exception): sys.last_value has the object at exit.
                        self.uncaught_text = exc
                    else:
                        self.uncaught = exc
                        # A signal can raise inside a tracer callback: CPython prints
                        # this traceback next, without the tracer's frames.
                        trim(exc)
                    if not isinstance(exc, SystemExit) and sys.excepthook is sys.__excepthook__:
                        # The default hook reads the script's sources to print it
                        # (from C on 3.8-3.12, with no Python frame at all): the
                        # interpreter's reads, not the script's. Files opened after
                        # (threads still running, atexit handlers) go unrecorded.
                        self.files.recording = False

        rec.on_raise = on_raise_watching_main

    def abandon(self) -> None:
        """The boot failed half-way: nothing of the tracer may stay in the script's way."""
        self.finished = True
        for step in (lambda: self.core.stop(), lambda: setattr(self.files, "recording", False),
                     _unpatch_open, lambda: atexit.unregister(self.finish), lambda: self.log.close()):
            try:
                step()
            except Exception:
                pass

    def _final_outcome(self):
        """(exit code, exception dict or None) as far as the tracer can know it; the
        runner, which sees the process end, has the last word on the code."""
        if self.outcome is not None:
            return self.outcome
        exc = self.uncaught
        if exc is None:
            last = getattr(sys, "last_value", None)
            if last is not None and last is not self._last_value:
                exc = last  # uncaught, printed by PyErr_Print; the core did not see it leave
        if exc is None:
            if self.uncaught_text is not None:
                # Not printed by PyErr_Print (a custom excepthook re-raised…): the
                # text is all there is; its type still tells the code.
                code = SIGINT_EXIT_CODE if '"KeyboardInterrupt"' in self.uncaught_text else 1
                return code, None
            return 0, None
        if isinstance(exc, SystemExit):
            return exit_code_of(exc), None
        code = SIGINT_EXIT_CODE if isinstance(exc, KeyboardInterrupt) else 1
        try:
            return code, self.exception_info(exc, trim(exc))
        except Exception:
            return code, None

    def begin_tracing(self) -> None:
        if self.log.stopped is None:
            self.core.start()

    def _lost(self, reason: str) -> None:
        """The record misses what follows (the script took tracing over, events
        skipped at the recursion limit): an `incomplete` event, the log going on
        with what is still recorded (files, output, end). Once per trial."""
        if self._lost_said:
            return
        self._lost_said = True
        try:
            self.log.emit({"e": "incomplete", "t": self.recorder.now(), "reason": reason})
        except Exception:
            pass

    def _stop_recording(self, reason: str) -> None:
        """The log cannot be written, or the parent died: the core off, files no
        longer hashed. Any thread, possibly inside a core callback; never raises."""
        try:
            self.files.recording = False
        except Exception:
            pass
        try:
            self.core.stop()
        except Exception:
            pass

    def pause_file_recording(self) -> None:
        self.files.recording = False

    def set_outcome(self, exit_code: int, exception=None) -> None:
        self.outcome = (exit_code, exception)

    def exception_info(self, exc: BaseException, tb) -> dict:
        info = self.recorder.exc_info(exc)
        frames = []
        while tb is not None:
            code = tb.tb_frame.f_code
            frames.append({"file": self.project.abspath(code.co_filename), "line": tb.tb_lineno, "function": code.co_name})
            tb = tb.tb_next
        info["traceback"] = frames
        return info

    # -- the end ----------------------------------------------------------------
    def finish(self) -> None:
        if self.finished or _getpid() != self.pid:
            return
        self.finished = True
        try:
            self._finish()
        except Exception:  # nothing of the tracer's may reach the script's stderr
            pass
        log = self.log
        if log.stopped is not None:
            # Recording stopped (full disk, parent gone): one try at saying so.
            log.write_incomplete(self.recorder.now())
        log.close()

    def _finish(self) -> None:
        log = self.log
        try:
            lost = self.core.check_lost()
            if lost is not None:
                self._lost(lost)
        except Exception:
            pass
        try:
            self.core.stop()
        except Exception:
            pass
        log.flush()  # what was recorded before the parent died, if it did
        log.check_parent()
        if log.stopped is not None:
            return
        log.watch_parent = False  # what follows ends the trial whole (`end`)
        if self.fine is not None:
            try:
                self.fine.finish()
            except Exception as e:
                self._warn("fine: at exit: %s: %s" % (type(e).__name__, e))
        try:
            self.recorder.calls_elided(self.core.elided())
        except Exception as e:
            self._warn("calls_elided: %s: %s" % (type(e).__name__, e))
        try:
            self.files.finish()
        except Exception as e:
            self._warn("files at exit: %s" % e)
        try:
            for ev in ModuleInventory(self.store, self.project, self._warn, self._stdlib_dirs).events():
                log.emit(ev)
        except Exception as e:
            self._warn("modules: %s" % e)
        sizes = self.output.sizes(sys)
        log.emit({"e": "output", "stdout": sizes["stdout"], "stderr": sizes["stderr"]})
        exit_code, exception = self._final_outcome()
        log.emit(
            {
                "e": "end",
                "t": self.recorder.now(),
                "exit_code": exit_code,
                "status": "finished" if exit_code == 0 else "failed",
                "exception": exception,
            }
        )
        log.flush()

    def _after_fork_in_child(self) -> None:
        # The child is not this trial: stop recording, never touch the log.
        self.finished = True
        try:
            self.core.stop()
            self.files.recording = False
            self.log.after_fork_in_child()
        except Exception:
            pass


def _unpatch_open() -> None:
    import builtins
    import io

    from now_tracer import files

    builtins.open = files.REAL_OPEN
    io.open = files.REAL_IO_OPEN
    acc = getattr(files.pathlib, "_NormalAccessor", None)
    if acc is not None and "open" in acc.__dict__:
        acc.open = staticmethod(files.REAL_IO_OPEN)
