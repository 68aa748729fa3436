"""Bounded activations (.now/config: calls_keep 3): each function's first three
activations are recorded, the rest only counted; what runs inside an unrecorded one is
still recorded, under the nearest recorded caller."""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def note(i):
    # Called once, from inside the fifth call of step: its parent is the nearest
    # recorded activation, <module>.
    with open("out.txt", "w") as f:
        f.write(str(i))


def step(i):
    if i == 4:
        note(i)
    return i * 2


def squares(n):
    for i in range(n):
        yield i * i


print(fib(5))
print([step(i) for i in range(6)])
print(sum(sum(squares(k)) for k in range(5)))
