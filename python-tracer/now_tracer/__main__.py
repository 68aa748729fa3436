# `python -m now_tracer ARGS` (python-tracer/ on sys.path): as `python python-tracer ARGS`.
from now_tracer.cli import main

main("module")
