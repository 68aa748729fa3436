// Secrets never reach the store (issue 15, item 6): real `now run` trials of a script that
// handles credentials every way a script does — passes one to a function, returns it,
// raises it, keeps a URL with a password in a local, reads a .env and a key.pem, receives
// os.environ — in coarse and fine mode, on the host's python3 (settrace) and on 3.13 with
// both cores; then every byte under .now/ (database, WAL, content, logs, cache) is searched
// for every secret value, and the modes of .now/ and its files are checked.
import { spawnSync } from "child_process";
import assert from "node:assert/strict";
import fs from "fs";
import path from "path";
import { test } from "node:test";
import { NOW, REPO, requireDebianRoot, tempProject, writeFiles } from "./helpers";
import { mayHoldSecret } from "../server/src/run/runTrial";

const PYTHON_313 = path.join(REPO, "scripts", "python3.13");

// name -> value: the 20 variables of issue 15 (12 of them stored in clear before), then the
// URL and connection-string cases. Every value is unique, so a hit names its variable.
const ENV: Record<string, string> = {
  DB_PASS: "dbpass-Secret-0001",
  DATABASE_PASS: "databasepass-Secret-0002",
  DB_PASSPHRASE: "passphrase-Secret-0003",
  CI_JOB_JWT: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.jwtSecret0004",
  ARTIFACTORY_CREDS: "artifactory-Secret-0005",
  STRIPE_SK: "sk_live_stripeSecret0006",
  AZURE_STORAGE_CONNECTION_STRING:
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azureKeySecret0007+/==;EndpointSuffix=core.windows.net",
  SENTRY_DSN: "https://sentrySecret0008@o1.ingest.sentry.io/42",
  SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/slackSecret0009",
  GITHUB_TOKEN: "ghp_githubSecret0010abcdefghijklmnopqrstu",
  AWS_SECRET_ACCESS_KEY: "awsSecretKey0011/abcdefghijklmnopqrstuv",
  AWS_SESSION_TOKEN: "awsSessionToken0012",
  API_KEY: "apikey-Secret-0013",
  OPENAI_API_KEY: "sk-openaiSecret0014",
  MYSQL_PWD: "mysqlpwd-Secret-0015",
  PGPASSWORD: "pgpassword-Secret-0016",
  DJANGO_SECRET_KEY: "django-Secret-0017",
  SESSION_COOKIE: "cookie-Secret-0018",
  NPM_CONFIG__AUTH: "npmauth-Secret-0019",
  TLS_PRIVATE_KEY: "privatekey-Secret-0020",
  // by form: names that say nothing, values that do
  DATABASE_URL: "mysql://carol:p@ssSecret0021/w@rd@db.example.com:3306/app",
  REDIS_URL: "redis://default:pa/ssSecret0022@cache:6379/0",
  ARTIFACT_URL: "https://files.example.com/a.tar.gz?X-Amz-Signature=sigSecret0023&access_token=tokSecret0024",
  SERVICEBUS: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=sbSecret0025=",
  MSSQL: "Server=db;User Id=sa;Password=mssqlSecret0026;",
};
// What must not be stored, by form: only the secret part (the URL's host stays).
const FORM_SECRETS: Record<string, string[]> = {
  DATABASE_URL: ["p@ssSecret0021/w@rd"],
  REDIS_URL: ["pa/ssSecret0022"],
  ARTIFACT_URL: ["sigSecret0023", "tokSecret0024"],
  SERVICEBUS: ["sbSecret0025="],
  MSSQL: ["mssqlSecret0026"],
};
const FILES: Record<string, string> = {
  ".env": "API_TOKEN=dotenvSecret0030\nPLAIN=hello world\n",
  "key.pem": "-----BEGIN PRIVATE KEY-----\npemSecret0031abcdefghijklmnop\n-----END PRIVATE KEY-----\n",
  ".aws/credentials": "[default]\naws_secret_access_key = credfileSecret0032\n",
};
const ARGV_SECRET = "argvSecret0040";

const SCRIPT = `import os

def use(value):
    return value

def boom(token):
    raise ValueError("bad token " + token)

def inspect_env(environ):
    return environ

tok = os.environ["GITHUB_TOKEN"]
use(tok)
url = os.environ["DATABASE_URL"]
use(url)
everything = {name: os.environ[name] for name in ${JSON.stringify(Object.keys(ENV))}}
use(everything)
inspect_env(os.environ)
with open(".env") as f:
    dotenv = f.read()
use(dotenv)
with open("key.pem", "rb") as f:
    pem = f.read()
use(pem)
with open(".aws/credentials") as f:
    use(f.read())
try:
    boom(tok)
except ValueError as e:
    caught = e
boom(tok)
`;

function secretValues(): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(ENV)) for (const v of FORM_SECRETS[name] ?? [value]) values.add(v);
  // the secret part of a value whose whole is redacted by name, in case it is stored cut
  values.add("azureKeySecret0007+/==");
  for (const v of ["dotenvSecret0030", "pemSecret0031abcdefghijklmnop", "credfileSecret0032"]) values.add(v);
  return [...values];
}

/** Every secret found in a file under .now/, as "file: value". */
function leaks(root: string, secrets = secretValues()): string[] {
  const found: string[] = [];
  const values = secrets.map((v) => [v, Buffer.from(v)] as const);
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const data = fs.readFileSync(p);
        for (const [v, b] of values) if (data.includes(b)) found.push(`${path.relative(root, p)}: ${v}`);
      }
    }
  };
  walk(path.join(root, ".now"));
  return found;
}

/** Files and folders under .now/ readable by anyone but their owner. */
function openModes(root: string): string[] {
  const wrong: string[] = [];
  const nowDir = path.join(root, ".now");
  const check = (p: string, want: number) => {
    const mode = fs.statSync(p).mode & 0o777;
    if (mode !== want) wrong.push(`${path.relative(root, p)}: ${mode.toString(8)} (want ${want.toString(8)})`);
  };
  check(nowDir, 0o700);
  for (const f of ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"]) {
    if (fs.existsSync(path.join(nowDir, f))) check(path.join(nowDir, f), 0o600);
  }
  // what the tracer writes: blobs, their folders, the event logs that are left
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { check(p, 0o700); walk(p); } else if (e.isFile()) check(p, 0o600);
    }
  };
  walk(path.join(nowDir, "content"));
  for (const e of fs.readdirSync(path.join(nowDir, "trials"), { withFileTypes: true })) {
    const log = path.join(nowDir, "trials", e.name, "events.jsonl");
    if (fs.existsSync(log)) check(log, 0o600);
  }
  return wrong;
}

function nowRun(dir: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [NOW, ...args], {
    cwd: dir, encoding: "utf8", env: { ...process.env, ...ENV, ...env },
  });
}

interface Interp { label: string; python: string; core?: string; debian: boolean }
const INTERPRETERS: Interp[] = [
  // the host's python3 is 3.11 here: its default core is settrace
  { label: "host python3, default core", python: "python3", debian: false },
  { label: "3.13, default core (sysmon)", python: PYTHON_313, debian: true },
  { label: "3.13, NOW_TRACER_CORE=settrace", python: PYTHON_313, core: "settrace", debian: true },
];

for (const interp of INTERPRETERS) {
  test(`secrets: nothing under .now/ holds a secret, .now/ is private (${interp.label}, coarse and fine)`, (t) => {
    if (interp.debian && !requireDebianRoot(t, "trixie")) return;
    const dir = tempProject("nowls-secrets-");
    try {
      writeFiles(dir, { "main.py": SCRIPT, ...FILES });
      // a .now/ made before nowls, readable by everyone: the first writer makes it private
      fs.mkdirSync(path.join(dir, ".now"), { mode: 0o755 });
      fs.chmodSync(path.join(dir, ".now"), 0o755);
      const env: NodeJS.ProcessEnv = { NOW_PYTHON: interp.python, NOW_TRACER_CORE: interp.core ?? "" };
      for (const mode of [[], ["--fine"]]) {
        const r = nowRun(dir, ["run", ...mode, "main.py"], env);
        // the script itself sees its secrets, and fails as it would untraced
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`ValueError: bad token ${ENV.GITHUB_TOKEN}`));
        assert.match(r.stderr, /now: trial \d+ /, r.stderr);
      }
      assert.deepEqual(leaks(dir), [], `${interp.label}: secrets stored`);
      assert.deepEqual(openModes(dir), [], `${interp.label}: modes`);

      // still a useful trial: the names are kept, the values say <redacted>, and the
      // accesses to the secret files are recorded (by hash)
      for (const trial of ["1", "2"]) {
        const show = nowRun(dir, ["show", trial, "-e", "-f"], env);
        assert.equal(show.status, 0, show.stderr);
        for (const name of Object.keys(ENV).filter((n) => !(n in FORM_SECRETS))) {
          assert.match(show.stdout, new RegExp(`^  ${name}=<redacted>$`, "m"), `${name} in now show -e`);
        }
        assert.match(show.stdout, /^ {2}DATABASE_URL=mysql:\/\/carol:<redacted>@db\.example\.com:3306\/app$/m);
        assert.match(show.stdout, /^ {2}SERVICEBUS=Endpoint=sb:\/\/ns\.servicebus\.windows\.net\/;SharedAccessKeyName=root;SharedAccessKey=<redacted>$/m);
        for (const f of [".env", "key.pem", ".aws/credentials"]) assert.ok(show.stdout.includes(f), `${f} in now show -f:\n${show.stdout}`);
      }
      const q = nowRun(dir, ["query", "--json", "SELECT a.args FROM activation a WHERE a.args LIKE '%token%' OR a.args LIKE '%redacted%'"], env);
      assert.equal(q.status, 0, q.stderr);
      assert.match(q.stdout, /<redacted>/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

// The tracer scrubs argv in the event log (the header's argv says `--token=<redacted>`); the
// trial row holds the script alone until that header fills argv and command in.
test("secrets: a secret on the command line is not stored", () => {
  const dir = tempProject("nowls-secrets-argv-");
  try {
    writeFiles(dir, { "main.py": "import sys\nprint(len(sys.argv))\n" });
    const r = nowRun(dir, ["run", "main.py", `--token=${ARGV_SECRET}`, "--password", ARGV_SECRET + "b"], { NOW_PYTHON: "python3" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "4\n");
    assert.deepEqual(leaks(dir, [ARGV_SECRET]), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("secrets: arguments that could hold one stay out of the trial row until the tracer's redacted argv arrives", () => {
  for (const arg of ["--token=abc", "--password", "postgres://u:p@h/db", "https://x/y?sig=1", "API_KEY=1", "stripe_sk", "me@host"]) {
    assert.equal(mayHoldSecret(arg), true, arg);
  }
  for (const arg of ["2013", "data/rain.csv", "--fine", "kill-tracer-r1", "-n", "10"]) assert.equal(mayHoldSecret(arg), false, arg);
});
