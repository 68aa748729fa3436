# run: needs numpy
# A 300 MB array is deleted (a local `del`; an argument the caller no longer holds,
# rebound) before another is made: untraced the peak resident memory grows by one array,
# not two. Prints only whether each part's peak stayed under its start + 1.5 arrays, which
# untraced meets with a margin. The peak is the kernel's VmHWM, reset between the parts
# (resource.getrusage's ru_maxrss is the same figure but cannot be reset).
import numpy as np

SIZE = 300 * 2**20


def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def fresh():
    return np.ones(SIZE // 8)


def local_del():
    a = fresh()
    total = float(a[:10].sum())
    del a
    b = fresh()
    return total + float(b[:10].sum())


def argument(a):
    total = float(a[:10].sum())
    a = None
    b = fresh()
    return total + float(b[:10].sum())


for part, run in [("local del", local_del), ("argument rebound", lambda: argument(fresh()))]:
    reset_peak()
    start = peak()
    print(part, run())
    print(part, "peak under start + 1.5 arrays:", peak() - start < 1.5 * SIZE)
