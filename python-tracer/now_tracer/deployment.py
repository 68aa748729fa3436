"""The `deployment` event: machine, Python and (redacted) environment.

Only cheap, side-effect-free sources: os.uname() (platform.uname() may spawn
a subprocess on 3.8), /etc/os-release read with os.read, sys (not `platform`,
whose import costs ~0.7 ms of every start: python_implementation() and
python_version() give the same strings on CPython 3.8–3.13).
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import os
import sys

from now_tracer.modules import read_head
from now_tracer.secrets import REDACTED, is_secret_name, redact_form


def redact_env(env, redact: bool = True):
    """(env dict, list of redacted names): names that look like secrets get
    <redacted>; other values keep all but their secret parts (a URL's
    password, a connection string's AccountKey). Rules in secrets.py."""
    out = {}
    redacted = []
    for name in sorted(env):
        value = env[name]
        if redact:
            if is_secret_name(name):
                out[name] = REDACTED
                redacted.append(name)
                continue
            cleaned, parts = redact_form(value)
            if parts:
                out[name] = cleaned
                redacted.append(name)
                continue
        out[name] = value
    return out, redacted


def os_release_name():
    text = read_head("/etc/os-release", 65536)
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            value = line[len("PRETTY_NAME="):].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return value or None
    return None


# platform.python_implementation()'s names for sys.implementation.name
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython", "jython": "Jython"}


def python_implementation() -> str:
    name = sys.implementation.name
    return _IMPLEMENTATIONS.get(name, name)


def python_version() -> str:
    """platform.python_version(): the version at the start of sys.version
    (`3.13.0`, `3.14.0a1+`)."""
    return sys.version.split()[0]


def deployment_event(redact: bool = True) -> dict:
    u = os.uname()
    env, redacted = redact_env(dict(os.environ), redact)
    return {
        "e": "deployment",
        "os": {"system": u.sysname, "release": u.release, "version": u.version, "name": os_release_name()},
        "hostname": u.nodename,
        "machine": u.machine,
        "python": {
            "implementation": python_implementation(),
            "version": python_version(),
            "executable": sys.executable,
            "prefix": sys.prefix,
        },
        "env": env,
        "redacted": redacted,
    }
