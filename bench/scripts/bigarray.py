"""Peak memory of a script that frees a large array before making another (issue 15,
item 2): untraced it never holds two at once. N is the array's length (float64)."""
import sys

import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000  # 400 MB


def consume(arr):
    # the only reference to the caller's array: freed at the `del`
    total = float(arr.sum())
    del arr
    b = np.ones(N)
    return total + float(b.sum())


def rebind(arr):
    # a parameter rebound: the array it named is freed there
    arr = float(arr.sum())
    b = np.ones(N)
    return arr + float(b.sum())


def local():
    a = np.ones(N)
    total = float(a.sum())
    del a
    b = np.ones(N)
    return total + float(b.sum())


print(consume(np.ones(N)))
print(rebind(np.ones(N)))
print(local())
a = np.ones(N)
s = float(a.sum())
del a
b = np.ones(N)
print(s + float(b.sum()))
