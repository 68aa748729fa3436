# A file's times as the script set them: written, then its times set through the open
# descriptor, then closed. Nothing may read it after that and move its access time.
import os

PAST = 946684800  # 2000-01-01

with open("times.txt", "w") as f:
    f.write("data\n")
    f.flush()
    os.utime(f.fileno(), (PAST, PAST))
st = os.stat("times.txt")
print("atime as set:", st.st_atime == PAST, "mtime as set:", st.st_mtime == PAST)
os.utime("times.txt", (PAST, PAST))
with open("times.txt", "a") as f:
    f.write("more\n")
st = os.stat("times.txt")
print("after appending, atime as set:", st.st_atime == PAST)
os.remove("times.txt")
