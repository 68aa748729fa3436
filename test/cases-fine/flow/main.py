def parse(text):
    try:
        value = int(text)
    except ValueError as err:
        value = -1
    return value


def evens(limit):
    for k in range(limit):
        if k % 2 == 0:
            yield k


with open("in.txt", "w") as out:
    out.write("41\n")
with open("in.txt") as f:
    raw = f.read()
x = parse(raw)
y = parse("oops")
doubled = [e * 2 for e in evens(6)]
print(x, y, doubled)
