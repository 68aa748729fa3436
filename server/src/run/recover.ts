import fs from "fs";
import os from "os";
import path from "path";
import type { DB } from "../store/database";
import { runningTrials, type TrialRow } from "../store/queries";
import { TrialWriter } from "../store/writer";
import { Ingester } from "../ingest/ingester";
import { eventLogPath } from "../paths";

export function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie (dead, never reaped: its parent was killed and nobody adopted it properly)
  // still answers signal 0.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * Finishes the job of a `now run` that died: for each trial still marked running whose
 * runner and tracer are both gone (on this host), ingests what is left of its log and marks
 * it interrupted — or finished/failed when the log has its `end`. Nothing is dropped.
 */
export function recoverOrphanTrials(db: DB, root: string): TrialRow[] {
  const recovered: TrialRow[] = [];
  for (const t of runningTrials(db)) {
    if (t.runner_host !== os.hostname()) continue;
    if (processAlive(t.runner_pid) || processAlive(t.tracer_pid)) continue;
    finishFromLog(db, t, root, { status: "interrupted", exitCode: null, signal: null });
    recovered.push(t);
  }
  return recovered;
}

export function finishFromLog(
  db: DB,
  t: TrialRow,
  root: string,
  end: { status: "finished" | "failed" | "interrupted" | "cancelled"; exitCode: number | null; signal: string | null },
): void {
  const log = eventLogPath(root, t.uuid);
  const ingester = new Ingester(db, t.id, root, log, t.ingested_bytes);
  while (ingester.poll() > 0);
  const writer = new TrialWriter(db, t.id, root);
  writer.finish({ ...end, finishedAt: Date.now() / 1000 });
  removeIngestedLog(log);
}

/** The log has served its purpose once everything complete in it is in the store. */
export function removeIngestedLog(log: string): void {
  fs.rmSync(log, { force: true });
  try {
    fs.rmdirSync(path.dirname(log));
  } catch {
    // Not empty (the tracer may keep other files there) or already gone: keep it.
  }
}
