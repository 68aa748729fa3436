def leaf(x):
    return x * 2


def middle(x):
    return leaf(x) + leaf(x + 1)


def top(n):
    return [middle(i) for i in range(n)]


print(top(2))
