"""CPU seconds (user+sys) of a command, the least of N runs: python3 bench/cpu.py N CMD...

For A/B comparisons of the tracer alone on a loaded machine (bench/RESULTS.md, issue 15),
where wall times vary more than CPU times."""
import resource
import subprocess
import sys

best = None
for _ in range(int(sys.argv[1])):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    best = t if best is None else min(best, t)
print("%.3f" % best)
