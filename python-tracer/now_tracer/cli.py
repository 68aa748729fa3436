"""Command line: `python python-tracer [options] [--] script.py [args…]`.

Options end at the first positional argument (the script) or at `--`, so the
script's own arguments — `--foo` included — reach it untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

# Imported now, before open() is patched and before the script runs:
# tokenize binds the builtin open at import time (linecache uses it to show
# source lines in tracebacks), and the tracer's own modules must all be loaded
# before sys.path[0] stops pointing at them.
import linecache  # noqa: F401
import tokenize  # noqa: F401

from now_tracer import restore_bytecode_setting
from now_tracer.projectfiles import find_root
from now_tracer.runner import ScriptRunner
from now_tracer.trial import Trial, read_source

PROG = "now_tracer"
_WITH_VALUE = ("--root", "--trial", "--log", "--loop-keep", "--calls-keep")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would add the usage)
        raise UsageError(message)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter with the width shutil.get_terminal_size() would give,
    found without importing shutil (a few ms of every start)."""

    def __init__(self, prog, *args, **kwargs):
        if len(args) < 3 and kwargs.get("width") is None:
            kwargs["width"] = _columns() - 2
        super().__init__(prog, *args, **kwargs)


def _columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG, allow_abbrev=False, description="Run a Python script and record its provenance.",
        formatter_class=_Formatter,
    )
    p.add_argument("--root", help="project root (default: nearest folder upwards with .now, .git or pyproject.toml)")
    p.add_argument("--trial", help="trial uuid (default: a new uuid4)")
    p.add_argument("--log", help="event log path (default: ROOT/.now/trials/UUID/events.jsonl)")
    p.add_argument("--no-redact", action="store_true", help="record environment variables unredacted")
    p.add_argument("--fine", action="store_true", help="fine granularity: values of assignments and their dependencies")
    p.add_argument(
        "--loop-keep", type=_loop_keep, default=3, metavar="K",
        help="fine mode: values kept per loop target and activation, first K and last K (default 3)",
    )
    p.add_argument(
        "--calls-keep", type=_loop_keep, default=0, metavar="K",
        help="coarse mode: activations recorded per code object, the others counted (default 0: all; ignored with --fine)",
    )
    return p


def _loop_keep(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        k = -1
    if k < 0:
        raise argparse.ArgumentTypeError("must be an integer >= 0, not %r" % text)
    return k


def split_argv(argv):
    """(tracer options, [script, script args…])."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv[:i], argv[i + 1 :]
        if a.startswith("-") and a != "-":
            i += 2 if (a in _WITH_VALUE) else 1
            continue
        return argv[:i], argv[i:]
    return argv, []


def fail(message: str) -> None:
    sys.stderr.write("%s: error: %s\n" % (PROG, message))
    sys.stderr.flush()
    raise SystemExit(2)


def _fix_orig_argv(launcher: str, launcher_arg0: str, script: str, args) -> None:
    """sys.orig_argv (3.10+) as `python [interpreter options] script args…`."""
    orig = getattr(sys, "orig_argv", None)
    if not orig:
        return
    idx = None
    for i in range(1, len(orig)):
        a = orig[i]
        if launcher == "module" and (a == "-m" and i + 1 < len(orig) and orig[i + 1] == "now_tracer"):
            idx = i
            break
        if launcher == "module" and a == "-mnow_tracer":
            idx = i
            break
        if launcher == "dir" and a == launcher_arg0:
            idx = i
            break
    if idx is not None:
        sys.orig_argv = list(orig[:idx]) + [script] + list(args)


def main(launcher: str = "module", preloaded=None) -> None:
    """preloaded: names in sys.modules before the tracer imported anything."""
    launcher_arg0 = sys.argv[0]
    opts, rest = split_argv(sys.argv[1:])
    try:
        ns = _parser().parse_args(opts)
        if not rest:
            raise UsageError("no script given")
    except UsageError as e:
        fail(str(e))
        return
    script, args = rest[0], rest[1:]

    try:
        cwd = os.getcwd()
    except OSError as e:
        fail("cannot read the current directory: %s" % e)
        return
    if os.path.isdir(script):
        fail("can't run %r: running a directory or zip file is not supported" % script)
    source = read_source(script)
    if source is None:
        try:
            os.stat(script)
            reason = "not readable"
        except OSError as e:
            reason = "[Errno %d] %s" % (e.errno, e.strerror)
        fail("can't open file %r: %s" % (os.path.abspath(script), reason))
        return
    script_path = os.path.abspath(script)

    root = os.path.abspath(ns.root) if ns.root else find_root(os.path.dirname(script_path))
    if ns.trial:
        try:
            trial_id = str(uuid.UUID(ns.trial))
        except ValueError:
            fail("--trial must be a uuid, not %r" % ns.trial)
            return
    else:
        trial_id = str(uuid.uuid4())
    log_path = os.path.abspath(ns.log) if ns.log else os.path.join(root, ".now", "trials", trial_id, "events.jsonl")

    trial = Trial(root, trial_id, log_path, redact=not ns.no_redact, fine=ns.fine, loop_keep=ns.loop_keep,
                  calls_keep=ns.calls_keep)
    runner = ScriptRunner(trial, script, args, launcher)
    # The whole tracer is set up (every module it needs imported) before
    # sys.path[0] becomes the script's folder, where a project's own
    # `pathlib.py` or `subprocess.py` would otherwise be picked up.
    try:
        trial.start(script_path, runner.filename, source, [script] + list(args), cwd)
    except OSError as e:
        fail("cannot start the trial log %s: %s" % (log_path, e))
        return
    _fix_orig_argv(launcher, launcher_arg0, script, args)
    restore_bytecode_setting()  # the script's own modules: as the user asked
    runner.prepare(preloaded)
    runner.run(source)
