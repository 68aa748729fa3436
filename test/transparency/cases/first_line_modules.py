import sys; print("modules at the first line:", *sorted(sys.modules), sep="\n  ")  # noqa: E702
# Every module loaded before the script's first line: a tracer that imports others
# (getopt, tokenize, json …) changes what the script observes and what it imports itself.
print("sys.path[1:]:", *sys.path[1:], sep="\n  ")
print("sys.path[0] is the script's folder:", sys.path[0] == __import__("os").path.dirname(__file__))
print("gettrace:", sys.gettrace(), "getprofile:", sys.getprofile())
print("__name__:", __name__, "__spec__:", __spec__, "__package__:", __package__)
print("__loader__:", type(__loader__).__name__, "__builtins__:", type(__builtins__).__name__)
print("excepthook is the default:", sys.excepthook is sys.__excepthook__)
print("displayhook is the default:", sys.displayhook is sys.__displayhook__)
