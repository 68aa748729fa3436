def parse(text):
    return int(text)


def safe_parse(text):
    try:
        return parse(text)
    except ValueError:
        return None


def check(values):
    if None in values:
        raise RuntimeError("some values did not parse: %r" % (values,))
    return values


values = [safe_parse(t) for t in ["1", "x", "3"]]
print(values)
check(values)
