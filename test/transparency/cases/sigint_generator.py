# A SIGINT pending when a generator resumes is raised inside the generator that runs
# bytecode first (`inner`, at its `yield`: `outer` resumes inside `yield from`, where
# CPython does not look at signals), and the script catches it there. A tracer callback
# that runs first must not take it (CPython's test_generators, test_raise_and_yield_from).
# Then a SIGINT raised in a generator and not caught: the KeyboardInterrupt traceback,
# and the process ends by SIGINT.
import _thread
import functools
import operator
import signal


def inner():
    try:
        yield "started"
    except KeyboardInterrupt:
        return "KeyboardInterrupt caught at the yield"
    return "resumed without an interrupt"


def outer():
    return (yield from inner())


gen = outer()
print(next(gen))
# All in C, with no Python bytecode in between: SIGINT made pending (interrupt_main, unlike
# os.kill, does not handle it at once), then the generator resumed. sorted() calls its key
# on each step in turn (map() would swallow the StopIteration).
steps = [functools.partial(_thread.interrupt_main), functools.partial(gen.send, None)]
try:
    sorted(steps, key=operator.methodcaller("__call__"))
except StopIteration as e:
    print("StopIteration:", e.value)
except KeyboardInterrupt:
    print("KeyboardInterrupt outside the generator")


def interrupted():
    yield 1
    signal.raise_signal(signal.SIGINT)
    yield 2


for x in interrupted():
    print("got", x)
