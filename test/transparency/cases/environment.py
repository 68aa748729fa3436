# run: args ["a", "b"]
# run: env TRANSPARENCY_SETTING=visible
# run: stdin "first line\nsecond line\n"
# The environment, argv and stdin as the script gets them (values of secret-looking
# names are not printed), and its exit code.
import os
import re
import sys

SECRET = re.compile(r"PASS|SECRET|TOKEN|KEY|CRED|AUTH|JWT|DSN|WEBHOOK|SESSION|COOKIE|PRIVATE", re.I)
for name in sorted(os.environ):
    print(name, "=", "<not printed>" if SECRET.search(name) else os.environ[name])
print("argv:", sys.argv)
print("stdin:", sys.stdin.read().splitlines())
print("cwd is the script's folder:", os.getcwd() == os.path.dirname(os.path.abspath(__file__)))
sys.exit(3)
