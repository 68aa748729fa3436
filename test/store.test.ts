import assert from "node:assert/strict";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { Ingester } from "../server/src/ingest/ingester";
import { openDatabase } from "../server/src/store/database";
import { SCHEMA_VERSION } from "../server/src/store/migrations";
import { countActivations, getActivationCounts, getActivations, getElidedCalls, getEnvironment, getFileAccesses, getTrial, getWarnings, integrityCheck } from "../server/src/store/queries";
import { callSummaries, countCalls, functionStats } from "../server/src/store/lspQueries";
import { createTrial, TrialWriter } from "../server/src/store/writer";
import { NowError } from "../server/src/errors";
import { REPO } from "./helpers";

function freshRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "nowls-store-"));
}

function newTrial(db: ReturnType<typeof openDatabase>, root: string, uuid: string): number {
  return createTrial(db, {
    uuid, script: path.join(root, "main.py"), argv: ["main.py"], command: "now run main.py", python: "python3",
    cwd: root, root, startedAt: 1, runnerPid: process.pid, runnerHost: os.hostname(), granularity: "coarse",
  });
}

test("a new store gets the schema and its version", () => {
  const root = freshRoot();
  const db = openDatabase(root, { create: true });
  assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(integrityCheck(db), "ok");
  db.close();
});

test("a store from a newer nowls is refused with a clear error", () => {
  const root = freshRoot();
  openDatabase(root, { create: true }).close();
  const raw = new Database(path.join(root, ".now", "db.sqlite"));
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(() => openDatabase(root, { create: false }), (e: unknown) =>
    e instanceof NowError && new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this nowls understands \\(${SCHEMA_VERSION}\\); upgrade nowls`).test(e.message));
});

test("a database that is not a nowls store is refused, not overwritten", () => {
  const root = freshRoot();
  fs.mkdirSync(path.join(root, ".now"));
  const raw = new Database(path.join(root, ".now", "db.sqlite"));
  raw.exec("CREATE TABLE mine (x)");
  raw.close();
  assert.throws(() => openDatabase(root, { create: true }), /is not a nowls store/);
  const again = new Database(path.join(root, ".now", "db.sqlite"));
  assert.deepEqual(again.prepare("SELECT name FROM sqlite_master").all(), [{ name: "mine" }]);
  again.close();
});

test("trial numbers are distinct across connections", () => {
  const root = freshRoot();
  const a = openDatabase(root, { create: true });
  const b = openDatabase(root, { create: false });
  const ids = [newTrial(a, root, "u1"), newTrial(b, root, "u2"), newTrial(a, root, "u3")];
  assert.deepEqual(ids, [1, 2, 3]);
  a.close();
  b.close();
});

test("a killed tracer's log: the complete prefix is stored, the rest reported, nothing fatal", () => {
  const root = "/proj";
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, root, "00000000-0000-4000-8000-000000000001");
  const log = path.join(REPO, "test", "fixtures", "logs", "killed-midway.jsonl");
  const ingester = new Ingester(db, id, root, log);
  ingester.poll();
  new TrialWriter(db, id, root).finish({ status: "interrupted", exitCode: null, signal: "SIGKILL", finishedAt: 2 });

  const t = getTrial(db, id)!;
  assert.equal(t.status, "interrupted");
  assert.equal(t.signal, "SIGKILL");
  assert.deepEqual(t.argv, ["main.py", "x"]);
  const acts = getActivations(db, id).map((a) => [a.id, a.parent_id, a.qualname, a.file, a.status, a.return_value]);
  assert.deepEqual(acts, [
    [1, null, "<module>", "main.py", "running", null],
    [2, 1, "load", "lib.py", "returned", "'hello'"],
    [3, 1, "load", "lib.py", "running", null],
  ]);
  assert.deepEqual(getFileAccesses(db, id).map((f) => [f.path, f.mode, f.hash_before, f.hash_after, f.function]),
    [["in.txt", "r", "bb22", "bb22", "load"]]);
  assert.deepEqual(getEnvironment(db, id), [
    { name: "API_TOKEN", value: "<redacted>", redacted: true },
    { name: "HOME", value: "/root", redacted: false },
  ]);
  const warnings = getWarnings(db, id);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /unreadable line skipped .*: this line is not json/);
  // The partial last line is left unread, ready for the rest of it.
  const size = fs.statSync(log).size;
  const lastLine = fs.readFileSync(log, "utf8").split("\n").at(-1)!;
  assert.equal(t.ingested_bytes, size - Buffer.byteLength(lastLine));
  assert.equal(integrityCheck(db), "ok");
  db.close();
});

test("ingestion resumes from the stored offset without duplicating rows", () => {
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, "/proj", "00000000-0000-4000-8000-000000000001");
  const src = fs.readFileSync(path.join(REPO, "test", "fixtures", "logs", "killed-midway.jsonl"), "utf8");
  const log = path.join(dir, "events.jsonl");
  const lines = src.split("\n");
  fs.writeFileSync(log, lines.slice(0, 5).join("\n") + "\n" + lines[5].slice(0, 20));
  new Ingester(db, id, "/proj", log).poll();
  assert.equal(getActivations(db, id).length, 1);
  fs.writeFileSync(log, src);
  new Ingester(db, id, "/proj", log).poll();
  assert.deepEqual(getActivations(db, id).map((a) => a.id), [1, 2, 3]);
  db.close();
});

test("an event log from a newer tracer format is reported, not misread", () => {
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, "/proj", "u");
  const log = path.join(dir, "events.jsonl");
  fs.writeFileSync(log, JSON.stringify({ e: "header", format: "now-events", version: 99 }) + "\n");
  new Ingester(db, id, "/proj", log).poll();
  assert.match(getWarnings(db, id)[0], /event log version 99 is newer than this nowls reads \(1\)/);
  db.close();
});

test("bounded activations: calls beyond calls_keep are counted on their function, without rows", () => {
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, "/proj", "00000000-0000-4000-8000-000000000002");
  const log = path.join(dir, "events.jsonl");
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "logs", "bounded-calls.jsonl"), log);
  new Ingester(db, id, "/proj", log).poll();
  new TrialWriter(db, id, "/proj").finish({ status: "finished", exitCode: 0, signal: null, finishedAt: 2 });
  assert.deepEqual(getActivations(db, id).map((a) => [a.id, a.qualname, a.parent_id]), [[1, "<module>", null], [2, "fib", 1], [3, "fib", 2], [4, "leaf", 3]]);
  assert.deepEqual(countActivations(db, id), { activations: 4, functions: 3, elided: 3 });
  assert.deepEqual(getElidedCalls(db, id), [{ code_id: 2, file: "main.py", qualname: "fib", count: 3 }]);
  assert.equal(getActivationCounts(db, id).get("main.py:fib"), 5);
  assert.equal(countCalls(db, id, "main.py", "fib"), 5);
  const fib = callSummaries(db, id, "fib");
  assert.deepEqual(fib.map((g) => [g.calls, g.recorded, g.last.args]), [[5, 2, [["n", "2"]]]]);
  assert.deepEqual(functionStats(db, id, "main.py").map((f) => [f.qualname, f.calls, f.elided]), [["fib", 5, 3], ["leaf", 1, 0]]);
  db.close();
});

test("a version 1 store is migrated: code gets its elided column, trial its incomplete column, data kept", () => {
  const root = freshRoot();
  const db0 = openDatabase(root, { create: true });
  const id = newTrial(db0, "/proj", "00000000-0000-4000-8000-000000000003");
  const fresh = db0.prepare("PRAGMA table_info(code)").all();
  const freshTrial = db0.prepare("PRAGMA table_info(trial)").all();
  db0.close();
  // Turn it into what version 1 created: no code.elided, no trial.incomplete.
  const raw = new Database(path.join(root, ".now", "db.sqlite"));
  raw.exec("ALTER TABLE code DROP COLUMN elided");
  raw.exec("ALTER TABLE trial DROP COLUMN incomplete");
  raw.prepare("INSERT INTO code (trial_id, id, file, name, qualname, line, kind, calls, total) VALUES (?, 1, 'main.py', 'f', 'f', 1, 'function', 7, 0.5)").run(id);
  raw.pragma("user_version = 1");
  raw.close();
  const db = openDatabase(root, { create: false });
  assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
  assert.deepEqual(db.prepare("PRAGMA table_info(code)").all(), fresh, "the migrated table is the one schema.sql creates");
  assert.deepEqual(db.prepare("PRAGMA table_info(trial)").all(), freshTrial, "the migrated table is the one schema.sql creates");
  assert.deepEqual(db.prepare("SELECT calls, elided FROM code WHERE trial_id = ?").get(id), { calls: 7, elided: 0 });
  assert.equal(integrityCheck(db), "ok");
  db.close();
});

/** A log of `n` calls of one function, each returning at once, after a header. */
function callsLog(file: string, n: number): void {
  const lines = [
    JSON.stringify({ e: "header", format: "now-events", version: 1, t0: 1, pid: 1, tracer: "t", core: "settrace", core_reason: null, granularity: "coarse", script_hash: null, argv: ["main.py"] }),
    JSON.stringify({ e: "code", code: 1, file: "/proj/main.py", name: "f", qualname: "f", line: 1 }),
  ];
  for (let i = 1; i <= n; i++) {
    lines.push(JSON.stringify({ e: "call", id: i, code: 1, parent: null, t: i, args: {} }));
    lines.push(JSON.stringify({ e: "return", id: i, t: i + 0.5, value: String(i) }));
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

test("ingestion reads bounded batches: a log many times the batch size ends up whole", () => {
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, "/proj", "00000000-0000-4000-8000-000000000010");
  const log = path.join(dir, "events.jsonl");
  callsLog(log, 2000);
  const sizes: number[] = [];
  const ingester = new Ingester(db, id, "/proj", log, (events) => sizes.push(events.length), 4096);
  ingester.drain();
  assert.ok(sizes.length > 20, `${sizes.length} batches`);
  assert.ok(Math.max(...sizes) < 100, "no batch holds more than 4 KiB of lines");
  assert.equal(countActivations(db, id).activations, 2000);
  assert.equal(getTrial(db, id)!.ingested_bytes, fs.statSync(log).size);
  db.close();
});

test("ingesters of one trial on two connections, interleaved, never apply a line twice", () => {
  const dir = freshRoot();
  const a = openDatabase(dir, { create: true });
  const b = openDatabase(dir, { create: false });
  const id = newTrial(a, "/proj", "00000000-0000-4000-8000-000000000011");
  const log = path.join(dir, "events.jsonl");
  callsLog(log, 500);
  // Each was made when the stored offset was 0, as two commands recovering one trial are.
  const ia = new Ingester(a, id, "/proj", log, undefined, 1000);
  const ib = new Ingester(b, id, "/proj", log, undefined, 1500);
  let rounds = 0;
  while (ia.poll() + ib.poll() > 0) rounds++;
  assert.ok(rounds > 10);
  assert.equal(countActivations(a, id).activations, 500);
  assert.equal(getWarnings(a, id).length, 0);
  new TrialWriter(a, id, "/proj").finish({ status: "finished", exitCode: 0, signal: null, finishedAt: 2 });
  new TrialWriter(b, id, "/proj").finish({ status: "interrupted", exitCode: null, signal: null, finishedAt: 3 });
  assert.equal(getTrial(b, id)!.status, "finished", "a second finish keeps what the first one decided");
  assert.equal(integrityCheck(a), "ok");
  a.close();
  b.close();
});

test("an `incomplete` event marks the record incomplete with its reason; the status stays the script's", () => {
  const dir = freshRoot();
  const db = openDatabase(dir, { create: true });
  const id = newTrial(db, "/proj", "00000000-0000-4000-8000-000000000012");
  const log = path.join(dir, "events.jsonl");
  callsLog(log, 3);
  fs.appendFileSync(log, JSON.stringify({ e: "incomplete", t: 2.5, reason: "event log: [Errno 28] No space left on device" }) + "\n");
  new Ingester(db, id, "/proj", log).drain();
  new TrialWriter(db, id, "/proj").finish({ status: "finished", exitCode: 0, signal: null, finishedAt: 2 });
  const t = getTrial(db, id)!;
  assert.equal(t.status, "finished");
  assert.equal(t.incomplete, "event log: [Errno 28] No space left on device (after 2.5 s)");
  db.close();
});
