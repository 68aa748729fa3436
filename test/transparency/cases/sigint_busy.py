# run: send SIGINT after "ready"
# A SIGINT from outside (the harness sends one to the process group, as Ctrl-C does,
# each time "ready" is printed) during a busy loop of calls is raised in the script's own
# frames; five times, then once more, uncaught, for the KeyboardInterrupt traceback.
import os


def step(i):
    return i + 1


def busy():
    i = 0
    while True:
        i = step(i)
        if i == 1000:
            print("ready", flush=True)  # inside the try of the caller: the signal may come now


rounds = []
for n in range(5):
    try:
        busy()
    except KeyboardInterrupt as e:
        tb = e.__traceback__
        files = set()
        while tb is not None:
            files.add(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        rounds.append(sorted("this script" if f == __file__ else os.path.basename(f) for f in files))
print("frames of each KeyboardInterrupt:", rounds)
try:
    busy()
except KeyboardInterrupt:
    raise KeyboardInterrupt("the last one, uncaught") from None
