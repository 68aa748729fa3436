# An uncaught RecursionError at the default limit: the whole traceback on stderr (its
# frames, the "[Previous line repeated N more times]" count, no chained header) and exit 1.
def down(n):
    return down(n + 1)


down(0)
