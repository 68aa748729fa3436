# Weakref callbacks print when an object is freed. Untraced, CPython frees an object the
# moment its last reference goes (a `del`, rebinding an argument), and a cycle at the
# next gc.collect(); each "freed" line must come where it does untraced.
import gc
import weakref


class Thing:
    def __init__(self, name):
        self.name = name


def announce(name):
    return lambda ref: print("  freed:", name)


refs = []


def drop_local():
    t = Thing("local")
    refs.append(weakref.ref(t, announce("local after del")))
    del t
    print("after del in drop_local")


def rebind_argument(arg):
    refs.append(weakref.ref(arg, announce("argument after rebinding")))
    arg = None
    print("after rebinding in rebind_argument")
    return arg


def drop_cycle():
    t = Thing("cycle")
    t.me = t
    refs.append(weakref.ref(t, announce("cycle after gc.collect")))
    del t
    print("after del of a cycle")


drop_local()
rebind_argument(Thing("argument"))
drop_cycle()
print("before gc.collect")
gc.collect()
print("after gc.collect")
fin = Thing("finalize")
weakref.finalize(fin, print, "  finalized: weakref.finalize after del")
del fin
print("alive at the end:", [r() is not None for r in refs])
