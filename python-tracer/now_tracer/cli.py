"""Command line: `python python-tracer [options] [--] script.py [args…]`.

Options end at the first positional argument (the script) or at `--`, so the
script's own arguments — `--foo` included — reach it untouched: getopt in its
POSIX mode (not argparse, whose import with gettext costs ~1.5 ms of every
start; getopt ~0.8 ms). Long options only, exactly as written: the unique
prefixes getopt would accept are refused.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import os
import sys


def _import_getopt():
    """getopt without gettext, whose import (a regex compiled) is ~1 ms of every
    start: getopt only passes its error messages through gettext.gettext, and
    falls back to untranslated ones when `from gettext import gettext` raises
    ImportError (as while Python is being built), which a None in sys.modules
    makes it do. Python ships no translations of them, and the tracer rewords
    them anyway. gettext stays importable, and untouched, for the script."""
    if "getopt" in sys.modules or "gettext" in sys.modules:
        import getopt
        return getopt
    sys.modules["gettext"] = None  # type: ignore[assignment]
    try:
        import getopt
    finally:
        if "gettext" in sys.modules and sys.modules["gettext"] is None:
            del sys.modules["gettext"]
    return getopt


getopt = _import_getopt()

# Imported now, before open() is patched and before the script runs:
# tokenize binds the builtin open at import time (linecache uses it to show
# source lines in tracebacks), and the tracer's own modules must all be loaded
# before sys.path[0] stops pointing at them.
import linecache  # noqa: F401
import tokenize  # noqa: F401

from now_tracer import restore_bytecode_setting
from now_tracer import values
from now_tracer.projectfiles import find_root
from now_tracer.runner import ScriptRunner
from now_tracer.trial import Trial, read_source

PROG = "now_tracer"
USAGE = "usage: %s [options] [--] script.py [args...]" % PROG
DESCRIPTION = "Run a Python script and record its provenance."

# (name, metavar: None for a flag, help)
OPTIONS = (
    ("help", None, "show this help message and exit"),
    ("root", "ROOT", "project root (default: nearest folder upwards with .now, .git or pyproject.toml)"),
    ("trial", "TRIAL", "trial uuid (default: a new uuid4)"),
    ("log", "LOG", "event log path (default: ROOT/.now/trials/UUID/events.jsonl)"),
    ("no-redact", None, "record environment variables unredacted"),
    ("fine", None, "fine granularity: values of assignments and their dependencies"),
    ("loop-keep", "K", "fine mode: values kept per loop target and activation, first K and last K (default 3)"),
    ("calls-keep", "K",
     "coarse mode: activations recorded per code object, the others counted (default 0: all; ignored with --fine)"),
    ("repr-types", "NAMES", "comma-separated types (module.QualName) whose own __repr__ may be called (default: none)"),
)
_LONG = [name + ("=" if metavar else "") for name, metavar, _ in OPTIONS]
_WITH_VALUE = frozenset("--" + name for name, metavar, _ in OPTIONS if metavar)


class UsageError(Exception):
    pass


class Options:
    """The parsed options, with their defaults."""

    def __init__(self) -> None:
        self.help = False
        self.root = None
        self.trial = None
        self.log = None
        self.no_redact = False
        self.fine = False
        self.loop_keep = 3
        self.calls_keep = 0


def parse_args(argv):
    """(Options, [script, script args…]); UsageError for a bad command line."""
    try:
        pairs, rest = getopt.getopt(argv, "h", _LONG)
    except getopt.GetoptError as e:
        raise UsageError(_getopt_message(e))
    _check_exact(argv, pairs)
    ns = Options()
    for name, value in pairs:
        if name in ("-h", "--help"):
            ns.help = True
            return ns, []
        if name in ("--loop-keep", "--calls-keep"):
            value = _keep(name, value)
        elif name not in _WITH_VALUE:
            value = True
        setattr(ns, name[2:].replace("-", "_"), value)
    return ns, rest


def _getopt_message(e) -> str:
    """argparse's wording for getopt's errors."""
    opt = ("--" if ("option --" + e.opt) in e.msg else "-") + e.opt
    if "requires argument" in e.msg:
        return "argument %s: expected one argument" % opt
    if "must not have an argument" in e.msg:
        return "argument %s: ignored explicit argument" % opt
    return "unrecognized arguments: %s" % opt  # unknown, or an ambiguous prefix


def _check_exact(argv, pairs) -> None:
    """Refuse the abbreviations getopt accepts (`--ro` for `--root`): getopt
    returns the full names, so each is matched against the word the user wrote,
    in order (a value in its own word is skipped)."""
    i = 0
    for name, _ in pairs:
        if not name.startswith("--"):
            return  # -h: the help, shown at once
        written, eq, _ = argv[i].partition("=")
        if written != name:
            raise UsageError("unrecognized arguments: %s" % written)
        i += 2 if (name in _WITH_VALUE and not eq) else 1


def _keep(name: str, text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        k = -1
    if k < 0:
        raise UsageError("argument %s: must be an integer >= 0, not %r" % (name, text))
    return k


def uuid_text(text: str) -> str:
    """str(uuid.UUID(text)), without importing uuid (~0.65 ms of every start):
    the same forms accepted (braces, `urn:uuid:`, no hyphens), ValueError for others."""
    hex_ = text.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(hex_) != 32:
        raise ValueError("badly formed hexadecimal UUID string")
    return _uuid_format(int(hex_, 16))


def uuid4_text() -> str:
    """str(uuid.uuid4()): 16 random bytes, version 4, RFC 4122 variant."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)
    n = (n & ~(0xF000 << 64)) | (4 << 76)
    return _uuid_format(n)


def _uuid_format(n: int) -> str:
    h = "%032x" % n
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def help_text() -> str:
    lines = [USAGE, "", DESCRIPTION, "", "options:"]
    heads = [("-h, --help" if name == "help" else "--" + name) + (" " + metavar if metavar else "")
             for name, metavar, _ in OPTIONS]
    width = max(len(h) for h in heads) + 2
    for head, (_, _, text) in zip(heads, OPTIONS):
        lines.append("  " + head.ljust(width) + text)
    return "\n".join(lines) + "\n"


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
    try:
        ns, rest = parse_args(sys.argv[1:])
        if ns.help:
            sys.stdout.write(help_text())
            sys.stdout.flush()
            raise SystemExit(0)
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
            trial_id = uuid_text(ns.trial)
        except ValueError:
            fail("--trial must be a uuid, not %r" % ns.trial)
            return
    else:
        trial_id = uuid4_text()
    log_path = os.path.abspath(ns.log) if ns.log else os.path.join(root, ".now", "trials", trial_id, "events.jsonl")

    # read by Reprs() when the Trial makes it
    values.ALLOW_REPR = frozenset(n.strip() for n in getattr(ns, "repr_types", "").split(",") if n.strip())
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
