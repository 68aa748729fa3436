# Both streams end mid-line.
import sys

print("first line")
print("no newline on stdout", end="")
sys.stderr.write("a line\nno newline on stderr")
