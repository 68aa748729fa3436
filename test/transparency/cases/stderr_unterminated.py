# The script's last stderr line has no newline: it stays as it is, and nowls' own line
# comes after it, on a line of its own.
import sys

print("to stdout")
sys.stderr.write("no newline")
