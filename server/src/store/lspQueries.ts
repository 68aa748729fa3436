// Read functions the language server needs: what one trial recorded about one file.
import type { DB } from "./database";
import { getTrial, type TrialRow } from "./queries";

/**
 * Trials that ran `file` (root-relative), newest first: as their script, or as a local
 * module they imported. `hash` is the stored text of the file in that trial.
 */
export function trialsOfFile(db: DB, file: string, limit = 20): { trial: TrialRow; hash: string | null }[] {
  const rows = db.prepare(
    `SELECT t.id AS id, CASE WHEN t.script = @file THEN t.script_hash ELSE m.hash END AS hash
       FROM trial t LEFT JOIN module m ON m.trial_id = t.id AND m.local = 1 AND m.path = @file
      WHERE t.script = @file OR m.path IS NOT NULL
      GROUP BY t.id ORDER BY t.id DESC LIMIT @limit`,
  ).all({ file, limit }) as { id: number; hash: string | null }[];
  return rows.map((r) => ({ trial: getTrial(db, r.id)!, hash: r.hash }));
}

/** The stored text's hash of `file` in one trial (script or local module), null if it did not run it. */
export function fileHashInTrial(db: DB, trialId: number, file: string): string | null {
  const r = db.prepare(
    `SELECT CASE WHEN t.script = @file THEN t.script_hash ELSE
              (SELECT hash FROM module m WHERE m.trial_id = t.id AND m.local = 1 AND m.path = @file) END AS hash
       FROM trial t WHERE t.id = @id`,
  ).get({ id: trialId, file }) as { hash: string | null } | undefined;
  return r?.hash ?? null;
}

/** The last trial of `script` before trial `before`, or null. */
export function previousTrialOfScript(db: DB, script: string, before: number): number | null {
  const r = db.prepare(`SELECT max(id) AS id FROM trial WHERE script = ? AND id < ?`).get(script, before) as { id: number | null };
  return r.id;
}

export interface LineValueRow { target: string; kind: string; value: string | null; count: number }

/** Values recorded on one line of one file in a trial (elided loop stand-ins included), in order. */
export function valuesOnLine(db: DB, trialId: number, file: string, line: number): LineValueRow[] {
  return db.prepare(
    `SELECT v.target, v.kind, v.value, v.count
       FROM value v
       JOIN activation a ON a.trial_id = v.trial_id AND a.id = v.activation_id
       JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE v.trial_id = ? AND c.file = ? AND v.line = ? ORDER BY v.id`,
  ).all(trialId, file, line) as LineValueRow[];
}

export interface FunctionCallRow {
  file: string; qualname: string; line: number; duration: number | null; status: string;
  args: [string, string][]; return_value: string | null; exception_type: string | null; exception_message: string | null;
}

/** How many activations a function (file + qualname) had in a trial. */
export function countCalls(db: DB, trialId: number, file: string, qualname: string): number {
  const stored = db.prepare(
    `SELECT sum(calls) AS n, count(*) - count(calls) AS missing FROM code WHERE trial_id = ? AND file = ? AND qualname = ?`,
  ).get(trialId, file, qualname) as { n: number | null; missing: number };
  if (stored.missing === 0) return stored.n ?? 0;
  return (db.prepare(
    `SELECT (SELECT count(*) FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
              WHERE a.trial_id = @t AND c.file = @f AND c.qualname = @q)
          + (SELECT coalesce(sum(elided), 0) FROM code WHERE trial_id = @t AND file = @f AND qualname = @q) AS n`,
  ).get({ t: trialId, f: file, q: qualname }) as { n: number }).n;
}

/** `calls` counts every activation; `recorded` those with a row (the rest were beyond the
 *  trial's calls_keep: counted by the tracer only), which `total` is the duration of. */
export interface CallSummary { file: string; qualname: string; line: number; calls: number; recorded: number; total: number; last: FunctionCallRow }

/**
 * Activations of the functions named `name` in a trial, grouped by definition: how many,
 * their total duration, and the last one — without reading every activation's row.
 */
export function callSummaries(db: DB, trialId: number, name: string, where?: { file: string; line?: number }): CallSummary[] {
  const groups = db.prepare(
    `SELECT c.file, c.qualname, c.line, count(*) AS recorded, coalesce(sum(a.finish - a.start), 0) AS total, max(a.id) AS last,
            (SELECT coalesce(sum(e.elided), 0) FROM code e
              WHERE e.trial_id = @trial AND e.file = c.file AND e.qualname = c.qualname AND e.line = c.line) AS elided
       FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE a.trial_id = @trial AND c.name = @name
        AND (@file IS NULL OR c.file = @file) AND (@line IS NULL OR c.line = @line)
      GROUP BY c.file, c.qualname, c.line ORDER BY last`,
  ).all({ trial: trialId, name, file: where?.file ?? null, line: where?.line ?? null }) as
    { file: string; qualname: string; line: number; recorded: number; elided: number; total: number; last: number }[];
  const one = db.prepare(
    `SELECT c.file, c.qualname, c.line, a.finish - a.start AS duration, a.status, a.args, a.return_value,
            a.exception_type, a.exception_message
       FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE a.trial_id = ? AND a.id = ?`,
  );
  return groups.map(({ elided, ...g }) => {
    const r = one.get(trialId, g.last) as Omit<FunctionCallRow, "args"> & { args: string };
    return { ...g, calls: g.recorded + elided, last: { ...r, args: JSON.parse(r.args) } };
  });
}

/** The last line at or before `line` of `file` where a trial recorded a value of `target`; null if none. */
export function lastAssignmentLine(db: DB, trialId: number, file: string, target: string, line: number): number | null {
  const r = db.prepare(
    `SELECT max(v.line) AS line
       FROM value v
       JOIN activation a ON a.trial_id = v.trial_id AND a.id = v.activation_id
       JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE v.trial_id = ? AND c.file = ? AND v.target = ? AND v.line <= ? AND v.kind NOT IN ('mutation', 'elided')`,
  ).get(trialId, file, target, line) as { line: number | null };
  return r.line;
}

export interface LastValueRow { line: number; target: string; value: string | null; count: number }

/**
 * For each line and target of a file in a trial: its last value and how many values it
 * got (loop stand-ins counted in), for inlay hints. Definitions, parameters and returns
 * are left out: they are not "the value after this line".
 */
/**
 * The last value of each (line, target) of a file. `assignments`: only lines that bind the
 * name, not those that mutate the object it holds (`parser.add_argument(…)` repeats
 * `parser`'s value: an inlay hint there says nothing new).
 */
export function lastValuesOfFile(db: DB, trialId: number, file: string, assignments = false): LastValueRow[] {
  const skipped = assignments ? "'def', 'class', 'param', 'return', 'import', 'mutation'" : "'def', 'class', 'param', 'return', 'import'";
  const rows = db.prepare(
    `SELECT v.line AS line, v.target AS target, v.value AS value, v.count AS count, v.kind AS kind
       FROM value v
       JOIN activation a ON a.trial_id = v.trial_id AND a.id = v.activation_id
       JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE v.trial_id = ? AND c.file = ? AND v.kind NOT IN (${skipped})
      ORDER BY v.id`,
  ).all(trialId, file) as (LastValueRow & { kind: string })[];
  const byKey = new Map<string, LastValueRow>();
  for (const r of rows) {
    const key = `${r.line}\u0000${r.target}`;
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, { line: r.line, target: r.target, value: r.kind === "elided" ? null : r.value, count: r.count });
    else {
      prev.count += r.count;
      if (r.kind !== "elided") prev.value = r.value;
    }
  }
  return [...byKey.values()].sort((x, y) => x.line - y.line);
}

/** `calls`: every activation; `elided`: those beyond calls_keep (counted only), which
 *  `total` (the duration) leaves out. */
export interface FunctionStats { qualname: string; calls: number; elided: number; total: number }

/** Per function (qualname) of a file in a trial: activations and their total duration. */
export function functionStats(db: DB, trialId: number, file: string): FunctionStats[] {
  const stored = db.prepare(
    `SELECT qualname, sum(calls) AS calls, sum(elided) AS elided, sum(total) AS total, count(*) - count(calls) AS missing
       FROM code WHERE trial_id = ? AND file = ? AND kind <> 'module' GROUP BY qualname`,
  ).all(trialId, file) as (FunctionStats & { missing: number })[];
  if (stored.every((r) => r.missing === 0)) return stored.filter((r) => r.calls > 0).map(({ missing: _m, ...r }) => r);
  return db.prepare(
    `SELECT c.qualname AS qualname, count(*) + (SELECT coalesce(sum(e.elided), 0) FROM code e
              WHERE e.trial_id = c.trial_id AND e.file = c.file AND e.qualname = c.qualname) AS calls,
            (SELECT coalesce(sum(e.elided), 0) FROM code e
              WHERE e.trial_id = c.trial_id AND e.file = c.file AND e.qualname = c.qualname) AS elided,
            coalesce(sum(a.finish - a.start), 0) AS total
       FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE a.trial_id = ? AND c.file = ? AND c.kind <> 'module' GROUP BY c.qualname`,
  ).all(trialId, file) as FunctionStats[];
}

export interface AccessRow {
  id: number; path: string; mode: string; hash_before: string | null; hash_after: string | null;
  closed_at_exit: number; activation_id: number | null; function: string | null;
}

/** The file accesses of a trial whose path is `name` or ends with `/name`. */
export function accessesNamed(db: DB, trialId: number, name: string): AccessRow[] {
  return db.prepare(
    `SELECT f.id, f.path, f.mode, f.hash_before, f.hash_after, f.closed_at_exit, f.activation_id, c.qualname AS function
       FROM file_access f
       LEFT JOIN activation a ON a.trial_id = f.trial_id AND a.id = f.activation_id
       LEFT JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE f.trial_id = ? AND (f.path = ? OR f.path LIKE ? ESCAPE '\\') ORDER BY f.id`,
  ).all(trialId, name, "%/" + name.replace(/[\\%_]/g, (m) => "\\" + m)) as AccessRow[];
}
