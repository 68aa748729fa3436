# The script installs a profile function: every call and return it would see untraced,
# built-in calls included.
import sys

events = []


def profiler(frame, event, arg):
    if event.startswith("c_"):
        events.append((event, getattr(arg, "__name__", "?")))
    elif frame.f_code.co_filename == __file__:
        events.append((event, frame.f_code.co_name))


def square(x):
    return abs(x) * x


def twice(x):
    return square(x) + square(-x)


sys.setprofile(profiler)
twice(3)
sys.setprofile(None)
for e in events:
    print(*e)
print("profile function left:", sys.getprofile() is None)
