import fs from "fs";
import os from "os";
import path from "path";
import type { DB } from "../store/database";
import { getTrial, runningTrials, type TrialRow } from "../store/queries";
import { TrialWriter, type TrialEnd } from "../store/writer";
import { Ingester } from "../ingest/ingester";
import { completeLength } from "../ingest/logReader";
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
 *
 * Any number of processes may do this at once for the same trial: ingestion is by batches
 * that each start, under the write lock, where the last committed one ended, and finishing
 * twice decides the same. A trial that cannot be finished now (the disk is full, the store
 * is busy beyond the timeout) is left running for the next command: recovery never stops
 * the command that attempted it.
 */
export function recoverOrphanTrials(db: DB, root: string): TrialRow[] {
  const recovered: TrialRow[] = [];
  let candidates: TrialRow[];
  try {
    candidates = runningTrials(db);
  } catch {
    return recovered;
  }
  for (const t of candidates) {
    if (t.runner_host !== os.hostname()) continue;
    if (trialProcessesAlive(t, root)) continue;
    try {
      finishFromLog(db, t, root, { status: "interrupted", exitCode: null, signal: null });
      recovered.push(t);
    } catch (e) {
      if (process.env.NOW_DEBUG) process.stderr.write(`now: trial ${t.id} not recovered yet: ${(e as Error).message}\n`);
    }
  }
  return recovered;
}

/**
 * Whether a running trial's runner or tracer (on this host) is still alive: until both
 * are gone, nobody but them may finish it. The tracer's pid comes from the row, else
 * from its log's header (a runner that died before storing it).
 */
export function trialProcessesAlive(t: { uuid: string; runner_pid: number | null; tracer_pid: number | null }, root: string): boolean {
  return processAlive(t.runner_pid) || processAlive(t.tracer_pid ?? headerPid(eventLogPath(root, t.uuid)));
}

/**
 * The tracer's pid from its log's first line: the only record of it when the runner died
 * before storing it.
 */
function headerPid(log: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(log, "r");
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const first = buf.subarray(0, n).toString("utf8").split("\n")[0];
    const pid = (JSON.parse(first) as { pid?: unknown }).pid;
    return typeof pid === "number" ? pid : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Ingests what is left of the trial's log and finishes its row. The exit status given is
 * what the process did; the log's own `end` (written when the script ended normally)
 * decides the status when there is one. A process that exited with a code but left no
 * `end` in its log (os._exit, a tracer that could not write) has an incomplete record,
 * and the trial says so.
 */
export function finishFromLog(
  db: DB, t: TrialRow, root: string, end: Omit<TrialEnd, "finishedAt">,
): void {
  const log = eventLogPath(root, t.uuid);
  new Ingester(db, t.id, root, log).drain();
  const writer = new TrialWriter(db, t.id, root);
  const now = getTrial(db, t.id);
  if (now?.status === "running" && now.finished_at === null && end.exitCode !== null && end.status !== "cancelled") {
    writer.markIncomplete("the event log ends before the script did (os._exit, or the tracer could not write it)");
  }
  writer.finish({ ...end, finishedAt: Date.now() / 1000 });
  removeIngestedLog(db, t.id, log);
}

/**
 * The log has served its purpose once every complete line of it is in the store; it is
 * deleted then and only then (a partial last line is what a killed tracer left half
 * written: it holds no event).
 */
export function removeIngestedLog(db: DB, trialId: number, log: string): boolean {
  const complete = completeLength(log);
  const stored = getTrial(db, trialId)?.ingested_bytes ?? -1;
  if (complete !== null && stored < complete) return false;
  fs.rmSync(log, { force: true });
  try {
    fs.rmdirSync(path.dirname(log));
  } catch {
    // Not empty (the trial's stdout.txt and stderr.txt when a daemon ran it) or gone.
  }
  return true;
}
