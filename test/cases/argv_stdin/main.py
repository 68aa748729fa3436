import os
import sys

print("name:", __name__)
print("argv:", sys.argv)
print("file:", os.path.relpath(__file__))
print("path0 is script dir:", sys.path[0] == os.path.dirname(os.path.realpath(__file__)))
print("tracer not on path:", "python-tracer" not in os.pathsep.join(sys.path))  # no loop: sys.path differs between interpreters
for line in sys.stdin:
    print("stdin:", line.rstrip())
sys.stderr.write("to stderr\n")
