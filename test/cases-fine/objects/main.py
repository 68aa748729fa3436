class Counter:
    def __init__(self, start):
        self.count = start

    def bump(self, by):
        self.count = self.count + by
        return self.count


def tally(words):
    seen = {}
    for w in words:
        seen[w] = seen.get(w, 0) + 1
    return seen


c = Counter(10)
n = c.bump(5)
counts = tally(["a", "b", "a"])
first = counts["a"]
print(n, first)
