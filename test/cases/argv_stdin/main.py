import os
import sys

print("name:", __name__)
print("argv:", sys.argv)
print("file:", os.path.relpath(__file__))
print("path0 is script dir:", sys.path[0] == os.path.dirname(os.path.realpath(__file__)))
print("tracer not on path:", not any("python-tracer" in p for p in sys.path))
for line in sys.stdin:
    print("stdin:", line.rstrip())
sys.stderr.write("to stderr\n")
