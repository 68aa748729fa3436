# What the script sees of its own stack: traceback.print_stack() (to stderr), the depth
# inspect.stack() reports and the frames' functions.
import inspect
import sys
import traceback


def inner():
    traceback.print_stack()
    print("inspect.stack():", len(inspect.stack()))
    print("frames:", [f.function for f in inspect.stack()])
    f = sys._getframe()
    depth = 0
    while f is not None:
        depth += 1
        f = f.f_back
    print("sys._getframe() chain:", depth)


def outer():
    inner()


outer()
