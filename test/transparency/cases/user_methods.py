# The script's own __repr__, __str__, __eq__, __hash__, __len__ and a property count their
# calls; the script calls none of them except where it says so, so every count is what
# the script did. A tracer describing arguments, results or values must not add to them.
calls = {"repr": 0, "str": 0, "eq": 0, "hash": 0, "len": 0, "property": 0}


class Noisy:
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        calls["repr"] += 1
        return "Noisy(%d)" % self.n

    def __str__(self):
        calls["str"] += 1
        return "noisy %d" % self.n

    def __eq__(self, other):
        calls["eq"] += 1
        return isinstance(other, Noisy) and other.n == self.n

    def __hash__(self):
        calls["hash"] += 1
        return hash(self.n)

    def __len__(self):
        calls["len"] += 1
        return self.n

    @property
    def doubled(self):
        calls["property"] += 1
        return 2 * self.n


def passes_through(x):
    return x


def keyed(d, k, v):
    d[k] = v  # one __hash__ of k, as the script does it
    return d


a = Noisy(1)
b = passes_through(a)
c = keyed({}, Noisy(2), a)
print("made", type(b).__name__, len(c))
print("counts:", calls)
print(str(a), repr(a), a.doubled)
print("counts:", calls)
