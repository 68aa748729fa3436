# cProfile of the script's own function: the functions it saw (no times, no counts) must
# be the script's and the built-ins it called, nothing of a tracer.
import cProfile
import os
import pstats
import sys


def square(x):
    return x * x


def work():
    print("work:", sum(square(i) for i in range(10)))
    sys.stderr.write("to stderr\n")


profiler = cProfile.Profile()
profiler.runcall(work)
stats = pstats.Stats(profiler)
for filename, line, name in sorted(stats.stats):
    print("%s:%s(%s)" % (os.path.basename(filename), line, name))
