import pathlib


def write_report(path, lines):
    with open(path, "w") as out:
        for line in lines:
            out.write(line + "\n")


def append_line(path, line):
    f = open(path, "a")
    f.write(line + "\n")
    f.close()


def read_back(path):
    with open(path) as f:
        return f.read().splitlines()


def leave_open(path):
    # Never closed by the script: nowls takes the content at exit.
    handle = open(path, "w")
    handle.write("still open\n")
    return handle


write_report("report.txt", ["alpha", "beta"])
append_line("report.txt", "gamma")
print(read_back("report.txt"))
pathlib.Path("notes.txt").write_text("from pathlib\n")
print(pathlib.Path("notes.txt").read_text().strip())
kept = leave_open("open.txt")
