# The script replaces builtins.len (by a cache: unhashable arguments now fail),
# builtins.isinstance and os.getpid (by counters). It calls them itself a known number of
# times; the counts, the cache's statistics and the script's results must be its own.
import builtins
import functools
import os

real_isinstance = builtins.isinstance
real_getpid = os.getpid
counts = {"isinstance": 0, "getpid": 0}


def counting_isinstance(obj, cls):
    counts["isinstance"] += 1
    return real_isinstance(obj, cls)


def counting_getpid():
    counts["getpid"] += 1
    return real_getpid()


builtins.len = functools.lru_cache(4)(len)
builtins.isinstance = counting_isinstance
os.getpid = counting_getpid


def work(items, label):
    # len of a tuple and a str only (hashable); the list argument is never len()'d here.
    return len(tuple(items)) + len(label), isinstance(items, list), os.getpid() > 0


print(work([1, 2, 3], "abc"))
print(work([4, 5], "de"))
values = {"k": [1, 2]}
print(work(values["k"], "xyz"))
print("counts:", counts)
print("len cache:", builtins.len.cache_info())
