# `open = io.open` on a class, called as self.open(...): io.open is a built-in, so it does
# not bind as a method, and self is not passed.
import io
import os


class Files:
    open = io.open
    builtin_open = open

    def write(self, path):
        with self.open(path, "w") as f:
            f.write("written through self.open\n")
        with self.builtin_open(path, "a") as f:
            f.write("and through self.builtin_open\n")


Files().write("out.txt")
with open("out.txt") as f:
    print(f.read(), end="")
os.remove("out.txt")
