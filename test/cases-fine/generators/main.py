def evens(limit):
    for k in range(limit):
        if k % 2 == 0:
            yield k


def scale(xs, by):
    for x in xs:
        yield x * by


n = 6
gen = evens(n)
first = next(gen)
factor = 10
scaled = scale([1, 2], factor)
total = sum(scaled)
print(first, total)
