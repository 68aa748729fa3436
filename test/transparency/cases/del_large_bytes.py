# As del_large_numpy.py with bytes (every interpreter has them): 300 MB deleted (a local
# `del`; an argument rebound) before another 300 MB is made; prints only whether each
# part's peak resident memory (VmHWM, reset between the parts) stayed under the bound.
SIZE = 300 * 2**20


def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def fresh():
    return b"\x01" * SIZE


def local_del():
    a = fresh()
    first = a[0]
    del a
    b = fresh()
    return first + b[0]


def argument(a):
    first = a[0]
    a = None
    b = fresh()
    return first + b[0]


for part, run in [("local del", local_del), ("argument rebound", lambda: argument(fresh()))]:
    reset_peak()
    start = peak()
    print(part, run())
    print(part, "peak under start + 1.5 blocks:", peak() - start < 1.5 * SIZE)
