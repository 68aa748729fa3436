"""nowls Python tracer: records the provenance of one run of a Python script.

Kept import-free on purpose: the CLI imports the submodules it needs before the
user's script runs, so nothing here may have side effects.
"""

__version__ = "0.1.0"
