# The depth at which RecursionError fires, at the default limit and at a raised one: the
# headroom the script has untraced.
import sys


def depth(n):
    try:
        return depth(n + 1)
    except RecursionError:
        return n


print("limit", sys.getrecursionlimit(), "depth", depth(0))
sys.setrecursionlimit(3000)
print("limit", sys.getrecursionlimit(), "depth", depth(0))
