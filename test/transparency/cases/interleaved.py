# run: stderr to stdout
# stdout and stderr in one file (`> out 2>&1`): the script's writes reach it in the same
# order (stdout block-buffered, stderr line-buffered), and the last line, left
# unterminated on stdout, stays as it is; nowls' line comes after it, on a line of its own.
import sys

print("stdout 1: block-buffered, reaches the file at the flush")
sys.stderr.write("stderr 1: line-buffered, at once\n")
print("stdout 2: flushed", flush=True)
sys.stderr.write("stderr 2\n")
print("stdout 3: unterminated", end="")
