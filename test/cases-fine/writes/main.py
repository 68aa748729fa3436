import json
from pathlib import Path

data = "hello\n"
with open("out.txt", "w") as f:
    f.write(data)

obj = {"a": 1}
with open("obj.json", "w") as g:
    json.dump(obj, g)

back = Path("back.txt")
back.write_text(data * 2)

with open("out.txt") as f:
    text = f.read()
print(len(text))
