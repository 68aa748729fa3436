import fs from "fs";
import path from "path";
import { listBlobs } from "../content";
import { NowError } from "../errors";
import { nowDir } from "../paths";
import { processAlive } from "../run/recover";
import { referencedHashes, vacuum } from "../store/management";
import { runningTrials } from "../store/queries";
import { openProjectStore, printJson } from "./common";

/**
 * `now gc`: deletes blobs no trial refers to and compacts the database. It holds the
 * store's write lock while it decides and deletes, so no trial can start meanwhile and
 * write a blob it would then lose; it refuses while a trial runs for the same reason.
 */
export function gcCommand(opts: { cwd: string; json?: boolean; dryRun?: boolean }): void {
  const { db, root } = openProjectStore(opts.cwd);
  try {
    const dbFile = path.join(nowDir(root), "db.sqlite");
    const sizeBefore = fs.statSync(dbFile).size;
    const removed = db.transaction(() => {
      const running = runningTrials(db).filter((t) => processAlive(t.runner_pid) || processAlive(t.tracer_pid));
      if (running.length) throw new NowError(`trial ${running[0].id} is running; run gc when it has ended`);
      const keep = referencedHashes(db);
      const unused = listBlobs(root).filter((b) => !keep.has(b.hash));
      if (!opts.dryRun) for (const b of unused) fs.rmSync(b.file, { force: true });
      return unused;
    }).immediate();
    if (!opts.dryRun) vacuum(db);
    const sizeAfter = fs.statSync(dbFile).size;
    const freedBlobs = removed.reduce((s, b) => s + b.size, 0);
    const report = {
      blobs_removed: removed.length, blob_bytes_freed: freedBlobs,
      database_bytes_before: sizeBefore, database_bytes_after: sizeAfter, dry_run: !!opts.dryRun,
    };
    if (opts.json) return printJson(report);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    process.stdout.write(
      `${opts.dryRun ? "would remove" : "removed"} ${removed.length} unreferenced blobs (${kb(freedBlobs)}); ` +
        `database ${kb(sizeBefore)} → ${kb(sizeAfter)}\n`,
    );
  } finally {
    db.close();
  }
}
