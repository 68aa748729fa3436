import Database from "better-sqlite3";
import { createHash } from "crypto";
import fs from "fs";
import path from "path";
import { listBlobs } from "../content";
import { lockPath } from "../daemon/paths";
import { isCorruption, NowError, ReadOnlyStoreError } from "../errors";
import { dbPath, eventLogPath, nowDir } from "../paths";
import { processAlive, trialProcessesAlive } from "../run/recover";
import { openReadOnlyFile, schemaSql, unwritablePart, type DB } from "./database";
import { referencedHashes } from "./management";
import { SCHEMA_VERSION } from "./migrations";

// `now doctor`: what is wrong with a store, and a copy of what can still be read into a
// fresh one. Everything here reads the store read-only except the final swap of files.

export type Severity = "ok" | "note" | "problem";
export interface Finding { severity: Severity; text: string }

/** Every check, each as one finding; a store is healthy when none is a problem. */
export function checkStore(root: string): Finding[] {
  const file = dbPath(root);
  let db: DB;
  try {
    db = openReadOnlyFile(file);
  } catch (e) {
    return [{ severity: "problem", text: `${file} cannot be opened: ${(e as Error).message}` }];
  }
  try {
    return [
      integrityFinding(db, file),
      schemaFinding(db),
      ...tableFindings(db),
      ...eventLogFindings(db, root),
      ...blobFindings(db, root),
    ];
  } finally {
    db.close();
  }
}

function integrityFinding(db: DB, file: string): Finding {
  let lines: string[];
  try {
    lines = (db.prepare("PRAGMA integrity_check(20)").raw().all() as string[][]).map((r) => String(r[0]));
  } catch (e) {
    const damaged = damagedTables(db);
    const which = damaged.length ? `; damaged: ${damaged.join(", ")}` : "";
    return { severity: "problem", text: `integrity check of ${file} stopped: ${(e as Error).message}${which}` };
  }
  if (lines.length === 1 && lines[0] === "ok") return { severity: "ok", text: `integrity check of ${file}: ok` };
  const more = lines.length >= 20 ? " (first 20)" : "";
  return { severity: "problem", text: `integrity check of ${file}: ${lines.length} problems${more}, e.g. ${lines[0]}` };
}

/** When the whole check cannot finish, which tables fail their own check. */
function damagedTables(db: DB): string[] {
  let tables: string[];
  try {
    tables = tableNames(db);
  } catch {
    return [];
  }
  return tables.filter((t) => {
    try {
      return db.prepare(`PRAGMA integrity_check(${q(t)})`).pluck().get() !== "ok";
    } catch {
      return true;
    }
  });
}

function schemaFinding(db: DB): Finding {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version === SCHEMA_VERSION) return { severity: "ok", text: `schema version ${version}: current` };
  if (version > SCHEMA_VERSION) return { severity: "problem", text: `schema version ${version} is newer than this nowls (${SCHEMA_VERSION}): upgrade nowls` };
  if (version === 0) return { severity: "problem", text: "schema version 0: not a nowls store, or its header is damaged" };
  return { severity: "note", text: `schema version ${version}: the next writing command upgrades it to ${SCHEMA_VERSION}` };
}

function tableFindings(db: DB): Finding[] {
  let present: Set<string>;
  try {
    present = new Set(tableNames(db));
  } catch (e) {
    return [{ severity: "problem", text: `the list of tables cannot be read: ${(e as Error).message}` }];
  }
  const missing = tableNames(freshSchema()).filter((t) => !present.has(t));
  if (missing.length === 0) return [];
  return [{ severity: "problem", text: `tables missing: ${missing.join(", ")}` }];
}

/** Logs still in trials/: a trial running, one waiting for recovery, or leftovers. */
function eventLogFindings(db: DB, root: string): Finding[] {
  const dir = path.join(nowDir(root), "trials");
  let uuids: string[];
  try {
    uuids = fs.readdirSync(dir).filter((u) => fs.existsSync(eventLogPath(root, u)));
  } catch {
    return [];
  }
  return uuids.map((uuid) => eventLogFinding(db, root, uuid));
}

function eventLogFinding(db: DB, root: string, uuid: string): Finding {
  const size = fs.statSync(eventLogPath(root, uuid)).size;
  let t: { id: number; uuid: string; status: string; ingested_bytes: number; runner_pid: number | null; tracer_pid: number | null } | undefined;
  try {
    t = db.prepare("SELECT id, uuid, status, ingested_bytes, runner_pid, tracer_pid FROM trial WHERE uuid = ?").get(uuid) as typeof t;
  } catch (e) {
    return { severity: "problem", text: `event log trials/${uuid} (${size} bytes): its trial cannot be read (${(e as Error).message})` };
  }
  if (!t) return { severity: "problem", text: `event log trials/${uuid} (${size} bytes) belongs to no trial in the store` };
  const pending = Math.max(0, size - t.ingested_bytes);
  if (t.status === "running" && trialProcessesAlive(t, root)) {
    return { severity: "ok", text: `trial ${t.id} is running (${pending} bytes of its log not ingested yet)` };
  }
  if (t.status === "running") {
    return { severity: "note", text: `trial ${t.id} was interrupted with ${pending} bytes of its log not ingested: the next \`now\` command on a writable store ingests them` };
  }
  if (pending > 0) return { severity: "note", text: `trial ${t.id} (${t.status}) has ${pending} bytes of its log that were never ingested (an incomplete last line?)` };
  return { severity: "note", text: `trial ${t.id}'s event log is fully ingested but still there (${size} bytes)` };
}

function blobFindings(db: DB, root: string): Finding[] {
  const blobs = listBlobs(root);
  const out: Finding[] = [];
  try {
    const have = new Set(blobs.map((b) => b.hash));
    const missing = [...referencedHashes(db)].filter((h) => !have.has(h));
    out.push(missing.length
      ? { severity: "problem", text: `${missing.length} referenced contents missing from content/, e.g. ${missing[0]}` }
      : { severity: "ok", text: `every referenced content is in content/` });
  } catch (e) {
    out.push({ severity: "problem", text: `the referenced contents cannot be listed: ${(e as Error).message}` });
  }
  const bad = blobs.filter((b) => hashFile(b.file) !== b.hash);
  out.push(bad.length
    ? { severity: "problem", text: `${bad.length} of ${blobs.length} blobs do not match their hash, e.g. ${path.relative(root, bad[0].file)}` }
    : { severity: "ok", text: `${blobs.length} blobs match their hash` });
  return out;
}

/** SHA-256 of a file read in chunks: a blob may be larger than memory allows. */
function hashFile(file: string): string | null {
  const h = createHash("sha256");
  const buf = Buffer.alloc(1 << 20);
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function tableNames(db: DB): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name);
}

function freshSchema(): DB {
  const db = new Database(":memory:");
  db.exec(schemaSql());
  return db;
}

// ---- salvage ----

export interface TableSalvage {
  table: string;
  saved: number;
  /** Rows in the damaged file, when it could still count them. */
  total: number | null;
  /** Damaged stretches skipped; rows in them are lost. */
  skipped: number;
  /** Rows read but refused by the fresh schema, or dropped because their trial was lost. */
  dropped: number;
  /** Trials some of whose rows in this table were lost. */
  trials: number[];
  /** Nothing after the last damaged stretch could be reached. */
  tailLost: boolean;
}

export interface SalvageReport {
  damagedFile: string;
  /** Why nothing at all could be read (the header or the schema page is damaged), or null. */
  unreadable: string | null;
  tables: TableSalvage[];
  trialsSaved: number;
  /** The highest trial number the damaged file still shows (numbers are dense from 1). */
  trialsKnown: number;
  lostTrials: number[];
  /** Saved trials whose record lost rows (marked with a trial_warning). */
  partialTrials: number[];
  integrity: string;
}

/**
 * Copies every readable row of the store into a fresh database of the current schema,
 * keeps the damaged file beside it as `db.sqlite.damaged-<time>` and puts the fresh one
 * in its place. Tables are copied in key order; where a scan meets a damaged page, the
 * copy looks for the next key it can read (probing ever further, then narrowing down)
 * and goes on from there. The content store is left as it is.
 */
export function salvageStore(root: string): SalvageReport {
  const file = dbPath(root);
  refuseWhileInUse(root);
  const tmp = `${file}.salvage-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  const dest = new Database(tmp);
  let report: Omit<SalvageReport, "damagedFile">;
  try {
    dest.exec(schemaSql());
    dest.pragma(`user_version = ${SCHEMA_VERSION}`);
    // Rows arrive table by table, children before parents, some parents lost for good:
    // references are settled once at the end (dropOrphans).
    dest.pragma("foreign_keys = OFF");
    report = copyAll(root, file, dest);
  } catch (e) {
    dest.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  dest.close();
  return { damagedFile: swapIn(file, tmp), ...report };
}

/** A daemon or a running trial writing into the file being replaced would be lost. */
function refuseWhileInUse(root: string): void {
  const refused = unwritablePart(root);
  if (refused) throw new ReadOnlyStoreError(nowDir(root), refused);
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(lockPath(root), "utf8").trim());
  } catch {
    // no daemon lock
  }
  if (pid && processAlive(pid)) throw new NowError(`a daemon runs for ${root} (pid ${pid}); stop it first (\`now daemon stop\`)`);
}

function copyAll(root: string, file: string, dest: DB): Omit<SalvageReport, "damagedFile"> {
  let src: DB | null = null;
  let unreadable: string | null = null;
  try {
    src = openReadOnlyFile(file);
    tableNames(src);
  } catch (e) {
    if (!isCorruption(e)) throw e;
    src?.close();
    src = null;
    unreadable = (e as Error).message;
  }
  try {
    refuseWhileTrialsRun(src, root);
    const trialIdsSeen = new Set<number>();
    const tables = tableNames(dest).map((t) => copyTable(src, dest, t, trialIdsSeen));
    const orphans = dropOrphans(dest);
    for (const t of tables) {
      const n = orphans.get(t.table) ?? 0;
      t.saved -= n;
      t.dropped += n;
    }
    return { unreadable, ...summarize(src, dest, tables, trialIdsSeen) };
  } finally {
    src?.close();
  }
}

function refuseWhileTrialsRun(src: DB | null, root: string): void {
  let running: { id: number; uuid: string; runner_pid: number | null; tracer_pid: number | null }[] = [];
  try {
    running = src ? src.prepare("SELECT id, uuid, runner_pid, tracer_pid FROM trial WHERE status = 'running'").all() as typeof running : [];
  } catch {
    return; // the trial table is damaged: nothing to ask it
  }
  const live = running.find((t) => trialProcessesAlive(t, root));
  if (live) throw new NowError(`trial ${live.id} is running; salvage when it has ended`);
}

interface Shape { table: string; key: string[]; keyIsInteger: boolean[]; columns: string[] }

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The fresh table's columns that the damaged file also has, and the key it is ordered by. */
function shapeOf(src: DB, dest: DB, table: string): Shape | null {
  const info = (db: DB) => db.prepare(`PRAGMA table_info(${q(table)})`).all() as { name: string; type: string; pk: number }[];
  const destCols = info(dest);
  const srcCols = new Set(info(src).map((c) => c.name));
  if (srcCols.size === 0) return null;
  const columns = destCols.map((c) => c.name).filter((c) => srcCols.has(c));
  if (hasRowid(dest, table)) return { table, key: ["rowid"], keyIsInteger: [true], columns };
  const pk = destCols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  return { table, key: pk.map((c) => c.name), keyIsInteger: pk.map((c) => /INT/i.test(c.type)), columns };
}

function hasRowid(db: DB, table: string): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${q(table)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

type Key = unknown[];
type Probe = { row: unknown[] } | "empty" | "error";

function copyTable(src: DB | null, dest: DB, table: string, trialIdsSeen: Set<number>): TableSalvage {
  const result: TableSalvage = { table, saved: 0, total: null, skipped: 0, dropped: 0, trials: [], tailLost: false };
  let shape: Shape | null = null;
  try {
    shape = src ? shapeOf(src, dest, table) : null;
  } catch {
    // the damaged file's schema cannot be read: the whole table is lost
  }
  if (!src || !shape) {
    result.tailLost = true;
    return result;
  }
  result.total = countRows(src, table);
  const s = shape;
  const insert = dest.prepare(`INSERT INTO ${q(table)} (${s.columns.map(q).join(", ")}) VALUES (${s.columns.map(() => "?").join(", ")})`);
  const touched = new Set<number>();
  const trialCol = s.columns.indexOf(table === "trial" ? "id" : "trial_id");
  const take = (row: unknown[]) => {
    const values = row.slice(s.key.length);
    if (trialCol >= 0 && typeof values[trialCol] === "number") trialIdsSeen.add(values[trialCol] as number);
    try {
      insert.run(values);
      result.saved++;
    } catch {
      result.dropped++;
    }
  };
  dest.transaction(() => {
    let from: Key | null = null;
    for (;;) {
      const { last, failed } = scan(src, s, from, take);
      if (!failed) break;
      result.skipped++;
      const after = last ?? from;
      const next = nextReadable(src, s, after);
      noteTouched(touched, s, table, after, next);
      if (!next) {
        result.tailLost = true;
        break;
      }
      from = next;
    }
  })();
  result.trials = [...touched].sort((a, b) => a - b);
  return result;
}

function countRows(src: DB, table: string): number | null {
  try {
    return (src.prepare(`SELECT count(*) AS n FROM ${q(table)}`).get() as { n: number }).n;
  } catch {
    return null;
  }
}

function selectList(s: Shape): string {
  return [...s.key, ...s.columns].map(q).join(", ").replace(/"rowid"/, "rowid");
}

function keyList(s: Shape): string {
  return s.key.map((k) => (k === "rowid" ? "rowid" : q(k))).join(", ");
}

/** Reads rows in key order from `from` (inclusive) until the end or the first damaged page. */
function scan(src: DB, s: Shape, from: Key | null, take: (row: unknown[]) => void): { last: Key | null; failed: boolean } {
  const where = from ? `WHERE (${keyList(s)}) >= (${from.map(() => "?").join(", ")})` : "";
  let last: Key | null = null;
  try {
    const stmt = src.prepare(`SELECT ${selectList(s)} FROM ${q(s.table)} ${where} ORDER BY ${keyList(s)}`).raw();
    for (const row of stmt.iterate(...(from ?? [])) as Iterable<unknown[]>) {
      take(row);
      last = row.slice(0, s.key.length);
    }
    return { last, failed: false };
  } catch (e) {
    if (!isCorruption(e)) throw e;
    return { last, failed: true };
  }
}

/** The first readable row at or after a key prefix plus a bound on the next key column. */
function probe(src: DB, s: Shape, prefix: Key, op: ">" | ">=", value: unknown): Probe {
  const conds = prefix.map((_, i) => `${keyName(s, i)} = ?`);
  conds.push(`${keyName(s, prefix.length)} ${op} ?`);
  try {
    const row = src.prepare(`SELECT ${selectList(s)} FROM ${q(s.table)} WHERE ${conds.join(" AND ")} ORDER BY ${keyList(s)} LIMIT 1`)
      .raw().get(...prefix, value) as unknown[] | undefined;
    return row ? { row } : "empty";
  } catch (e) {
    if (!isCorruption(e)) throw e;
    return "error";
  }
}

function keyName(s: Shape, i: number): string {
  return s.key[i] === "rowid" ? "rowid" : q(s.key[i]);
}

/**
 * The key of the first readable row after `after` (a damaged stretch begins there), or
 * null when none can be reached. It tries the last key column first (the same trial's
 * next rows), then each column further left, so a damaged stretch costs what it spans.
 */
function nextReadable(src: DB, s: Shape, after: Key | null): Key | null {
  const start: Key = after ?? s.keyIsInteger.map((int) => (int ? 0 : ""));
  for (let level = s.key.length - 1; level >= 0; level--) {
    const prefix = start.slice(0, level);
    const v = start[level];
    const found = typeof v === "number" ? probeIntegers(src, s, prefix, v) : typeof v === "string" ? probeStrings(src, s, prefix, v) : null;
    if (found) return found.slice(0, s.key.length);
  }
  return null;
}

/**
 * v+1, v+2, v+4 … until a probe reads a row or finds nothing further, then halving back
 * between the last damaged probe and it to the first readable row.
 */
function probeIntegers(src: DB, s: Shape, prefix: Key, v: number): unknown[] | null {
  let damaged = v;
  let step = 1;
  let r: Probe = "error";
  for (; r === "error"; step *= 2) {
    if (v + step > Number.MAX_SAFE_INTEGER) return null;
    r = probe(src, s, prefix, ">=", v + step);
    if (r === "error") damaged = v + step;
  }
  let clear = v + step / 2;
  while (clear - damaged > 1) {
    const mid = damaged + Math.floor((clear - damaged) / 2);
    const m = probe(src, s, prefix, ">=", mid);
    if (m === "error") damaged = mid;
    else [clear, r] = [mid, m];
  }
  return r === "empty" ? null : r.row;
}

/** Past `v`, then past ever shorter prefixes of it ("abd…" after "abc…", then "ac", "b"). */
function probeStrings(src: DB, s: Shape, prefix: Key, v: string): unknown[] | null {
  const first = probe(src, s, prefix, ">", v);
  if (first === "empty") return null;
  if (typeof first === "object") return first.row;
  const chars = Array.from(v);
  for (let len = chars.length; len >= 1; len--) {
    const bound = successor(chars.slice(0, len));
    if (bound === null) continue;
    const r = probe(src, s, prefix, ">=", bound);
    if (r === "empty") return null;
    if (typeof r === "object") return r.row;
  }
  return null;
}

function successor(chars: string[]): string | null {
  let cp = chars[chars.length - 1].codePointAt(0)! + 1;
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
  if (cp > 0x10ffff) return null;
  return chars.slice(0, -1).join("") + String.fromCodePoint(cp);
}

/** The trials whose rows a damaged stretch held: those between its two readable ends. */
function noteTouched(touched: Set<number>, s: Shape, table: string, after: Key | null, next: Key | null): void {
  if (table === "trial" || s.key[0] !== "trial_id") return;
  const lo = typeof after?.[0] === "number" ? (after[0] as number) : null;
  const hi = typeof next?.[0] === "number" ? (next[0] as number) : null;
  if (lo !== null && hi !== null && hi - lo <= 10000) for (let t = lo; t <= hi; t++) touched.add(t);
  else for (const t of [lo, hi]) if (t !== null) touched.add(t);
}

/**
 * Rows whose parent row was lost: a nullable reference (trial.parent_id) is cleared, any
 * other row is dropped, so the fresh store passes `PRAGMA foreign_key_check`. Answers the
 * rows dropped per table.
 */
function dropOrphans(dest: DB): Map<string, number> {
  const dropped = new Map<string, number>();
  for (let changed = true; changed;) {
    changed = false;
    for (const table of tableNames(dest)) {
      const notNull = new Set((dest.prepare(`PRAGMA table_info(${q(table)})`).all() as { name: string; notnull: number; pk: number }[])
        .filter((c) => c.notnull || c.pk).map((c) => c.name));
      const fks = dest.prepare(`PRAGMA foreign_key_list(${q(table)})`).all() as { table: string; from: string; to: string }[];
      for (const fk of fks) {
        const orphan = `${q(fk.from)} IS NOT NULL AND ${q(fk.from)} NOT IN (SELECT ${q(fk.to)} FROM ${q(fk.table)})`;
        if (!notNull.has(fk.from)) {
          dest.prepare(`UPDATE ${q(table)} SET ${q(fk.from)} = NULL WHERE ${orphan}`).run();
          continue;
        }
        const n = dest.prepare(`DELETE FROM ${q(table)} WHERE ${orphan}`).run().changes;
        if (n > 0) {
          dropped.set(table, (dropped.get(table) ?? 0) + n);
          changed = true;
        }
      }
    }
  }
  return dropped;
}

function summarize(src: DB | null, dest: DB, tables: TableSalvage[], trialIdsSeen: Set<number>): Omit<SalvageReport, "damagedFile" | "unreadable"> {
  const saved = new Set((dest.prepare("SELECT id FROM trial").all() as { id: number }[]).map((r) => r.id));
  const known = Math.max(0, maxTrialId(src) ?? 0, ...trialIdsSeen);
  const lostTrials: number[] = [];
  for (let id = 1; id <= known; id++) if (!saved.has(id)) lostTrials.push(id);
  const partialTrials = markPartialTrials(dest, tables, saved);
  const integrity = (dest.prepare("PRAGMA integrity_check").raw().all() as string[][]).map((r) => r[0]).join("; ");
  return { tables, trialsSaved: saved.size, trialsKnown: known, lostTrials, partialTrials, integrity };
}

function maxTrialId(src: DB | null): number | null {
  try {
    return src ? ((src.prepare("SELECT max(id) AS m FROM trial").get() as { m: number | null }).m) : null;
  } catch {
    return null;
  }
}

/** Saved trials that lost rows say so, where `now show` reports a trial's problems. */
function markPartialTrials(dest: DB, tables: TableSalvage[], saved: Set<number>): number[] {
  const lostIn = new Map<number, string[]>();
  for (const t of tables) for (const id of t.trials) if (saved.has(id)) lostIn.set(id, [...(lostIn.get(id) ?? []), t.table]);
  const hasIncomplete = (dest.prepare("PRAGMA table_info(trial)").all() as { name: string }[]).some((c) => c.name === "incomplete");
  const warn = dest.prepare(
    "INSERT INTO trial_warning (trial_id, seq, message) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM trial_warning WHERE trial_id = ?), ?)",
  );
  const incomplete = hasIncomplete ? dest.prepare("UPDATE trial SET incomplete = coalesce(incomplete, ?) WHERE id = ?") : null;
  dest.transaction(() => {
    for (const [id, where] of lostIn) {
      const message = `now doctor --salvage: rows of this trial were on damaged pages and are lost (${where.join(", ")})`;
      warn.run(id, id, message);
      incomplete?.run(message, id);
    }
  })();
  return [...lostIn.keys()].sort((a, b) => a - b);
}

/**
 * Keeps the damaged file (with its -wal and -shm, which belong to it) under a dated name
 * and renames the fresh database into place. Answers the damaged file's new name.
 */
function swapIn(file: string, fresh: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const damaged = `${file}.damaged-${stamp}`;
  fs.renameSync(file, damaged);
  for (const side of ["-wal", "-shm"]) {
    if (fs.existsSync(file + side)) fs.renameSync(file + side, damaged + side);
  }
  fs.renameSync(fresh, file);
  return damaged;
}
