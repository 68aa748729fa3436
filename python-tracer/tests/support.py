"""Helpers for the tracer's tests: run scripts with and without the tracer,
read the event log, render activations as a compact text tree."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TRACER = os.path.dirname(HERE)  # python-tracer/, runnable as `python TRACER`
PYTHON = os.environ.get("NOW_TEST_PYTHON") or sys.executable
TIMEOUT = 60


def clean_env(extra=None):
    env = dict(os.environ)
    for k in ("PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONSAFEPATH"):
        env.pop(k, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if extra:
        env.update(extra)
    return env


class Run:
    def __init__(self, proc, root=None) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.root = root

    def events(self):
        return load_events(self.root)


def write_files(folder: str, files: dict) -> None:
    for rel, content in files.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, str):
            content = textwrap.dedent(content).lstrip("\n").encode("utf-8")
        with open(path, "wb") as f:
            f.write(content)


def load_events(root: str, log=None):
    if log is None:
        logs = glob.glob(os.path.join(root, ".now", "trials", "*", "events.jsonl"))
        assert len(logs) == 1, logs
        log = logs[0]
    with open(log, "rb") as f:
        data = f.read()
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


class TracerTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="nowtest-")
        # A real path: CPython's __file__ uses os.getcwd(), which resolves symlinks.
        self.tmp = os.path.realpath(self.tmp)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def project(self, files: dict, name: str = "proj") -> str:
        folder = os.path.join(self.tmp, name)
        os.makedirs(folder, exist_ok=True)
        write_files(folder, files)
        return folder

    def run_plain(self, script, args=(), cwd=None, stdin=b"", env=None) -> Run:
        p = subprocess.run(
            [PYTHON, script] + list(args), cwd=cwd, input=stdin, capture_output=True,
            env=clean_env(env), timeout=TIMEOUT,
        )
        return Run(p)

    def run_traced(self, script, args=(), cwd=None, stdin=b"", env=None, options=(), root=None) -> Run:
        p = subprocess.run(
            [PYTHON, TRACER] + list(options) + [script] + list(args), cwd=cwd, input=stdin,
            capture_output=True, env=clean_env(env), timeout=TIMEOUT,
        )
        return Run(p, root or cwd)

    def run_both(self, files: dict, script="main.py", args=(), stdin=b"", env=None, cwd_rel="", fresh=True):
        """Run the same project plainly then traced, in the same folder (paths in
        tracebacks must be equal), recreating the files in between."""
        folder = self.project(files)
        cwd = os.path.join(folder, cwd_rel)
        os.makedirs(cwd, exist_ok=True)
        # .git marks the root for the traced run; harmless for the plain one
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        plain = self.run_plain(script, args, cwd=cwd, stdin=stdin, env=env)
        if fresh:
            shutil.rmtree(folder)
            os.makedirs(os.path.join(folder, ".git"))
            write_files(folder, files)
            os.makedirs(cwd, exist_ok=True)
        traced = self.run_traced(script, args, cwd=cwd, stdin=stdin, env=env)
        traced.root = folder
        return plain, traced

    def assertSameBehaviour(self, plain: Run, traced: Run) -> None:
        self.assertEqual(plain.stdout.decode("utf-8", "replace"), traced.stdout.decode("utf-8", "replace"))
        self.assertEqual(plain.stderr.decode("utf-8", "replace"), traced.stderr.decode("utf-8", "replace"))
        self.assertEqual(plain.stdout, traced.stdout)
        self.assertEqual(plain.stderr, traced.stderr)
        self.assertEqual(plain.returncode, traced.returncode)

    def traced_events(self, files: dict, script="main.py", args=(), env=None, stdin=b""):
        folder = self.project(files)
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced(script, args, cwd=folder, env=env, stdin=stdin)
        self.assertEqual(run.stderr.decode("utf-8", "replace"), "", "unexpected stderr")
        run.root = folder
        return run, run.events()


# -- rendering ---------------------------------------------------------------


def activation_tree(events, show_args=True, show_values=True) -> str:
    """One line per activation, indented under its parent:

        <module>
          fib(n=2) -> 1
            fib(n=1) -> 1
          gen(n=2) yield 0, 1 -> None
          boom() !! ValueError: bad
    """
    codes = {e["code"]: e for e in events if e["e"] == "code"}
    acts = {}
    order = []
    children = {}
    for e in events:
        k = e["e"]
        if k == "call":
            a = {"call": e, "yields": [], "resumes": 0, "end": None}
            acts[e["id"]] = a
            order.append(e["id"])
            children.setdefault(e["parent"], []).append(e["id"])
        elif k in ("return", "raise") and e["id"] in acts:
            acts[e["id"]]["end"] = e
        elif k == "yield" and e["id"] in acts:
            acts[e["id"]]["yields"].append(e["value"])
        elif k == "resume" and e["id"] in acts:
            acts[e["id"]]["resumes"] += 1

    lines = []

    def label(aid):
        a = acts[aid]
        c = a["call"]
        code = codes[c["code"]]
        text = code["qualname"]
        if code["name"] == "<module>":
            text += " " + os.path.basename(code["file"])
        elif show_args:
            text += "(" + ", ".join("%s=%s" % (n, v) for n, v in c["args"]) + ")"
        if a["yields"]:
            text += " yield " + ", ".join(a["yields"]) if show_values else " yield×%d" % len(a["yields"])
        end = a["end"]
        if end is None:
            text += " …"
        elif end["e"] == "return":
            if show_values and codes[c["code"]]["name"] != "<module>":
                text += " -> " + end["value"]
        else:
            text += " !! %s" % end["exc"]["type"]
            if end["exc"]["message"]:
                text += ": " + end["exc"]["message"]
        return text

    # iterative depth-first walk (recursion tests produce deep trees)
    roots = children.get(None, [])
    stack = [(r, 0) for r in reversed(roots)]
    while stack:
        aid, depth = stack.pop()
        lines.append("  " * depth + label(aid))
        for child in reversed(children.get(aid, [])):
            stack.append((child, depth + 1))
    return re.sub(r" at 0x[0-9a-f]+", "", "\n".join(lines))


def dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def by_type(events, kind):
    return [e for e in events if e["e"] == kind]
