# run: under nohup
# Under `nohup`, SIGHUP is ignored and the script survives one sent to itself.
import os
import signal

print("SIGHUP is ignored:", signal.getsignal(signal.SIGHUP) is signal.SIG_IGN, flush=True)
os.kill(os.getpid(), signal.SIGHUP)
print("survived SIGHUP")
