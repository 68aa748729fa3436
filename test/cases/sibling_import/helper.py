GREETING = "hello"


def greet(name):
    return "%s, %s" % (GREETING, name)
