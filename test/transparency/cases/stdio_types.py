# The script's sys.stdout and sys.stderr are the interpreter's own objects: their types,
# their write methods, nothing added to their instances.
import sys

for name in ("stdin", "stdout", "stderr"):
    stream = getattr(sys, name)
    print(name, type(stream).__name__, type(stream.write), sorted(vars(stream)) if hasattr(stream, "__dict__") else "-")
    print(name, "is the original:", stream is getattr(sys, "__%s__" % name))
print("stdout.write:", type(sys.stdout.write).__name__, getattr(sys.stdout.write, "__qualname__", "?"))
