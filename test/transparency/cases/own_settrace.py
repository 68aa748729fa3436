# The script installs its own trace function (as trace.py, a debugger or coverage do):
# the events it receives must be all those it would receive untraced.
import sys

events = []


def tracer(frame, event, arg):
    if frame.f_code.co_filename == __file__:
        events.append((event, frame.f_code.co_name, frame.f_lineno - frame.f_code.co_firstlineno))
    return tracer


def square(x):
    y = x * x
    return y


def twice(x):
    return square(x) + square(x)


sys.settrace(tracer)
twice(3)
sys.settrace(None)
for e in events:
    print(*e)
print("trace function left:", sys.gettrace() is None)
