import type { DB } from "./database";

/** A trial as commands show it. Times are Unix seconds. */
export interface TrialRow {
  id: number;
  uuid: string;
  script: string;
  script_hash: string | null;
  argv: string[];
  command: string;
  python: string;
  cwd: string;
  root: string;
  granularity: string;
  kind: "run" | "backup";
  status: "running" | "finished" | "failed" | "interrupted" | "cancelled";
  exit_code: number | null;
  signal: string | null;
  started_at: number;
  finished_at: number | null;
  duration: number | null;
  runner_pid: number | null;
  runner_host: string | null;
  tracer_pid: number | null;
  tracer_version: string | null;
  core: string | null;
  core_reason: string | null;
  ingested_bytes: number;
  exception_type: string | null;
  exception_message: string | null;
  traceback: { file: string; line: number; function: string }[] | null;
  stdout_chars: number | null;
  stderr_chars: number | null;
  parent_id: number | null;
  /** Why the record is not whole (full disk, tracer stopped); null when it is. */
  incomplete: string | null;
}

const TRIAL_COLUMNS = `t.*, t.finished_at - t.started_at AS duration`;

function trialFromRow(r: Record<string, unknown>): TrialRow {
  return {
    ...(r as unknown as TrialRow),
    argv: JSON.parse(r.argv as string),
    traceback: r.traceback ? JSON.parse(r.traceback as string) : null,
  };
}

export function listTrials(db: DB): TrialRow[] {
  return (db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trial t ORDER BY t.id`).all() as Record<string, unknown>[]).map(trialFromRow);
}

export function getTrial(db: DB, id: number): TrialRow | null {
  const r = db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trial t WHERE t.id = ?`).get(id) as Record<string, unknown> | undefined;
  return r ? trialFromRow(r) : null;
}

export function getTrialByUuid(db: DB, uuid: string): TrialRow | null {
  const r = db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trial t WHERE t.uuid = ?`).get(uuid) as Record<string, unknown> | undefined;
  return r ? trialFromRow(r) : null;
}

export function lastTrialId(db: DB): number | null {
  const r = db.prepare(`SELECT max(id) AS id FROM trial`).get() as { id: number | null };
  return r.id;
}

export function runningTrials(db: DB): TrialRow[] {
  return (db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trial t WHERE t.status = 'running' ORDER BY t.id`).all() as Record<string, unknown>[]).map(trialFromRow);
}

export interface DeploymentRow {
  os_system: string | null; os_release: string | null; os_version: string | null; os_name: string | null;
  hostname: string | null; machine: string | null;
  py_implementation: string | null; py_version: string | null; py_executable: string | null; py_prefix: string | null;
}

export function getDeployment(db: DB, trialId: number): DeploymentRow | null {
  const r = db.prepare(`SELECT * FROM deployment WHERE trial_id = ?`).get(trialId) as (DeploymentRow & { trial_id?: number }) | undefined;
  if (!r) return null;
  delete r.trial_id;
  return r;
}

export interface EnvRow { name: string; value: string; redacted: boolean }

export function getEnvironment(db: DB, trialId: number): EnvRow[] {
  return (db.prepare(`SELECT name, value, redacted FROM environment WHERE trial_id = ? ORDER BY name`).all(trialId) as
    { name: string; value: string; redacted: number }[]).map((r) => ({ ...r, redacted: !!r.redacted }));
}

export interface ModuleRow { name: string; version: string | null; path: string | null; hash: string | null; local: boolean }

export function getModules(db: DB, trialId: number): ModuleRow[] {
  return (db.prepare(`SELECT name, version, path, hash, local FROM module WHERE trial_id = ? ORDER BY name`).all(trialId) as
    (Omit<ModuleRow, "local"> & { local: number })[]).map((r) => ({ ...r, local: !!r.local }));
}

export interface ActivationRow {
  id: number;
  parent_id: number | null;
  code_id: number;
  file: string;
  name: string;
  qualname: string;
  line: number;
  kind: string;
  start: number;
  finish: number | null;
  duration: number | null;
  status: "running" | "suspended" | "returned" | "raised";
  args: [string, string][];
  return_value: string | null;
  exception_type: string | null;
  exception_message: string | null;
  yields: number;
}

export function getActivations(db: DB, trialId: number): ActivationRow[] {
  const rows = db.prepare(
    `SELECT a.id, a.parent_id, a.code_id, c.file, c.name, c.qualname, c.line, c.kind, a.start, a.finish,
            a.finish - a.start AS duration, a.status, a.args, a.return_value, a.exception_type,
            a.exception_message, a.yields
       FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE a.trial_id = ? ORDER BY a.id`,
  ).all(trialId) as (Omit<ActivationRow, "args"> & { args: string })[];
  return rows.map((r) => ({ ...r, args: JSON.parse(r.args) }));
}

/** `activations`: recorded ones; `elided`: those beyond calls_keep, counted only. */
export interface ActivationCounts { activations: number; functions: number; elided: number }

export function countActivations(db: DB, trialId: number): ActivationCounts {
  return db.prepare(
    `SELECT count(*) AS activations, count(DISTINCT code_id) AS functions,
            (SELECT coalesce(sum(elided), 0) FROM code WHERE trial_id = @t) AS elided
       FROM activation WHERE trial_id = @t`,
  ).get({ t: trialId }) as ActivationCounts;
}

export interface ElidedCalls { code_id: number; file: string; qualname: string; count: number }

/** Per code object, the activations beyond the trial's calls_keep (counted, not recorded). */
export function getElidedCalls(db: DB, trialId: number): ElidedCalls[] {
  return db.prepare(
    `SELECT id AS code_id, file, qualname, elided AS count FROM code WHERE trial_id = ? AND elided > 0 ORDER BY id`,
  ).all(trialId) as ElidedCalls[];
}

export interface FileAccessRow {
  id: number; activation_id: number | null; path: string; mode: string;
  hash_before: string | null; hash_after: string | null;
  opened_at: number; closed_at: number | null; closed_at_exit: boolean;
  function: string | null;
}

export function getFileAccesses(db: DB, trialId: number): FileAccessRow[] {
  return (db.prepare(
    `SELECT f.id, f.activation_id, f.path, f.mode, f.hash_before, f.hash_after, f.opened_at,
            f.closed_at, f.closed_at_exit, c.qualname AS function
       FROM file_access f
       LEFT JOIN activation a ON a.trial_id = f.trial_id AND a.id = f.activation_id
       LEFT JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE f.trial_id = ? ORDER BY f.id`,
  ).all(trialId) as (Omit<FileAccessRow, "closed_at_exit"> & { closed_at_exit: number })[]).map((r) => ({
    ...r, closed_at_exit: !!r.closed_at_exit,
  }));
}

export function getWarnings(db: DB, trialId: number): string[] {
  return (db.prepare(`SELECT message FROM trial_warning WHERE trial_id = ? ORDER BY seq`).all(trialId) as { message: string }[])
    .map((r) => r.message);
}

export function countRows(db: DB, table: "module" | "environment" | "file_access", trialId: number): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE trial_id = ?`).get(trialId) as { n: number }).n;
}

export function integrityCheck(db: DB): string {
  return (db.pragma("integrity_check", { simple: true }) as string);
}

/** Activations per function ("file:qualname" → count). */
export function getActivationCounts(db: DB, trialId: number): Map<string, number> {
  const rows = db.prepare(
    `SELECT fn, sum(n) AS n FROM (
       SELECT c.file || ':' || c.qualname AS fn, count(*) AS n
         FROM activation a JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
        WHERE a.trial_id = @t GROUP BY fn
       UNION ALL
       SELECT file || ':' || qualname AS fn, elided AS n FROM code WHERE trial_id = @t AND elided > 0)
      GROUP BY fn`,
  ).all({ t: trialId }) as { fn: string; n: number }[];
  return new Map(rows.map((r) => [r.fn, r.n]));
}

export interface ValueRow {
  id: number; activation_id: number; line: number; col: number | null; target: string;
  kind: string; value: string | null; count: number;
}

export function getValues(db: DB, trialId: number): ValueRow[] {
  return db.prepare(
    `SELECT id, activation_id, line, col, target, kind, value, count FROM value WHERE trial_id = ? ORDER BY id`,
  ).all(trialId) as ValueRow[];
}

export interface DependencyRow { value_id: number; source_kind: "value" | "activation" | "file"; source_id: number }

export function getDependencies(db: DB, trialId: number): DependencyRow[] {
  return db.prepare(
    `SELECT value_id, source_kind, source_id FROM dependency WHERE trial_id = ? ORDER BY value_id, source_kind, source_id`,
  ).all(trialId) as DependencyRow[];
}

export function getUnknownLines(db: DB, trialId: number): { activation_id: number; line: number; reason: string }[] {
  return db.prepare(`SELECT activation_id, line, reason FROM unknown_line WHERE trial_id = ? ORDER BY activation_id, line`)
    .all(trialId) as { activation_id: number; line: number; reason: string }[];
}

export function countValues(db: DB, trialId: number): { values: number; elided: number } {
  return db.prepare(
    `SELECT coalesce(sum(kind <> 'elided'), 0) AS "values", coalesce(sum(CASE WHEN kind = 'elided' THEN count ELSE 0 END), 0) AS elided
       FROM value WHERE trial_id = ?`,
  ).get(trialId) as { values: number; elided: number };
}

/** The last value each (file, line, target) got in a trial, loop stand-ins left out. */
export function lastValuesByLine(db: DB, trialId: number): Map<string, string | null> {
  const rows = db.prepare(
    `SELECT c.file AS file, v.line AS line, v.target AS target, v.value AS value
       FROM value v
       JOIN activation a ON a.trial_id = v.trial_id AND a.id = v.activation_id
       JOIN code c ON c.trial_id = a.trial_id AND c.id = a.code_id
      WHERE v.trial_id = ? AND v.kind <> 'elided' ORDER BY v.id`,
  ).all(trialId) as { file: string; line: number; target: string; value: string | null }[];
  const m = new Map<string, string | null>();
  for (const r of rows) m.set(`${r.file}:${r.line} ${r.target}`, r.value);
  return m;
}
