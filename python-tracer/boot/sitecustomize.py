"""The tracer's way in: CPython imports this module at start-up (site.py), because
the runner put this folder first on PYTHONPATH; CPython then runs the script
itself, as its real `__main__`, with no tracer frame under it.

Everything here undoes its own traces before the script runs: the environment
and sys.path as the user had them, the signals the user's shell ignored ignored
again, the user's (or the distribution's) own sitecustomize imported in our
place. No exception may leave this module except one that the real
sitecustomize raised, which site.py reports as it would untraced: a failure of
the tracer leaves the script to run untraced (the runner then finds a log
without a header, or none, and says the record is incomplete).
"""


def _boot():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    options = os.environ.get("NOW_TRACER_BOOT")
    try:
        saved_path = os.environ.get("NOW_TRACER_PYTHONPATH")
        sigign = os.environ.get("NOW_TRACER_SIGIGN")
        for name in ("NOW_TRACER_BOOT", "NOW_TRACER_PYTHONPATH", "NOW_TRACER_SIGIGN"):
            _unsetenv(name)
        _restore_pythonpath(saved_path, here)
        while here in sys.path:
            sys.path.remove(here)
        sys.path_importer_cache.pop(here, None)
        if sigign:
            _ignore_signals(sigign)
    except BaseException:
        _quiet_failure("putting the environment back")
        options = None

    found, real_error = True, None
    del sys.modules["sitecustomize"]
    try:
        import sitecustomize  # noqa: F401  (the one we stand in for, if any)
    except ImportError as e:
        if e.name == "sitecustomize":
            found = False
        else:
            real_error = e
    except BaseException as e:  # site.py reports it; the trial starts all the same
        real_error = e

    if options is not None:
        _start(options, os.path.dirname(here))
    # Read by the event log (eventlog.py) when the trial started; the script's
    # environment never has it.
    try:
        _unsetenv("NOW_TRACER_PARENT")
    except BaseException:
        pass
    if real_error is None and not found:
        # Not a module anyone asked for: site.py takes this ImportError for "no
        # sitecustomize" and the import system forgets this module, as if never found.
        real_error = ImportError("no sitecustomize", name="sitecustomize")
    return real_error


def _unsetenv(name):
    import os

    os.environ.pop(name, None)  # os.environb shares its data: gone there too


def _setenv(name, value):
    import os

    os.environ[name] = value


def _restore_pythonpath(saved, here):
    """NOW_TRACER_PYTHONPATH: '-' when the user had no PYTHONPATH, '+' and
    theirs otherwise (an empty one is not an absent one)."""
    import os

    if saved == "-":
        _unsetenv("PYTHONPATH")
    elif saved is not None and saved.startswith("+"):
        _setenv("PYTHONPATH", saved[1:])
    else:
        # Someone else put us on PYTHONPATH: take only our own entry out.
        current = os.environ.get("PYTHONPATH")
        if current is None:
            return
        parts = [p for p in current.split(os.pathsep) if p != here]
        if parts:
            _setenv("PYTHONPATH", os.pathsep.join(parts))
        else:
            _unsetenv("PYTHONPATH")


def _ignore_signals(mask_text):
    """SIG_IGN for each signal of the SigIgn mask the `now` launcher read from
    /proc/self/status: node resets every disposition at start, libuv again in
    its children, so `nohup now run` would otherwise leave SIGHUP deadly."""
    try:
        mask = int(mask_text.strip(), 16)
    except ValueError:
        return
    import sys

    had_signal = "_signal" in sys.modules
    import _signal

    for signum in range(1, 65):
        if mask & (1 << (signum - 1)):
            try:
                _signal.signal(signum, _signal.SIG_IGN)
            except (OSError, ValueError, RuntimeError):
                pass  # SIGKILL, SIGSTOP, the C library's own real-time signals
    if not had_signal:
        sys.modules.pop("_signal", None)


def _start(options, tracer_dir):
    import sys

    preloaded = set(sys.modules)
    sys.path.insert(0, tracer_dir)
    try:
        from now_tracer import cli
    except BaseException:
        _quiet_failure("import")
        return
    finally:
        while tracer_dir in sys.path:
            sys.path.remove(tracer_dir)
        sys.path_importer_cache.pop(tracer_dir, None)
    cli.boot(options, preloaded)


def _quiet_failure(what):
    import os
    import sys

    if os.environ.get("NOW_DEBUG"):
        import traceback

        sys.stderr.write("now_tracer: boot: %s failed:\n" % what)
        traceback.print_exc()


_error = _boot()
if _error is not None:
    raise _error
