"""The `deployment` event: machine, Python and (redacted) environment.

Only cheap, side-effect-free sources: os.uname() (platform.uname() may spawn
a subprocess on 3.8), /etc/os-release read with os.read, sys (not `platform`,
whose import costs ~0.7 ms of every start: python_implementation() and
python_version() give the same strings on CPython 3.8–3.13).
"""

from __future__ import annotations

import os
import re
import sys

from now_tracer.modules import read_head

REDACTED = "<redacted>"
_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PWD", "CREDENTIAL", "AUTH", "PRIVATE", "COOKIE", "SESSION")
# PWD and OLDPWD are the shell's working directories, not passwords.
_NOT_SECRET = frozenset(("PWD", "OLDPWD"))
# scheme://user:password@host -> scheme://user:<redacted>@host
_URL_CREDENTIALS = r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*):([^\s/@]+)@"
_url_credentials = None  # compiled at the first value that may match (at start, before the script)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return any(word in upper for word in _SECRET_WORDS)


def redact_env(env, redact: bool = True):
    """(env dict, list of redacted names)."""
    out = {}
    redacted = []
    for name in sorted(env):
        value = env[name]
        if redact:
            if is_secret_name(name):
                out[name] = REDACTED
                redacted.append(name)
                continue
            cleaned = _redact_url_credentials(value)
            if cleaned != value:
                out[name] = cleaned
                redacted.append(name)
                continue
        out[name] = value
    return out, redacted


def _redact_url_credentials(value: str) -> str:
    global _url_credentials
    if "://" not in value or "@" not in value:
        return value  # cannot match: most environments never compile the pattern (~0.2 ms)
    if _url_credentials is None:
        _url_credentials = re.compile(_URL_CREDENTIALS)
    return _url_credentials.sub(r"\1:" + REDACTED + "@", value)


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
