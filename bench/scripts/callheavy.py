"""Call-heavy benchmark: deep recursion plus many small method calls."""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


class Counter:
    def __init__(self):
        self.total = 0

    def add(self, value):
        self.total += self.scale(value)

    def scale(self, value):
        return value % 7


def count(n):
    counter = Counter()
    for i in range(n):
        counter.add(i)
    return counter.total


print("fib(25) =", fib(25))
print("count(250000) =", count(250000))
