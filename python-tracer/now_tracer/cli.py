"""Command line: `python python-tracer [options] [--] script.py [args…]`, and the
tracer's start inside the script's own interpreter (`boot`).

The command line is checked here, then the interpreter is started again in this
process (os.execv: the same pid) as `python [its flags] script.py args…`, with
python-tracer/boot first on PYTHONPATH and the options in NOW_TRACER_BOOT: its
sitecustomize calls `boot()` at start-up and CPython runs the script itself
(boot/sitecustomize.py says how the environment is put back).

Options end at the first positional argument (the script) or at `--`, so the
script's own arguments — `--foo` included — reach it untouched, as getopt's
POSIX mode does; parsed here by hand, since importing getopt (or argparse)
would put it in the script's sys.modules. Long options only, exactly as
written: no prefixes.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import json
import os
import sys

from now_tracer import restore_bytecode_setting
from now_tracer import values
from now_tracer.projectfiles import find_root
from now_tracer.runner import script_filename, sys_path0, unshadow
from now_tracer.trial import Trial, read_source

BOOT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "boot")

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
_LONG_NAMES = frozenset("--" + name for name, _, _ in OPTIONS)
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
        self.repr_types = None


def parse_args(argv):
    """(Options, [script, script args…]); UsageError for a bad command line.
    getopt's POSIX rules: options stop at `--` or at the first argument that is
    not one (a lone `-` included); `--name=value` or `--name value`."""
    ns = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            option = "--" + name
            if option not in _LONG_NAMES:
                raise UsageError("unrecognized arguments: %s" % option)
            if option in _WITH_VALUE:
                if not eq:
                    if i + 1 >= len(argv):
                        raise UsageError("argument %s: expected one argument" % option)
                    i += 1
                    value = argv[i]
                if option in ("--loop-keep", "--calls-keep"):
                    value = _keep(option, value)
            elif eq:
                raise UsageError("argument %s: ignored explicit argument" % option)
            else:
                value = True
            setattr(ns, name.replace("-", "_"), value)
        elif arg.startswith("-") and arg != "-":
            for letter in arg[1:]:
                if letter != "h":
                    raise UsageError("unrecognized arguments: -%s" % letter)
            ns.help = True
        else:
            break
        i += 1
    if ns.help:
        return ns, []
    return ns, argv[i:]


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


def _interpreter_flags(launcher: str, launcher_arg0: str):
    """The interpreter's own options, as given before the launcher
    (`python -X dev -u python-tracer …` → ['-X', 'dev', '-u'])."""
    orig = getattr(sys, "orig_argv", None)
    if orig:  # 3.10+
        for i in range(1, len(orig)):
            a = orig[i]
            if launcher == "module" and (a == "-mnow_tracer" or (a == "-m" and orig[i + 1:i + 2] == ["now_tracer"])):
                return list(orig[1:i])
            if launcher == "dir" and a == launcher_arg0:
                return list(orig[1:i])
    import subprocess  # 3.8, 3.9: rebuilt from sys.flags (this process is replaced at once)

    return subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]


def boot_environment(environ, options) -> dict:
    """The environment the traced interpreter starts with: boot/ first on
    PYTHONPATH, the user's own PYTHONPATH kept aside to be put back, the
    tracer's options. boot/sitecustomize.py undoes all three."""
    env = dict(environ)
    user = env.get("PYTHONPATH")
    env["NOW_TRACER_PYTHONPATH"] = "-" if user is None else "+" + user
    env["PYTHONPATH"] = BOOT_DIR + (os.pathsep + user if user else "")
    env["NOW_TRACER_BOOT"] = json.dumps(list(options))
    return env


def main(launcher: str = "module") -> None:
    """`python python-tracer [options] [--] script args`: checks the command line
    and the script, then becomes `python [flags] script args` with the tracer
    booted inside (os.execv: the same process, so a parent watching its pid —
    NOW_TRACER_PARENT, the store's tracer pid — still sees the right one)."""
    launcher_arg0 = sys.argv[0]
    argv = sys.argv[1:]
    try:
        ns, rest = parse_args(argv)
        if ns.help:
            sys.stdout.write(help_text())
            sys.stdout.flush()
            raise SystemExit(0)
        if not rest:
            raise UsageError("no script given")
    except UsageError as e:
        fail(str(e))
        return
    options = argv[:len(argv) - len(rest)]
    if options and options[-1] == "--":
        options = options[:-1]
    script, args = rest[0], rest[1:]
    try:
        os.getcwd()
    except OSError as e:
        fail("cannot read the current directory: %s" % e)
        return
    if os.path.isdir(script):
        fail("can't run %r: running a directory or zip file is not supported" % script)
    if read_source(script) is None:
        try:
            os.stat(script)
            reason = "not readable"
        except OSError as e:
            reason = "[Errno %d] %s" % (e.errno, e.strerror)
        fail("can't open file %r: %s" % (os.path.abspath(script), reason))
        return
    if ns.trial:
        try:
            uuid_text(ns.trial)
        except ValueError:
            fail("--trial must be a uuid, not %r" % ns.trial)
            return
    flags = sys.flags
    if flags.ignore_environment or flags.isolated or flags.no_site:
        fail("the interpreter options -E, -I and -S keep the tracer from starting (it comes in through PYTHONPATH and site)")
        return
    executable = sys.executable
    if not executable:
        fail("sys.executable is unknown: cannot start the interpreter again")
        return
    orig = getattr(sys, "orig_argv", None)
    # What the user typed when it names a file (`./venv/bin/python`), for sys.orig_argv;
    # a bare `python3` would be looked up on PATH again by the new interpreter.
    arg0 = orig[0] if orig and os.sep in orig[0] else executable
    command = [arg0] + _interpreter_flags(launcher, launcher_arg0) + [script] + list(args)
    env = boot_environment(os.environ, options)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(executable, command, env)
    except OSError as e:
        fail("cannot start %s: %s" % (executable, e))


# Every module the tracer imported is forgotten by sys.modules once the tracer
# is set up (its code keeps its own references), so that the script finds them
# unimported, as untraced, and imports a fresh copy if it wants one; two copies
# of `re` or `json` share no state that matters (copyreg, warnings and the
# codecs are looked up in sys.modules by the interpreter each time). What a
# kept module refers to is kept too (_referred).
# Kept, because a second copy would change what the tracer sees of the script:
# threading (the cores watch its Thread.start; the settrace core sets its trace
# hook there: threads started from a copy would be untraced); enum, types,
# collections and _collections (values.py recognizes enums and deques by the
# classes it took at start; on 3.12+ a C module imported again has new types);
# the codecs (encodings.*), which the interpreter caches once looked up;
# pathlib (3.10 only imports it for the tracer: its accessor binds io.open at
# import, and the file hook patched that binding in this copy).
KEPT_MODULES = frozenset(("threading", "encodings", "enum", "types", "collections", "_collections", "pathlib"))
if sys.version_info < (3, 10):
    # atexit's registry belonged to its module object until 3.10: a copy imported
    # by the script would be the one that runs at exit, without the trial's end.
    KEPT_MODULES |= {"atexit"}


def _referred(names, candidates) -> set:
    """The candidates that the modules `names` refer to, transitively: a module
    object in a namespace, or a class or function defined in a candidate. A
    kept module compares the script's objects with those (3.13's enum warns on
    `isinstance(value, functools.partial)`): forgetting their module would give
    the script a second copy, with other classes (CPython's test_enum
    test_partial saw no FutureWarning)."""
    module_type = type(sys)
    needed: set = set()
    todo = [sys.modules[n] for n in names if n in sys.modules]
    while todo:
        namespace = getattr(todo.pop(), "__dict__", None)
        if type(namespace) is not dict:
            continue
        for value in list(namespace.values()):
            kind = type(value)
            if kind is module_type:
                name = value.__name__
            elif kind is type or kind is _FUNCTION or kind is _BUILTIN:
                # tracer-imported stdlib objects: plain attribute reads, no script code
                name = value.__module__
            else:
                continue
            if type(name) is str and name in candidates and name not in needed:
                needed.add(name)
                todo.append(sys.modules[name])
    return needed


_FUNCTION = type(_referred)
_BUILTIN = type(len)


# Kept for a binding of their own, not for the classes of what they use: what they
# refer to is not kept with them (3.10's pathlib would keep re, fnmatch, ntpath,
# urllib.parse…, which an untraced script finds unimported).
_KEPT_ALONE = frozenset(("pathlib",))


def hide_modules(preloaded, kept=KEPT_MODULES) -> None:
    candidates = frozenset(n for n in sys.modules if n not in preloaded)
    keep_roots = [n for n in candidates if n.partition(".")[0] in kept and n.partition(".")[0] not in _KEPT_ALONE]
    needed = _referred(keep_roots, candidates)
    hidden = [n for n in candidates if n.partition(".")[0] not in kept and n not in needed]
    gone = frozenset(hidden)
    for name in hidden:
        module = sys.modules.pop(name)
        parent, _, child = name.rpartition(".")
        if not parent or parent in gone:
            continue  # a package forgotten with its submodules keeps them (its own code uses them)
        owner = sys.modules.get(parent)
        if owner is not None and getattr(owner, child, None) is module:
            try:
                delattr(owner, child)  # `import importlib` alone would find it there
            except (AttributeError, TypeError):
                pass


def boot(encoded: str, preloaded) -> None:
    """Starts the trial inside the script's interpreter, from boot/sitecustomize.py
    at start-up: sys.argv is already [script, args…]. Any failure leaves the
    script to run untraced (no header: the runner says "not recorded").
    preloaded: sys.modules before the tracer imported anything."""
    trial = None
    try:
        ns, rest = parse_args(json.loads(encoded))
        if rest or ns.help or not sys.argv or not sys.argv[0] or sys.argv[0] in ("-c", "-m", "-"):
            return
        script, args = sys.argv[0], sys.argv[1:]
        if os.path.isdir(script):
            return  # CPython runs its __main__.py, untraced
        source = read_source(script)
        if source is None:
            return  # CPython says why
        cwd = os.getcwd()
        script_path = os.path.abspath(script)
        root = os.path.abspath(ns.root) if ns.root else find_root(os.path.dirname(script_path))
        trial_id = uuid_text(ns.trial) if ns.trial else uuid4_text()
        log_path = os.path.abspath(ns.log) if ns.log else os.path.join(root, ".now", "trials", trial_id, "events.jsonl")
        # read by Reprs() when the Trial makes it
        values.ALLOW_REPR = frozenset(n.strip() for n in (ns.repr_types or "").split(",") if n.strip())
        trial = Trial(root, trial_id, log_path, redact=not ns.no_redact, fine=ns.fine, loop_keep=ns.loop_keep,
                      calls_keep=ns.calls_keep)
        filename = script_filename(script)
        trial.start(script_path, filename, source, [script] + list(args), cwd)
        restore_bytecode_setting()  # the script's own modules: as the user asked
        safe = bool(getattr(sys.flags, "safe_path", False)) or bool(sys.flags.isolated)
        if not safe:
            # CPython puts the script's folder first on sys.path only after site ran.
            unshadow(preloaded, sys_path0(script))
        hide_modules(preloaded)
        trial.begin_tracing()
    except BaseException:
        try:
            if trial is not None:
                trial.abandon()
        except BaseException:
            pass
        restore_bytecode_setting()
        try:
            hide_modules(preloaded, kept=("encodings",))  # the trial is abandoned: nothing needs the others
        except BaseException:
            pass
        if os.environ.get("NOW_DEBUG"):
            import traceback

            sys.stderr.write("now_tracer: boot failed:\n")
            traceback.print_exc()
