# run: args ["one", "two words", "--flag", "-c", "--"]
# How the script was started, as it sees it: sys.argv and sys.orig_argv without the
# interpreter's own path.
import sys

print("argv:", sys.argv)
print("orig_argv[1:]:", sys.orig_argv[1:])
print("flags:", sys.flags)
