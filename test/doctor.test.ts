// The store under faults it did not cause: a read-only `.now/` (permissions or a
// read-only mount), a database damaged in the middle or at its header, and `now doctor`
// (its checks and --salvage) on real stores recorded by the real tracer.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "child_process";
import { createHash } from "crypto";
import fs from "fs";
import path from "path";
import { before, test } from "node:test";
import Database from "better-sqlite3";
import { fsStoreErrorOf, storeErrorOf } from "../server/src/errors";
import { integrity, json, NOW, now, PYTHON, tempProject, writeFiles, assertNobodyCanRunNow } from "./helpers";

const SCRIPT = `import sys
def square(x):
    return x * x
def total(n):
    return sum(square(i) for i in range(n))
with open("out.txt", "w") as f:
    f.write(str(total(int(sys.argv[1]))))
`;
const TRIALS = 13;
// A long argument makes each trial row big, so the trial table spans several pages and
// one damaged page loses some trials, not all.
const PAD = "p".repeat(900);

let template: string;

before(() => {
  template = tempProject("nowls-doctor-template-");
  writeFiles(template, { "s.py": SCRIPT });
  for (let i = 1; i <= TRIALS; i++) {
    const r = now(["run", "s.py", String(200 * i), PAD], { cwd: template });
    assert.equal(r.status, 0, r.stderr);
  }
  assert.equal(now(["tag", "3", "three"], { cwd: template }).status, 0);
  assert.equal(now(["note", "5", "a note"], { cwd: template }).status, 0);
});

/** A copy of the template project: each test damages its own. */
function project(): string {
  const dir = tempProject("nowls-doctor-");
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

const dbFile = (dir: string) => path.join(dir, ".now", "db.sqlite");
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

// ---- read-only stores ----

const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * Runs `now` as a user the permissions apply to: root ignores them, so as root the
 * project is given to nobody and the command runs as nobody.
 */
function nowAsUser(args: string[], cwd: string): SpawnSyncReturns<string> {
  if (IS_ROOT) assertNobodyCanRunNow(NOBODY);
  return spawnSync(process.execPath, [NOW, ...args], {
    cwd, encoding: "utf8", env: { ...process.env, NOW_PYTHON: PYTHON },
    ...(IS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
}

function walk(dir: string, visit: (p: string, isDir: boolean) => void): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, visit);
    visit(p, e.isDirectory());
  }
}

/** `files`: every file under .now/ loses its write bits; `folder`: the folders too. */
function makeReadOnly(dir: string, what: "files" | "folder"): void {
  fs.chmodSync(dir, 0o755);
  if (IS_ROOT) {
    fs.chownSync(dir, NOBODY, NOBODY);
    walk(dir, (p) => fs.lchownSync(p, NOBODY, NOBODY));
  }
  const now_ = path.join(dir, ".now");
  walk(now_, (p, isDir) => {
    if (!isDir) fs.chmodSync(p, fs.statSync(p).mode & ~0o222);
    else if (what === "folder") fs.chmodSync(p, fs.statSync(p).mode & ~0o222);
  });
  if (what === "folder") fs.chmodSync(now_, fs.statSync(now_).mode & ~0o222);
}

function makeWritable(dir: string): void {
  walk(path.join(dir, ".now"), (p) => fs.chmodSync(p, fs.statSync(p).mode | 0o200));
  fs.chmodSync(path.join(dir, ".now"), 0o700);
}

/** A trial left "running" by a `now run` that died: recovery would write to finish it. */
function orphanTrial(dir: string, id: number): void {
  const db = new Database(dbFile(dir));
  // A runner that died before its tracer's log had its end: finished_at still unset.
  db.prepare("UPDATE trial SET status = 'running', runner_pid = 999999999, tracer_pid = NULL, finished_at = NULL WHERE id = ?").run(id);
  db.close();
}

const READ_COMMANDS: string[][] = [
  ["list"], ["list", "--json"], ["show", "3", "-a", "-f"], ["diff", "1", "2"], ["history"],
  ["dataflow", "2"], ["export", "4"], ["show", "three"],
];
const WRITE_COMMANDS: string[][] = [["tag", "2", "two"], ["note", "2", "text"], ["gc"], ["restore", "1"]];
const READ_ONLY_LINE = /^now: the store \S+ is read-only \([^\n]*\); only reading commands \(list, show, diff, query…\) work on it\n$/;

function checkReadOnlyStore(dir: string, expected: Map<string, string>): void {
  for (const args of READ_COMMANDS) {
    const r = nowAsUser(args, dir);
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, "", args.join(" "));
    assert.equal(r.stdout, expected.get(args.join(" ")), `${args.join(" ")} prints what it prints on a writable store`);
  }
  const script = fs.readFileSync(path.join(dir, "s.py"));
  for (const args of WRITE_COMMANDS) {
    const r = nowAsUser(args, dir);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, READ_ONLY_LINE, args.join(" "));
  }
  assert.deepEqual(fs.readFileSync(path.join(dir, "s.py")), script, "a refused restore wrote nothing");
  const daemon = nowAsUser(["daemon", "start", "--idle", "5"], dir);
  assert.notEqual(daemon.status, 0);
  assert.match(daemon.stderr, READ_ONLY_LINE);
  const doctor = nowAsUser(["doctor"], dir);
  assert.match(doctor.stdout, /the store is healthy/);
}

/** What the read commands print on the writable store (the orphan finished first). */
function outputsOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const args of READ_COMMANDS) out.set(args.join(" "), now(args, { cwd: dir }).stdout);
  return out;
}

test("read-only files: read commands read it as it is, writing ones refuse in one line", () => {
  const dir = project();
  const expected = outputsOf(dir);
  const before = sha(dbFile(dir));
  makeReadOnly(dir, "files");
  checkReadOnlyStore(dir, expected);
  assert.equal(sha(dbFile(dir)), before, "the database was not written");
  const q = nowAsUser(["query", "SELECT count(*) AS n FROM trial"], dir);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /\b13\b/);

  // An orphaned trial is left alone (recovering it writes) until the store is writable.
  makeWritable(dir);
  orphanTrial(dir, 7);
  const orphaned = sha(dbFile(dir));
  makeReadOnly(dir, "files");
  const list = json(nowAsUser(["list", "--json"], dir)) as { id: number; status: string }[];
  assert.equal(list.find((t) => t.id === 7)!.status, "running", "no recovery on a read-only store");
  assert.equal(sha(dbFile(dir)), orphaned);
  makeWritable(dir);
  assert.equal((json(now(["list", "--json"], { cwd: dir })) as { id: number; status: string }[]).find((t) => t.id === 7)!.status,
    "interrupted", "once writable, the next command recovers the orphan");
});

test("read-only folder without -wal/-shm (read as immutable): read commands work, writing ones refuse", () => {
  const dir = project();
  for (const side of ["-wal", "-shm"]) assert.equal(fs.existsSync(dbFile(dir) + side), false);
  const expected = outputsOf(dir);
  const before = sha(dbFile(dir));
  makeReadOnly(dir, "folder");
  checkReadOnlyStore(dir, expected);
  assert.equal(sha(dbFile(dir)), before);
  assert.deepEqual(fs.readdirSync(path.join(dir, ".now")).sort(), ["README", "cache", "content", "db.sqlite", "trials"].filter((f) => fs.existsSync(path.join(template, ".now", f))).sort());
  const run = nowAsUser(["run", "s.py", "3"], dir);
  assert.match(run.stderr, /^now: .*the store \S+ is read-only/, "now run says the store is read-only");
  assert.equal(run.stderr.split("\n").filter(Boolean).length, 1, run.stderr);
});

test("read-only folder: now query", () => {
  const dir = project();
  makeReadOnly(dir, "folder");
  const q = nowAsUser(["query", "SELECT count(*) AS n FROM trial"], dir);
  assert.equal(q.status, 0, q.stderr);
});

function unshareWorks(): boolean {
  return spawnSync("unshare", ["-rm", "true"]).status === 0;
}

/** Runs `now` with `.now/` bind-mounted read-only over itself, in a user and mount namespace. */
function nowOnReadOnlyMount(args: string[], dir: string): SpawnSyncReturns<string> {
  const quoted = [process.execPath, NOW, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return spawnSync("unshare", ["-rm", "sh", "-c", `mount --bind .now .now && mount -o remount,bind,ro .now && exec ${quoted}`], {
    cwd: dir, encoding: "utf8", env: { ...process.env, NOW_PYTHON: PYTHON },
  });
}

test("read-only mount (EROFS): read commands work, writing ones and daemon start refuse in one line", (t) => {
  if (!unshareWorks()) return t.skip("unshare -rm is refused here: no read-only mount to test on");
  const dir = project();
  const expected = outputsOf(dir);
  for (const args of READ_COMMANDS) {
    const r = nowOnReadOnlyMount(args, dir);
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, expected.get(args.join(" ")));
  }
  for (const args of [...WRITE_COMMANDS, ["daemon", "start", "--idle", "5"]]) {
    const r = nowOnReadOnlyMount(args, dir);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, READ_ONLY_LINE, args.join(" "));
  }
});

test("daemon start where .now cannot even be created: one line", () => {
  const dir = tempProject("nowls-doctor-nodir-");
  if (IS_ROOT) fs.chownSync(dir, NOBODY, NOBODY);
  fs.chmodSync(dir, 0o555);
  const r = nowAsUser(["daemon", "start", "--idle", "5"], dir);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, READ_ONLY_LINE);
  assert.equal(fs.existsSync(path.join(dir, ".now")), false);
});

test("daemon start meeting an unwritable file in .now while starting (its log): one line, no stack", () => {
  const dir = project();
  const log = path.join(dir, ".now", "daemon.log");
  fs.writeFileSync(log, "");
  fs.chmodSync(dir, 0o755);
  if (IS_ROOT) {
    fs.chownSync(dir, NOBODY, NOBODY);
    walk(dir, (p) => fs.lchownSync(p, NOBODY, NOBODY));
  }
  fs.chmodSync(log, 0o444);
  const r = nowAsUser(["daemon", "start", "--idle", "5"], dir);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^now: the store \S+daemon\.log is read-only \(EACCES: open refused\); only reading/);
  assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
});

test("read-only folder with a -wal but no -shm: read as of the last checkpoint, with a note on stderr", () => {
  const src = project();
  const writer = new Database(dbFile(src));
  writer.pragma("wal_autocheckpoint = 0");
  writer.prepare("UPDATE trial SET exit_code = 42 WHERE id = 1").run();
  const dir = tempProject("nowls-doctor-wal-");
  fs.cpSync(path.join(src, ".now"), path.join(dir, ".now"), { recursive: true, filter: (p) => !p.endsWith("-shm") });
  writer.close();
  assert.ok(fs.statSync(dbFile(dir) + "-wal").size > 0);
  makeReadOnly(dir, "folder");
  const r = nowAsUser(["list", "--json"], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^now: note: \S+db\.sqlite-wal cannot be read without write access; the last transactions in it are not shown\n$/);
  assert.equal((JSON.parse(r.stdout) as { id: number; exit_code: number }[]).find((t) => t.id === 1)!.exit_code, 0);
});

// ---- damage ----

/** The leaf pages of each table, in file order (SQLite's dbstat). */
function leafPages(file: string): Map<string, number[]> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT name, pageno FROM dbstat WHERE pagetype = 'leaf' ORDER BY pageno").all() as { name: string; pageno: number }[];
    const out = new Map<string, number[]>();
    for (const r of rows) out.set(r.name, [...(out.get(r.name) ?? []), r.pageno]);
    return out;
  } finally {
    db.close();
  }
}

/** Overwrites whole pages with garbage (a fixed pattern: the damage is the same every run). */
function overwritePages(file: string, pages: number[]): void {
  const size = 4096;
  const fd = fs.openSync(file, "r+");
  const garbage = Buffer.alloc(size);
  for (let i = 0; i < size; i++) garbage[i] = (i * 131 + 17) % 251;
  for (const p of pages) fs.writeSync(fd, garbage, 0, size, (p - 1) * size);
  fs.closeSync(fd);
}

const middle = <T>(xs: T[], n = 1): T[] => xs.slice(Math.floor((xs.length - n) / 2), Math.floor((xs.length - n) / 2) + n);

/** Damages one page of trials and a few of activations, modules and environments. */
function damageMiddle(dir: string): void {
  const leaves = leafPages(dbFile(dir));
  const trialLeaves = leaves.get("trial")!;
  assert.ok(trialLeaves.length >= 3, `the trial table has ${trialLeaves.length} leaves`);
  const pages = [...middle(trialLeaves), ...middle(leaves.get("activation")!, 3), ...middle(leaves.get("module")!), ...middle(leaves.get("environment")!)];
  overwritePages(dbFile(dir), pages);
}

const DAMAGED_LINE = /^now: the store (\S+db\.sqlite) is damaged \(database disk image is malformed\); `now doctor` checks it and `now doctor --salvage` copies what can be saved into a fresh store\n$/;

test("a database damaged in the middle: one line from any command; doctor finds it; --salvage saves the rest", () => {
  const dir = project();
  const contentBefore = listContent(dir);
  damageMiddle(dir);
  const damagedSha = sha(dbFile(dir));

  for (const args of [["list"], ["list", "--json"], ["history"], ["gc"]]) {
    const r = now(args, { cwd: dir });
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(r.stdout, "", args.join(" "));
    assert.match(r.stderr, DAMAGED_LINE, args.join(" "));
    assert.equal(DAMAGED_LINE.exec(r.stderr)![1], dbFile(dir));
  }

  const doctor = now(["doctor"], { cwd: dir });
  assert.equal(doctor.status, 1);
  assert.match(doctor.stdout, /^PROBLEM: integrity check of \S+ stopped: database disk image is malformed; damaged: .*trial/m);
  assert.match(doctor.stdout, /^the store has problems$/m);

  const salvage = now(["doctor", "--salvage"], { cwd: dir });
  assert.equal(salvage.status, 0, salvage.stderr);
  const m = /^trials: (\d+) of 13 saved \(lost: ([\d–, ]+)\)$/m.exec(salvage.stdout);
  assert.ok(m, salvage.stdout);
  const saved = Number(m[1]);
  assert.ok(saved > 0 && saved < TRIALS, salvage.stdout);
  assert.match(salvage.stdout, /^activation rows: \d+ saved; \d+ damaged stretch(es)? skipped/m);
  assert.match(salvage.stdout, /^integrity check of the fresh store: ok$/m);

  const kept = fs.readdirSync(path.join(dir, ".now")).filter((f) => /^db\.sqlite\.damaged-[\dT-]+Z$/.test(f));
  assert.equal(kept.length, 1, "the damaged file is kept");
  assert.equal(sha(path.join(dir, ".now", kept[0])), damagedSha, "byte for byte");
  assert.deepEqual(listContent(dir), contentBefore, "the content store is left as it is");

  const trials = json(now(["list", "--json"], { cwd: dir })) as { id: number }[];
  assert.equal(trials.length, saved);
  assert.equal(integrity(dir), "ok");
  const db = new Database(dbFile(dir), { readonly: true });
  assert.deepEqual(db.pragma("foreign_key_check"), []);
  const lostRowsWarned = db.prepare("SELECT count(*) AS n FROM trial_warning WHERE message LIKE 'now doctor --salvage:%'").get() as { n: number };
  db.close();
  assert.ok(lostRowsWarned.n > 0, "trials that lost rows say so");
  for (const t of trials) assert.equal(now(["show", String(t.id), "-a", "-f"], { cwd: dir }).status, 0, `show ${t.id}`);
  const healthy = now(["doctor"], { cwd: dir });
  assert.equal(healthy.status, 0, healthy.stdout);

  const run = now(["run", "s.py", "5"], { cwd: dir });
  assert.equal(run.status, 0, run.stderr);
  assert.equal((json(now(["list", "--json"], { cwd: dir })) as unknown[]).length, saved + 1, "the salvaged store records again");
});

test("a damaged header (not a database): one line; salvage keeps the file and starts a fresh store", () => {
  const dir = project();
  overwritePages(dbFile(dir), [1]);
  const r = now(["list"], { cwd: dir });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^now: the store \S+db\.sqlite is damaged \([^)]*\); `now doctor` checks it/);
  assert.equal(r.stderr.split("\n").filter(Boolean).length, 1);
  const doctor = now(["doctor"], { cwd: dir });
  assert.equal(doctor.status, 1);
  assert.match(doctor.stdout, /^PROBLEM: \S+ cannot be opened: /m);
  const salvage = now(["doctor", "--salvage"], { cwd: dir });
  assert.equal(salvage.status, 0, salvage.stderr);
  assert.match(salvage.stdout, /^nothing could be read from the damaged file \(file is not a database\): the fresh store is empty$/m);
  assert.equal(fs.readdirSync(path.join(dir, ".now")).filter((f) => f.startsWith("db.sqlite.damaged-")).length, 1);
  assert.equal(now(["list"], { cwd: dir }).stdout, "no trials recorded yet\n");
  assert.equal(integrity(dir), "ok");
});

test("salvage is refused while a daemon holds the store, and on a read-only store", () => {
  const dir = project();
  damageMiddle(dir);
  fs.writeFileSync(path.join(dir, ".now", "daemon.lock"), String(process.pid));
  const r = now(["doctor", "--salvage"], { cwd: dir });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^now: a daemon runs for \S+ \(pid \d+\); stop it first \(`now daemon stop`\)\n$/);
  fs.rmSync(path.join(dir, ".now", "daemon.lock"));
  assert.equal(fs.readdirSync(path.join(dir, ".now")).filter((f) => f.includes("damaged") || f.includes("salvage")).length, 0);
  makeReadOnly(dir, "folder");
  const ro = nowAsUser(["doctor", "--salvage"], dir);
  assert.notEqual(ro.status, 0);
  assert.match(ro.stderr, READ_ONLY_LINE);
  const check = nowAsUser(["doctor"], dir);
  assert.equal(check.status, 1, "doctor checks a read-only damaged store");
});

test("salvage of a sound database changes nothing", () => {
  const dir = project();
  const before = sha(dbFile(dir));
  const r = now(["doctor", "--salvage"], { cwd: dir });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /is sound: nothing to salvage/);
  assert.equal(sha(dbFile(dir)), before);
});

// ---- the other checks ----

function listContent(dir: string): string[] {
  const out: string[] = [];
  walk(path.join(dir, ".now", "content"), (p, isDir) => { if (!isDir) out.push(path.relative(dir, p)); });
  return out.sort();
}

test("doctor: healthy store, then missing and altered blobs, a stray log, an orphan, a newer schema", () => {
  const dir = project();
  const ok = now(["doctor"], { cwd: dir });
  assert.equal(ok.status, 0, ok.stdout);
  assert.match(ok.stdout, /^ok: integrity check of \S+: ok$/m);
  assert.match(ok.stdout, /^ok: schema version \d+: current$/m);
  assert.match(ok.stdout, /^ok: every referenced content is in content\/$/m);
  assert.match(ok.stdout, /^ok: \d+ blobs match their hash$/m);
  assert.match(ok.stdout, /^the store is healthy$/m);
  assert.equal(json(now(["doctor", "--json"], { cwd: dir })).healthy, true);

  const blobs = listContent(dir).map((p) => path.join(dir, p));
  fs.rmSync(blobs[0]);
  fs.chmodSync(blobs[1], 0o644);
  fs.appendFileSync(blobs[1], "tampered");
  const stray = path.join(dir, ".now", "trials", "00000000-0000-4000-8000-000000000000");
  fs.mkdirSync(stray, { recursive: true });
  fs.writeFileSync(path.join(stray, "events.jsonl"), "{}\n");
  orphanTrial(dir, 2);
  const bad = now(["doctor"], { cwd: dir });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /^PROBLEM: 1 referenced contents missing from content\/, e\.g\. [0-9a-f]{64}$/m);
  assert.match(bad.stdout, /^PROBLEM: 1 of \d+ blobs do not match their hash, e\.g\. \.now\/content\//m);
  assert.match(bad.stdout, /^PROBLEM: event log trials\/00000000-0000-4000-8000-000000000000 \(3 bytes\) belongs to no trial in the store$/m);
  assert.match(bad.stdout, /^the store has problems$/m);
  // The orphan's log was removed once ingested; a trial marked running without a log is
  // what `now list` recovers, so doctor lists it only while its log waits.

  const db = new Database(dbFile(dir));
  db.pragma("user_version = 99");
  db.close();
  const newer = now(["doctor"], { cwd: dir });
  assert.match(newer.stdout, /^PROBLEM: schema version 99 is newer than this nowls \(\d+\): upgrade nowls$/m);
});

test("doctor notes an interrupted trial whose log waits for recovery", () => {
  const dir = project();
  const uuid = (json(now(["list", "--json"], { cwd: dir })) as { id: number; uuid: string }[]).find((t) => t.id === 4)!.uuid;
  const log = path.join(dir, ".now", "trials", uuid, "events.jsonl");
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, "x".repeat(100));
  const db = new Database(dbFile(dir));
  db.prepare("UPDATE trial SET status = 'running', runner_pid = 999999999, tracer_pid = NULL, ingested_bytes = 40 WHERE id = 4").run();
  db.close();
  const r = now(["doctor"], { cwd: dir });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^note: trial 4 was interrupted with 60 bytes of its log not ingested: the next `now` command on a writable store ingests them$/m);
});

// ---- the one-line translations ----

test("environment-caused SqliteErrors and .now file errors become one line; bugs keep their stack", () => {
  const err = (code: string, message: string) => new Database.SqliteError(message, code);
  const file = "/p/.now/db.sqlite";
  assert.match(storeErrorOf(err("SQLITE_CORRUPT", "database disk image is malformed"), file)!.message, /^the store \/p\/\.now\/db\.sqlite is damaged/);
  assert.match(storeErrorOf(err("SQLITE_NOTADB", "file is not a database"), file)!.message, /is damaged \(file is not a database\)/);
  assert.match(storeErrorOf(err("SQLITE_READONLY", "attempt to write a readonly database"), file)!.message, /is read-only/);
  assert.match(storeErrorOf(err("SQLITE_FULL", "database or disk is full"), file)!.message, /the disk is full/);
  assert.match(storeErrorOf(err("SQLITE_BUSY", "database is locked"), file)!.message, /stayed locked by another process/);
  assert.match(storeErrorOf(err("SQLITE_CANTOPEN", "unable to open database file"), file)!.message, /^cannot use the store/);
  assert.match(storeErrorOf(err("SQLITE_IOERR_SHORT_READ", "disk I/O error"), file)!.message, /^cannot use the store/);
  assert.equal(storeErrorOf(err("SQLITE_CONSTRAINT_PRIMARYKEY", "UNIQUE constraint failed"), file), null);
  assert.equal(storeErrorOf(new Error("plain"), file), null);

  const fsErr = (code: string, p: string) => Object.assign(new Error(`${code}: x`), { code, path: p, syscall: "open" });
  assert.match(fsStoreErrorOf(fsErr("EROFS", "/p/.now/daemon.lock"))!.message, /^the store \/p\/\.now\/daemon\.lock is read-only \(EROFS/);
  assert.match(fsStoreErrorOf(fsErr("EACCES", "/p/.now"))!.message, /is read-only \(EACCES/);
  assert.match(fsStoreErrorOf(fsErr("ENOSPC", "/p/.now/content/ab/cd"))!.message, /the disk is full/);
  assert.equal(fsStoreErrorOf(fsErr("EACCES", "/p/data.csv")), null, "errors outside .now stay bugs or belong to their command");
  assert.equal(fsStoreErrorOf(fsErr("ENOENT", "/p/.now/x")), null);
});
