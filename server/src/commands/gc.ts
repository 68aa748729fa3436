import fs from "fs";
import path from "path";
import { listBlobs } from "../content";
import { NowError } from "../errors";
import { nowDir } from "../paths";
import { completeLength } from "../ingest/logReader";
import { removeIngestedLog, trialProcessesAlive } from "../run/recover";
import { referencedHashes, vacuum } from "../store/management";
import { getTrialByUuid, runningTrials } from "../store/queries";
import type { DB } from "../store/database";
import { openProjectStore, printJson } from "./common";

/**
 * `now gc`: deletes blobs no trial refers to and event logs whose every complete line is
 * in the store, and compacts the database. It holds the
 * store's write lock while it decides and deletes, so no trial can start meanwhile and
 * write a blob it would then lose; it refuses while a trial runs for the same reason.
 */
export function gcCommand(opts: { cwd: string; json?: boolean; dryRun?: boolean }): void {
  const { db, root } = openProjectStore(opts.cwd, { write: true });
  try {
    const dbFile = path.join(nowDir(root), "db.sqlite");
    const sizeBefore = fs.statSync(dbFile).size;
    const removed = db.transaction(() => {
      const running = runningTrials(db).filter((t) => trialProcessesAlive(t, root));
      if (running.length) throw new NowError(`trial ${running[0].id} is running; run gc when it has ended`);
      const keep = referencedHashes(db);
      const unused = listBlobs(root).filter((b) => !keep.has(b.hash));
      if (!opts.dryRun) for (const b of unused) fs.rmSync(b.file, { force: true });
      return unused;
    }).immediate();
    const logs = ingestedLogs(db, root);
    if (!opts.dryRun) for (const l of logs.done) removeIngestedLog(db, l.trialId, l.file);
    if (!opts.dryRun) vacuum(db);
    const sizeAfter = fs.statSync(dbFile).size;
    const freedBlobs = removed.reduce((s, b) => s + b.size, 0);
    const report = {
      blobs_removed: removed.length, blob_bytes_freed: freedBlobs,
      logs_removed: logs.done.length, log_bytes_freed: logs.done.reduce((n, l) => n + l.size, 0),
      logs_kept: logs.kept,
      database_bytes_before: sizeBefore, database_bytes_after: sizeAfter, dry_run: !!opts.dryRun,
    };
    if (opts.json) return printJson(report);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    process.stdout.write(
      `${opts.dryRun ? "would remove" : "removed"} ${removed.length} unreferenced blobs (${kb(freedBlobs)}) ` +
        `and ${logs.done.length} ingested event logs (${kb(report.log_bytes_freed)}); ` +
        `database ${kb(sizeBefore)} → ${kb(sizeAfter)}\n`,
    );
    for (const k of logs.kept) process.stdout.write(`kept ${k.file}: ${k.why}\n`);
  } finally {
    db.close();
  }
}

interface LogFile { trialId: number; file: string; size: number }

/**
 * The event logs under .now/trials/: those whose every complete line is in the store (they
 * can go), and the others with the reason they stay (a log nothing has ingested yet is the
 * only copy of its events).
 */
function ingestedLogs(db: DB, root: string): { done: LogFile[]; kept: { file: string; why: string }[] } {
  const done: LogFile[] = [];
  const kept: { file: string; why: string }[] = [];
  const dir = path.join(nowDir(root), "trials");
  let uuids: string[] = [];
  try {
    uuids = fs.readdirSync(dir);
  } catch {
    return { done, kept };
  }
  for (const uuid of uuids) {
    const file = path.join(dir, uuid, "events.jsonl");
    const complete = completeLength(file);
    if (complete === null) continue;
    const rel = path.relative(root, file);
    const t = getTrialByUuid(db, uuid);
    if (!t) kept.push({ file: rel, why: "no trial of that uuid in the store" });
    else if (t.status === "running") kept.push({ file: rel, why: `trial ${t.id} is still running` });
    else if (t.ingested_bytes < complete) kept.push({ file: rel, why: `trial ${t.id} holds ${t.ingested_bytes} of its ${complete} bytes` });
    else done.push({ trialId: t.id, file, size: fs.statSync(file).size });
  }
  return { done, kept };
}
