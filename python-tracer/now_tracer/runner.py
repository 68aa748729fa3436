"""Running the script exactly as `python script.py args…` would.

What CPython does for a script, and what is mirrored here (checked against
real runs on 3.8–3.13):

- `__file__` and the code's filename: on 3.9+ the script path made absolute
  by plain concatenation `os.getcwd() + "/" + script` (no normalization:
  `python ../x.py` gives `/cwd/../x.py`); on 3.8 the path as given.
- `sys.path[0]`: the folder of the script's *real* path (symlinks resolved),
  or nothing with -I/-P.
- a fresh `__main__` module with, in this order, __name__, __doc__,
  __package__, __loader__ (a SourceFileLoader), __spec__ (None),
  __annotations__ ({}), __builtins__ (the module), __file__, __cached__ (None).
- the source compiled from bytes under that filename, so tracebacks match.
- an uncaught exception: printed by the current sys.excepthook, exit code 1;
  KeyboardInterrupt: printed, then the process kills itself with SIGINT
  after finalization; SystemExit: CPython's own handling.

The last point is obtained by re-raising the script's exception out of the
tracer, so that CPython itself does the exit (exit code, SIGINT, atexit
order, sys.last_* all stay CPython's). Only the traceback printing is
redirected: the exception is handed to the script's excepthook with the
tracer's frames removed, through a one-shot shim installed as sys.excepthook.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import builtins
import os
import sys
import time
import types
from importlib.machinery import SourceFileLoader, all_suffixes

from now_tracer import tbtrim

if sys.version_info < (3, 10):
    # Only for the rare uncompilable script, whose command line is rebuilt from
    # the interpreter's flags; 3.10+ has sys.orig_argv and spawns with
    # os.posix_spawn (importing subprocess costs ~4 ms of every start). Imported
    # here, before the script runs: later, a project's subprocess.py could shadow it.
    import subprocess

SIGINT_EXIT_CODE = 130  # reported in `end` for a KeyboardInterrupt (the process dies by SIGINT)


def script_filename(script: str) -> str:
    """The filename CPython gives the script (its __file__ and co_filename)."""
    if sys.version_info < (3, 9) or os.path.isabs(script):
        return script
    try:
        cwd = os.getcwd()
    except OSError:
        return script
    return cwd + os.sep + script


def sys_path0(script: str) -> str:
    return os.path.dirname(os.path.realpath(script))


def unshadow(preloaded, folder: str) -> None:
    """Forget the stdlib modules the tracer imported that the script's folder
    shadows (a project's own `json.py`, `uuid.py`, `platform.py`…): untraced,
    `import json` would find the project's file, since that folder comes first
    on sys.path. The tracer keeps the objects it already bound."""
    added = [n for n in list(sys.modules) if n not in preloaded and not n.startswith("now_tracer")]
    tops = {n.partition(".")[0] for n in added}
    suffixes = all_suffixes()
    try:
        # one listing rather than six stats per module (only names found are checked)
        names = frozenset(os.listdir(folder))
    except OSError:
        names = None
    for top in tops:
        if top in preloaded or top in sys.builtin_module_names:
            continue
        spec = getattr(sys.modules.get(top), "__spec__", None)
        if spec is not None and spec.origin in ("frozen", "built-in"):
            continue  # found by meta-path finders before any sys.path entry
        if names is not None and top not in names and not any(top + suffix in names for suffix in suffixes):
            continue
        base = os.path.join(folder, top)
        shadowed = os.path.isfile(os.path.join(base, "__init__.py")) or any(
            os.path.isfile(base + suffix) for suffix in suffixes
        )
        if shadowed:
            for name in added:
                if name == top or name.startswith(top + "."):
                    sys.modules.pop(name, None)


def make_main_module(filename: str):
    main = types.ModuleType("__main__")
    d = main.__dict__
    d["__annotations__"] = {}
    d["__builtins__"] = builtins
    d["__file__"] = filename
    d["__cached__"] = None
    d["__loader__"] = SourceFileLoader("__main__", filename)
    return main


def exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if os.name == "posix" else code
    return 1


class ScriptRunner:
    def __init__(self, trial, script: str, args, launcher: str) -> None:
        self.trial = trial
        self.script = script
        self.args = list(args)
        self.launcher = launcher
        self.filename = script_filename(script)
        self._previous_main = None

    def prepare(self, preloaded=None) -> None:
        """sys.argv, sys.path[0] and __main__, as for `python script`."""
        sys.argv[:] = [self.script] + self.args
        safe = bool(getattr(sys.flags, "safe_path", False)) or bool(sys.flags.isolated)
        # The launcher's sys.path[0] (python-tracer/ for `python python-tracer`,
        # the cwd for `-m now_tracer`) is not the script's.
        if sys.path and (self.launcher == "dir" or not safe):
            del sys.path[0]
        if not safe:
            folder = sys_path0(self.script)
            sys.path.insert(0, folder)
            if preloaded is not None:
                unshadow(preloaded, folder)
        self._previous_main = sys.modules.get("__main__")
        self.main = make_main_module(self.filename)
        sys.modules["__main__"] = self.main

    def run(self, source: bytes) -> None:
        """Run the script; returns normally or raises what CPython must handle."""
        trial = self.trial
        try:
            code = compile(source, self.filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            self._run_uncompilable(e)
            return
        try:
            trial.begin_tracing()
            exec(code, self.main.__dict__)
        except SystemExit as e:
            trial.set_outcome(exit_code_of(e), None)
            raise
        except BaseException as e:
            tb = tbtrim.trim(e)
            ki = isinstance(e, KeyboardInterrupt)
            try:
                trial.set_outcome(SIGINT_EXIT_CODE if ki else 1, trial.exception_info(e, tb))
            except Exception:
                trial.set_outcome(SIGINT_EXIT_CODE if ki else 1, None)
            _install_excepthook_shim(e, tb, trial.pause_file_recording)
            raise
        trial.set_outcome(0, None)


    def _run_uncompilable(self, error: BaseException) -> None:
        """compile() rejected the source. CPython's file parser words some errors
        differently (undeclared non-UTF-8 bytes, NUL bytes) and 3.8 even runs a
        file with a NUL byte; so the real interpreter runs the file, untraced,
        to give the exact diagnostics and exit code."""
        trial = self.trial
        orig = getattr(sys, "orig_argv", None)
        if orig is not None:
            # 3.10+: `python [opts] script args` (as _fix_orig_argv rewrote it).
            cmd = [sys.executable] + list(orig[1:]) if self.script in orig else [sys.executable, self.script] + self.args
        else:
            cmd = [sys.executable] + subprocess._args_from_interpreter_flags() + [self.script] + self.args  # type: ignore[attr-defined]
        trial.recorder.warning("compile() rejected the script (%s): ran untraced by the interpreter" % type(error).__name__)
        trial.output_counted = False  # the child's output bypasses our counters
        if orig is not None:
            code = _spawn_and_wait(cmd)
        else:
            try:
                code = subprocess.call(cmd)
            except KeyboardInterrupt:
                code = -2
            except OSError:
                code = 1
        if code < 0:
            code = 128 - code
        info = None
        if code != 0:
            try:
                info = trial.exception_info(error, None)
            except Exception:
                info = None
        trial.set_outcome(code, info)
        raise SystemExit(code)


def _spawn_and_wait(cmd) -> int:
    """subprocess.call(cmd) without subprocess: the exit code, -N if the child
    died by signal N, -2 on a KeyboardInterrupt (the child, given 0.25 s to end
    as subprocess does, is then killed), 1 if it cannot be started.

    posix_spawn, not fork: os.fork() warns on 3.12+ in a process with other
    threads, and posix_spawn does not copy the process. The child inherits only
    inheritable descriptors (the tracer's are not), as an untraced `python
    script` would; subprocess.call also closed the others."""
    try:
        pid = os.posix_spawn(cmd[0], cmd, os.environ)
    except OSError:
        return 1
    try:
        _, status = os.waitpid(pid, 0)
    except KeyboardInterrupt:
        deadline = time.monotonic() + 0.25
        try:
            while time.monotonic() < deadline:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    return -2
                time.sleep(0.01)
            os.kill(pid, 9)  # SIGKILL, as Popen.kill()
            os.waitpid(pid, 0)
        except (OSError, KeyboardInterrupt):
            pass
        return -2
    except OSError:
        return 1
    return os.waitstatus_to_exitcode(status)


def _install_excepthook_shim(exc: BaseException, tb, pause_files) -> None:
    """Make CPython's upcoming PyErr_Print show `exc` with the trimmed traceback.

    The default hook reads the script's source (linecache) to print it: those reads
    are the interpreter's, not the script's, so file recording is paused for them."""
    user_hook = getattr(sys, "excepthook", None)

    def excepthook(etype, value, _tb):
        if getattr(sys, "excepthook", None) is excepthook:
            if user_hook is None:
                del sys.excepthook
            else:
                sys.excepthook = user_hook
        if value is not exc:
            return (user_hook or sys.__excepthook__)(etype, value, _tb)
        sys.last_traceback = tb
        try:
            exc.__traceback__ = tb  # re-raising prepended the tracer's frames again
        except Exception:
            pass
        if user_hook is None:
            sys.stderr.write("sys.excepthook is missing\n")
            pause_files()
            sys.__excepthook__(type(exc), exc, tb)
            return None
        if user_hook is sys.__excepthook__:
            pause_files()
        try:
            user_hook(type(exc), exc, tb)
        except SystemExit:
            raise  # CPython exits with it too
        except BaseException as err:
            # What PyErr_Print prints when the hook itself fails.
            err_tb = tbtrim.trim(err)
            sys.stderr.write("Error in sys.excepthook:\n")
            sys.__excepthook__(type(err), err, err_tb)
            sys.stderr.write("\nOriginal exception was:\n")
            sys.__excepthook__(type(exc), exc, tb)
        return None

    sys.excepthook = excepthook
