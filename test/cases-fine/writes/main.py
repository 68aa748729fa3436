# Values that go into files: each write's value points at the file (-> file N), the file
# read back is what the last value comes from (<- file N). Nothing here prints a path or
# an interpreter's internals, so 3.11 and 3.13 record the same.
from array import array
from json import dump

data = "hello\n"
with open("out.txt", "w") as f:
    f.write(data)

obj = {"a": 1}
with open("obj.json", "w") as g:
    dump(obj, g)

back = array("b", b"hi\n")
with open("back.bin", "wb") as h:
    h.write(back.tobytes())

with open("out.txt") as f:
    text = f.read()
print(len(text))
