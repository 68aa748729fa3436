# An imported module whose class has its own __getattribute__, which reports each
# attribute asked for: only the script's own lookups (and the import system's) appear.
import os
import sys

HELPER = '''
import sys
import types


class Loud(types.ModuleType):
    def __getattribute__(self, name):
        sys.stdout.write("  module attribute: %s\\n" % name)
        return super().__getattribute__(name)


VALUE = 42
sys.modules[__name__].__class__ = Loud
'''

with open("loud_module.py", "w") as f:
    f.write(HELPER)
sys.path.insert(0, os.getcwd())
print("importing")
import loud_module  # noqa: E402

print("imported")
print("VALUE:", loud_module.VALUE)
os.remove("loud_module.py")
print("end")
