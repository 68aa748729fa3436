import sys

print("about to fail")
sys.exit("configuration file missing")
