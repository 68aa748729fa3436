def mean(values):
    total = 0
    for v in values:
        total += v
    return total / len(values)


data = list(range(100_000))
m = mean(data)
print(m)
