"""Secrets never reach the store: names, forms, the by-value scrub of the event
log, the files kept by hash only, and the modes of what the tracer writes."""

from __future__ import annotations

import os
import stat
import sys
import unittest

from support import TRACER, TracerTestCase, by_type

sys.path.insert(0, TRACER)
from now_tracer import secrets  # noqa: E402
from now_tracer.contentstore import ContentStore, make_private_dirs  # noqa: E402
from now_tracer.eventlog import EventLog  # noqa: E402
from now_tracer.secrets import (  # noqa: E402
    REDACTED, Scrubber, Secrets, argv_secrets, environment_secrets, is_secret_file, is_secret_name, redact_form,
)

# The 12 names issue 15 found stored in clear, and others of the same families.
SECRET_NAMES = (
    "DB_PASS", "DATABASE_PASS", "DB_PASSPHRASE", "CI_JOB_JWT", "ARTIFACTORY_CREDS", "STRIPE_SK",
    "AZURE_STORAGE_CONNECTION_STRING", "SENTRY_DSN", "SLACK_WEBHOOK_URL", "GITHUB_TOKEN", "MYSQL_PWD",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "API_KEY", "OPENAI_APIKEY", "SSHKEY", "npm_config__auth",
    "HTTP_COOKIE", "TLS_PRIVATE_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "PGPASSWORD", "HTPASSWD",
    "AZURE_SAS", "SK_LIVE", "DJANGO_SECRET_KEY", "SIGNING_KEY", "OAUTH_CLIENT", "api_key", "githubToken",
)
NOT_SECRET_NAMES = (
    "PWD", "OLDPWD", "HOME", "PATH", "KEYBOARD", "KEYMAP", "XKB_KEYMAP", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
    "XDG_SESSION_TYPE", "XDG_SESSION_ID", "DESKTOP_SESSION", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK",
    "XAUTHORITY", "GIT_ASKPASS", "VSCODE_GIT_ASKPASS_NODE", "SKIP_TESTS", "TASK", "DISK", "LANG",
)


class NameTests(unittest.TestCase):
    def test_secret_names(self):
        for name in SECRET_NAMES:
            with self.subTest(name=name):
                self.assertTrue(is_secret_name(name))

    def test_documented_exceptions(self):
        for name in NOT_SECRET_NAMES:
            with self.subTest(name=name):
                self.assertFalse(is_secret_name(name))


class FormTests(unittest.TestCase):
    def check(self, value, expected, parts):
        cleaned, found = redact_form(value)
        self.assertEqual(cleaned, expected)
        self.assertEqual(sorted(set(found)), sorted(parts))

    def test_url_password(self):
        self.check("postgres://ana:hunter22@db:5432/x", "postgres://ana:<redacted>@db:5432/x", ["hunter22"])

    def test_url_password_with_at_and_slash(self):
        # the last @ before the host ends the userinfo, not the first @ or /
        self.check("mysql://carol:p@ss/w@rd@host/db", "mysql://carol:<redacted>@host/db", ["p@ss/w@rd"])
        self.check("postgres://bob:pa/ss@db:5432/x", "postgres://bob:<redacted>@db:5432/x", ["pa/ss"])

    def test_url_token_as_user(self):
        self.check("https://ghp_abc123xyz@github.com/o/r", "https://<redacted>@github.com/o/r", ["ghp_abc123xyz"])

    def test_url_without_credentials(self):
        for url in ("https://medium.com/@user", "http://host:8080/path/@x", "https://example.org/a?b=1",
                    "ssh://[::1]:22/x", "see https://x.org and mail a@b.org"):
            self.check(url, url, [])

    def test_query_parameters(self):
        for key in ("token", "access_token", "sig", "key", "password", "secret", "api_key", "X-Amz-Signature"):
            with self.subTest(key=key):
                self.check("https://api.x.com/v1?a=1&%s=v4lue99&b=2" % key,
                           "https://api.x.com/v1?a=1&%s=<redacted>&b=2" % key, ["v4lue99"])

    def test_connection_strings(self):
        self.check("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abcDEF123+/==;EndpointSuffix=core.windows.net",
                   "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<redacted>;EndpointSuffix=core.windows.net",
                   ["abcDEF123+/=="])
        self.check("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=Zm9vYmFy=",
                   "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=<redacted>",
                   ["Zm9vYmFy="])
        self.check("Server=db;User Id=sa;Password=Pa55word!;", "Server=db;User Id=sa;Password=<redacted>;", ["Pa55word!"])
        self.check("Driver={x};Pwd=s3cr3t99;Uid=me", "Driver={x};Pwd=<redacted>;Uid=me", ["s3cr3t99"])

    def test_plain_values(self):
        for value in ("", "/usr/bin:/bin", "en_US.UTF-8", "a=b", "LS_COLORS=rs=0:di=01;34"):
            self.check(value, value, [])

    def test_argv(self):
        self.assertEqual(
            sorted(set(argv_secrets(["x.py", "--password=hunter22", "--token", "abcdefgh", "--verbose", "-n", "3",
                                 "postgres://u:pw123456@h/d", "--api-key", "k3y"]))),
            sorted(["hunter22", "abcdefgh", "pw123456", "k3y"]))
        # an option named like a secret followed by another option has no value
        self.assertEqual(argv_secrets(["--token", "--verbose"]), [])

    def test_environment(self):
        found = environment_secrets({"GITHUB_TOKEN": "ghp_x1", "HOME": "/root", "DATABASE_URL": "pg://u:pw9876@h/d"})
        self.assertEqual(sorted(found), ["ghp_x1", "pw9876"])


class ScrubTests(unittest.TestCase):
    def test_raw_json_and_repr_forms(self):
        s = Scrubber(["ghp_SECRETTOKEN123", 'we"ird\\pa\nss'])
        # a repr inside JSON: quotes, backslashes and the newline escaped twice
        line = ('{"a":"\'ghp_SECRETTOKEN123\'","c":"we\\"ird\\\\pa\\nss","d":"\'we\\"ird\\\\\\\\pa\\\\nss\'",'
                '"e":"x ghp_SECRETTOKEN123 y"}')
        out = s(line)
        self.assertNotIn("SECRETTOKEN", out)
        self.assertNotIn("ird", out)
        self.assertEqual(out.count(REDACTED), 4)

    def test_a_cut_value_loses_its_prefix(self):
        s = Scrubber(["ghp_SECRETTOKEN123"])
        self.assertEqual(s('"ghp_SECRE\u2026"'), '"%s\u2026"' % REDACTED)
        # a prefix not followed by the cut mark is another string
        self.assertEqual(s('"ghp_SECREX"'), '"ghp_SECREX"')

    def test_short_values_are_ignored(self):
        s = Scrubber(["12345", "true", "", None])
        self.assertFalse(s.active)
        self.assertEqual(s("12345 true"), "12345 true")

    def test_longest_wins(self):
        s = Scrubber(["abcdefgh", "abcdefghijkl"])
        self.assertEqual(s("xabcdefghijkly"), "x%sy" % REDACTED)

    def test_nothing_to_do_returns_the_same_text(self):
        s = Scrubber(["ghp_SECRETTOKEN123"])
        text = '{"e":"call"}\n' * 10
        self.assertIs(s(text), text)

    def test_path_valued_secret_is_a_file_not_a_value(self):
        # scrubbing a path would blank every path below it (the project's too)
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "sa.json")
            with open(key, "w") as f:
                f.write("{}")
            sec = Secrets({"GOOGLE_APPLICATION_CREDENTIALS": key, "CREDENTIALS_DIR": d, "API_TOKEN": "tok-123456"}, [])
            self.assertTrue(sec.is_secret_file(key))
            self.assertFalse(sec.is_secret_file(os.path.join(d, "other.json")))
            self.assertEqual(sec.scrub("%s %s tok-123456" % (key, d)), "%s %s %s" % (key, d, REDACTED))


class EventLogScrubTests(TracerTestCase):
    def test_every_written_line_is_scrubbed(self):
        path = os.path.join(self.tmp, "events.jsonl")
        log = EventLog(path)
        log.scrub = Scrubber(["hunter2hunter2"])
        log.emit({"e": "header", "argv": ["x", "hunter2hunter2"]})
        log.append('{"e":"call","args":{"p":"\'hunter2hunter2\'"}}')
        log.flush()
        log.stop("event log: hunter2hunter2 in a reason")
        self.assertTrue(log.write_incomplete(1.0))
        with open(path, "rb") as f:
            data = f.read()
        self.assertNotIn(b"hunter2", data)
        self.assertEqual(data.count(REDACTED.encode()), 3)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_no_scrubber(self):
        path = os.path.join(self.tmp, "events.jsonl")
        log = EventLog(path)
        log.emit({"v": "hunter2hunter2"})
        log.close()
        with open(path, "rb") as f:
            self.assertIn(b"hunter2hunter2", f.read())


class FileTests(TracerTestCase):
    def test_list(self):
        for name in (".env", ".env.local", "prod.env", "server.pem", "tls.key", "id_rsa", "id_ed25519", ".netrc",
                     ".pgpass", "/home/a/.aws/credentials", "credentials.json", "cert.p12", "store.pfx",
                     "secrets.yaml", "secrets.json", "/home/a/.ssh/id_work", ".git-credentials", "SERVER.PEM"):
            with self.subTest(name=name):
                self.assertTrue(is_secret_file(name))
        for name in ("main.py", "data.csv", "id_map.csv", "/home/a/.ssh/id_rsa.pub", "environment.yml",
                     "keys.txt", "envs/x.py", "monkey.py"):
            with self.subTest(name=name):
                self.assertFalse(is_secret_file(name))

    def test_store_hashes_without_copying(self):
        root = self.tmp
        path = os.path.join(root, ".env")
        with open(path, "wb") as f:
            f.write(b"TOKEN=abc\n")
        learned = []

        class Known:
            def is_secret_file(self, p):
                return is_secret_file(p)

            def learn_file(self, data):
                learned.append(data)

        store = ContentStore(root, lambda m: None, Known())
        digest = store.hash_file(path)
        self.assertEqual(len(digest), 64)
        self.assertFalse(os.path.exists(os.path.join(root, ".now", "content", digest[:2], digest[2:])))
        self.assertEqual(learned, [b"TOKEN=abc\n"])
        other = os.path.join(root, "data.txt")
        with open(other, "wb") as f:
            f.write(b"data\n")
        d2 = store.hash_file(other)
        blob = os.path.join(root, ".now", "content", d2[:2], d2[2:])
        self.assertTrue(os.path.exists(blob))
        self.assertEqual(stat.S_IMODE(os.stat(blob).st_mode), 0o600)
        for folder in (os.path.join(root, ".now"), os.path.join(root, ".now", "content"), os.path.dirname(blob)):
            self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o700, folder)

    def test_private_dirs_keeps_existing(self):
        folder = os.path.join(self.tmp, "a")
        os.mkdir(folder, 0o755)
        os.chmod(folder, 0o755)
        make_private_dirs(os.path.join(folder, "b", "c"))
        self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o755)  # not ours to change
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(folder, "b")).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(folder, "b", "c")).st_mode), 0o700)
        make_private_dirs(os.path.join(folder, "b", "c"))  # exists: nothing to do


SCRIPT = """
import os
def use(t):
    return t
def boom(t):
    raise ValueError("bad token " + t)
def env(e):
    return e
tok = os.environ["GITHUB_TOKEN"]
use(tok)
url = os.environ["DATABASE_URL"]
use(url)
env(os.environ)
with open(".env") as f:
    use(f.read())
with open("key.pem", "rb") as f:
    use(f.read())
try:
    boom(tok)
except ValueError:
    pass
boom(tok)
"""

ENV = {
    "GITHUB_TOKEN": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "DATABASE_URL": "mysql://carol:p@ss/w@rd@db.example.com/app",
    "DB_PASS": "db-pass-value-1",
}
FILE_SECRETS = {".env": "API_TOKEN=file-secret-from-dotenv\n", "key.pem": "-----BEGIN KEY-----\npem-secret-bytes\n"}


class EndToEndTests(TracerTestCase):
    def check(self, options):
        folder = self.project(dict(FILE_SECRETS, **{"main.py": SCRIPT}))
        os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        run = self.run_traced("main.py", ["--password=argv-secret-9"], cwd=folder, env=ENV, options=options)
        self.assertIn(b"ValueError: bad token ghp_16C7", run.stderr)  # the script itself sees its secrets
        values = list(ENV.values()) + ["p@ss/w@rd", "file-secret-from-dotenv", "pem-secret-bytes", "argv-secret-9"]
        for dirpath, _, names in os.walk(os.path.join(folder, ".now")):
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read()
                for v in values:
                    self.assertNotIn(v.encode(), data, os.path.join(dirpath, name))
        events = run.events()
        dep = events[1]
        self.assertEqual(dep["env"]["GITHUB_TOKEN"], REDACTED)
        self.assertEqual(dep["env"]["DATABASE_URL"], "mysql://carol:<redacted>@db.example.com/app")
        opens = {os.path.basename(e["path"]): e for e in by_type(events, "open")}
        self.assertEqual(set(opens), {".env", "key.pem"})  # the accesses stay, with their hashes
        for e in opens.values():
            self.assertEqual(len(e["hash_before"]), 64)
        self.assertEqual(events[0]["argv"], ["main.py", "--password=" + REDACTED])

    def test_coarse(self):
        self.check([])

    def test_fine(self):
        self.check(["--fine"])


if __name__ == "__main__":
    unittest.main()
