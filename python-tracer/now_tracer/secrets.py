"""What is a secret, and how the event log is kept free of them.

Three rules (python-tracer/README.md, "Secrets"):

- by name: an environment variable whose name looks like a credential
  (`is_secret_name`) is recorded as `<redacted>`;
- by form: the secret parts of a value — a URL's userinfo and credential
  query parameters, a connection string's `Password=`/`AccountKey=`… — are
  replaced, whatever the variable is called (`secret_parts`), also in argv;
- by value: every value found by the first two rules, taken from os.environ
  and argv before the script runs, is scrubbed from every line the event log
  writes (`Scrubber`), so that the script passing one to a function, returning
  it, raising it or printing `os.environ` stores nothing.

Files whose names say they hold keys or credentials are hashed, never copied
into the content store (`is_secret_file`).

Imports only `re` (already loaded by the tracer's start); the patterns are
compiled once, at start, before the script runs.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import json
import os
import re

REDACTED = "<redacted>"

# A value shorter than this is never scrubbed by value: "1", "true", "prod"
# or a port number would otherwise vanish from every line of the log, and no
# real credential is that short.
MIN_SECRET_LEN = 6

# Any name containing one of these (upper-cased) is a secret.
_SECRET_SUBSTRINGS = (
    "PASS",  # PASS, PASSWORD, PASSWD, PASSPHRASE, DB_PASS, HTPASSWD
    "SECRET", "TOKEN", "CRED",  # CRED: CREDS, CREDENTIAL(S)
    "AUTH",  # AUTH, OAUTH, AUTHORIZATION (not AUTHOR: see _NOT_SECRET_PARTS)
    "JWT", "DSN", "WEBHOOK", "SESSION", "COOKIE", "PRIVATE",
    "CONNECTION_STRING", "CONNSTR", "CONN_STR",
    "APIKEY", "API_KEY", "ACCESS_KEY", "SIGNING",
)
# Short words that are secrets only as a whole word part (split at anything
# not a letter): STRIPE_SK and AZURE_SAS_TOKEN, not SKIP or SASL_MECHANISM.
_SECRET_PARTS = frozenset(("SK", "PWD", "PW", "SAS", "SALT", "PIN", "OTP", "TOTP", "HMAC", "SIG", "SIGNATURE"))
# KEY is a secret as a word part or at the end of one (API_KEY, APIKEY,
# SSHKEY, AWS_SECRET_ACCESS_KEY), not at the start of one: KEYBOARD, KEYMAP,
# KEYRING and KEYTIMEOUT name settings, not keys.
_KEY = "KEY"
# Word parts that contain a secret word but are not secrets.
_NOT_SECRET_PARTS = frozenset(("AUTHOR", "AUTHORS"))
# Whole names that match a rule but hold no secret: the shell's working
# directories, desktop-session plumbing, paths of sockets and helper programs.
_NOT_SECRET = frozenset((
    "PWD", "OLDPWD",
    "DESKTOP_SESSION", "SESSION_MANAGER", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SESSION_BUS_PID",
    "SSH_AUTH_SOCK", "XAUTHORITY", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS",
    "SSH_ASKPASS_REQUIRE", "GNOME_KEYRING_CONTROL",
))
_NOT_SECRET_PREFIXES = ("XDG_SESSION_",)

_parts = re.compile(r"[A-Z]+").findall


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in _NOT_SECRET or upper.startswith(_NOT_SECRET_PREFIXES) or "ASKPASS" in upper:
        return False
    for word in _SECRET_SUBSTRINGS:
        at = upper.find(word)
        while at >= 0:
            if not _inside_not_secret(upper, at, word):
                return True
            at = upper.find(word, at + 1)
    for p in _parts(upper):
        if p in _SECRET_PARTS or (p.endswith(_KEY) and p not in _NOT_SECRET_PARTS):
            return True
    return False


def _inside_not_secret(upper: str, at: int, word: str) -> bool:
    """Whether the match of `word` at `at` lies inside a word part that is a
    known non-secret (AUTH inside GIT_AUTHOR_NAME's AUTHOR)."""
    start = at
    while start > 0 and upper[start - 1].isalpha():
        start -= 1
    end = at + len(word)
    while end < len(upper) and upper[end].isalpha():
        end += 1
    return upper[start:end] in _NOT_SECRET_PARTS


# -- by form -------------------------------------------------------------------

# Query parameters and connection-string keys whose value is a credential
# (compared lower-case, `-` and `_` ignored).
SECRET_PARAMS = frozenset((
    "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "apitoken", "sessiontoken", "securitytoken",
    "key", "apikey", "accesskey", "secretkey", "privatekey", "accountkey", "sharedaccesskey", "clientsecret",
    "secret", "password", "passwd", "pwd", "pass", "passphrase",
    "sig", "signature", "xamzsignature", "xamzsecuritytoken", "xamzcredential", "xgoogsignature", "xgoogcredential",
    "auth", "authorization", "code", "credential", "credentials", "sharedaccesssignature", "jwt",
))

# scheme:// — where a URL's authority starts.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# What ends a URL written in running text.
_URL_END = re.compile(r"[\s\"'<>`]|$")
# key=value pieces of a query string or a connection string.
_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_\-. ]*?)\s*=\s*([^;&#\s\"']*)")
_HOSTLIKE = re.compile(r"[A-Za-z0-9.\-_~%]*(?::\d*)?(?:[/?#]|$)|\[[0-9A-Fa-f:.]+\](?::\d*)?(?:[/?#]|$)")


def _norm_param(key: str) -> str:
    return key.strip().lower().replace("-", "").replace("_", "").replace(" ", "")


def secret_parts(value: str) -> list:
    """The substrings of `value` that are credentials by their form: URL
    userinfo (user and password), credential query parameters, connection
    string secrets. Empty for the common value (a cheap test first)."""
    found: list = []
    if "://" in value:
        for m in _SCHEME.finditer(value):
            start = m.end()
            end = _URL_END.search(value, start).start()
            _url_parts(value[start:end], found)
    if "=" in value:
        for m in _PAIR.finditer(value):
            if m.group(2) and _norm_param(m.group(1).rsplit("?", 1)[-1]) in SECRET_PARAMS:
                found.append(m.group(2))
    return [s for s in found if s]


def _url_parts(rest: str, found: list) -> None:
    """rest: a URL after `scheme://`. The userinfo ends at the LAST `@` that is
    followed by something shaped like a host: passwords written with a raw `@`
    or `/` (`mysql://carol:p@ss/w@rd@db/x`) are taken whole, not cut at their
    first `@` or `/`."""
    first_slash = len(rest)
    for c in "/?#":
        i = rest.find(c)
        if 0 <= i < first_slash:
            first_slash = i
    at = -1
    i = rest.rfind("@")
    while i >= 0:
        if _HOSTLIKE.match(rest, i + 1):
            at = i
            break
        i = rest.rfind("@", 0, i)
    if at >= 0:
        userinfo = rest[:at]
        head = rest[:first_slash]
        # An `@` only after the path started is userinfo only when what comes
        # before the first `/` cannot be a host: `user:pa/ss@host` (a colon
        # followed by something not a port), not `host/@name` or `host:8080/…@x`.
        if at < first_slash or "@" in head or _not_a_port(head):
            # The user name stays (it says which account); the password goes,
            # and so does a userinfo that is a token alone (https://ghp_…@host).
            user, sep, password = userinfo.partition(":")
            found.append(password if sep else user)
            rest = rest[at + 1:]
    q = rest.find("?")
    if q >= 0:
        for piece in re.split(r"[&;#]", rest[q + 1:]):
            key, sep, val = piece.partition("=")
            if sep and val and _norm_param(key) in SECRET_PARAMS:
                found.append(val)


def _not_a_port(head: str) -> bool:
    host, sep, port = head.partition(":")
    return bool(sep) and not port.isdigit() and not host.startswith("[")


def redact_form(value: str):
    """(value with its secret parts replaced, the parts)."""
    parts = secret_parts(value)
    if not parts:
        return value, parts
    out = value
    for p in sorted(set(parts), key=len, reverse=True):
        out = out.replace(p, REDACTED)
    return out, parts


def argv_secrets(argv) -> list:
    """Secret values on a command line: by form, and the value of an option
    named like a secret (`--password=x`, `--token x`, `-api-key x`)."""
    found: list = []
    prev_secret = False
    for arg in argv:
        if not isinstance(arg, str):
            continue
        if prev_secret and not arg.startswith("-"):
            found.append(arg)
        prev_secret = False
        found.extend(secret_parts(arg))
        if arg.startswith("-"):
            name, sep, val = arg.lstrip("-").partition("=")
            if name and is_secret_name(name.replace("-", "_")):
                if sep:
                    found.append(val)
                else:
                    prev_secret = True
    return found


def environment_secrets(env) -> list:
    """Every value to scrub, from an environment mapping: values of secret
    names and secret parts of any value."""
    found: list = []
    for name, value in env.items():
        if not isinstance(value, str):
            continue
        if is_secret_name(name):
            found.append(value)
        found.extend(secret_parts(value))
    return found


# -- by value --------------------------------------------------------------------

ELLIPSIS = "\u2026"  # how values.py marks a value cut at its limit
encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _forms(secret: str):
    """How a secret can appear in a JSON line: as is, JSON-escaped, as part of
    a repr (quotes and backslashes escaped), and a repr inside JSON."""
    r = repr(secret)[1:-1]
    return {secret, encode_str(secret)[1:-1], r, encode_str(r)[1:-1]}


class Scrubber:
    """Replaces known secret values in text with <redacted>.

    One `str.find` per distinct head (the first MIN_SECRET_LEN characters of
    each form) over the whole flushed buffer decides whether there is anything
    to do; only then is the text rebuilt. A value cut short by the tracer's
    repr limit (`'ghp_abcd…`) still shows a prefix of the secret: a prefix of
    at least MIN_SECRET_LEN characters followed by the ellipsis is redacted too.
    """

    def __init__(self, secrets) -> None:
        self._secrets: set = set()
        self._heads: tuple = ()
        self._by_head: dict = {}
        self._pattern = None
        self.active = False
        self.add(secrets)

    def add(self, secrets) -> None:
        """More values to scrub (a secret file the script opens). The tables
        are rebuilt and swapped in whole: the flush thread may be scrubbing."""
        new = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN and s != REDACTED}
        if new <= self._secrets:
            return
        self._secrets |= new
        forms = set()
        for s in self._secrets:
            forms |= {f for f in _forms(s) if len(f) >= MIN_SECRET_LEN}
        by_head: dict = {}
        for f in sorted(forms, key=len, reverse=True):  # the longest match wins
            by_head.setdefault(f[:MIN_SECRET_LEN], []).append(f)
        heads = tuple(by_head)
        self._state = (heads, by_head, re.compile("|".join(re.escape(h) for h in sorted(heads))))
        self._heads = heads
        self.active = True

    def __call__(self, text: str) -> str:
        for h in self._heads:
            if h in text:
                return self._scrub(text)
        return text

    def _scrub(self, text: str) -> str:
        _, by_head, pattern = self._state
        out = []
        pos = 0
        i = 0
        search = pattern.search
        n = len(text)
        while True:
            m = search(text, i)
            if m is None:
                break
            start = m.start()
            length = _match_at(by_head, text, start, n)
            if length:
                out.append(text[pos:start])
                out.append(REDACTED)
                pos = i = start + length
            else:
                i = start + 1
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)



def _match_at(by_head: dict, text: str, start: int, n: int) -> int:
    best = 0
    for f in by_head.get(text[start:start + MIN_SECRET_LEN], ()):
        if text.startswith(f, start):
            return len(f)
        # a cut value: the longest common prefix, then the ellipsis
        k = MIN_SECRET_LEN
        limit = min(len(f), n - start)
        while k < limit and text[start + k] == f[k]:
            k += 1
        if k < n - start and text[start + k] == ELLIPSIS and k > best:
            best = k
    return best


_SECRET_FILE_NAMES = frozenset((
    ".env", ".netrc", "_netrc", ".pgpass", ".git-credentials", ".pypirc", ".npmrc", ".htpasswd",
    ".dockercfg", "credentials", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
))
_SECRET_FILE_PREFIXES = (".env.", "credentials.", "secrets.", "secret.")
_SECRET_FILE_SUFFIXES = (".env", ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".ppk", ".asc", ".gpg")


def is_secret_file(path: str) -> bool:
    """Whether a file is recorded by hash only, never copied (the documented
    list: .env and .env.*, *.env, *.pem, *.key, SSH private keys, .netrc,
    .pgpass, credentials files, *.p12, *.pfx, secrets.*, …)."""
    name = path.rpartition("/")[2].lower()
    if name in _SECRET_FILE_NAMES or name.startswith(_SECRET_FILE_PREFIXES) or name.endswith(_SECRET_FILE_SUFFIXES):
        return True
    # SSH private keys under any name, in an .ssh folder; their .pub halves are public
    return name.startswith("id_") and not name.endswith(".pub") and "/.ssh/" in path


MAX_LEARNED = 64 * 1024  # bytes of a secret file mined for values; keys and .env files are far smaller


def file_secrets(data: bytes) -> list:
    text = data[:MAX_LEARNED].decode("utf-8", "replace")
    found = [text, text.strip()]
    for line in text.splitlines():
        line = line.strip()
        found.append(line)
        name, sep, value = line.partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            found.append(value)
        found.extend(secret_parts(line))
    return found


class Secrets:
    """What the tracer knows at start: the values to scrub and the files to
    hash only. Taken from the environment and argv before the script runs, so
    the script cannot hide a secret from it by changing os.environ later."""

    def __init__(self, env, argv) -> None:
        self.files: set = set()
        values = []
        for v in environment_secrets(env) + argv_secrets(argv):
            if v[:1] in ("/", "~"):
                # A secret variable naming a file (GOOGLE_APPLICATION_CREDENTIALS,
                # SSL_KEY_FILE): the file is the secret, its path is not — scrubbing
                # the path would blank every path under it, the project's root too.
                try:
                    path = os.path.expanduser(v)
                    if os.path.isdir(path):
                        continue
                    if os.path.isfile(path):
                        self.files.add(os.path.realpath(path))
                        continue
                except (OSError, ValueError):
                    pass
            values.append(v)
        self.scrub = Scrubber(values)

    def learn_file(self, data: bytes) -> None:
        """A secret file was read: what the script may then pass around is
        scrubbed too — the whole text, each line, each `NAME=value`'s value."""
        self.scrub.add(file_secrets(data))

    def is_secret_file(self, path: str) -> bool:
        if is_secret_file(path):
            return True
        files = self.files
        return bool(files) and (path in files or os.path.realpath(path) in files)
