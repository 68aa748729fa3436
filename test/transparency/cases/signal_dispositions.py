# The disposition of every signal as the script finds it (inherited, or set by CPython).
import signal


def describe(handler):
    if handler is signal.SIG_DFL:
        return "SIG_DFL"
    if handler is signal.SIG_IGN:
        return "SIG_IGN"
    if handler is signal.default_int_handler:
        return "default_int_handler"
    if handler is None:
        return "None (not set from Python)"
    return "a Python handler: %r" % getattr(handler, "__qualname__", handler)


for sig in sorted(signal.valid_signals()):
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = str(sig)
    print(name, describe(signal.getsignal(sig)))
