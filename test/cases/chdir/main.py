import os


def save(name, text):
    with open(name, "w") as f:
        f.write(text)


os.chdir("sub")
save("result.txt", "written after chdir\n")
print(os.getcwd().endswith("sub"))
