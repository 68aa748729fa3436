import { displayPath } from "../paths";
import { restoreTrial, skippedSummary } from "../trials/restore";
import { openProjectStore, printJson, resolveTrial } from "./common";

export interface RestoreCommandOptions {
  cwd: string;
  file?: string;
  inputs: boolean;
  modules: boolean;
  json?: boolean;
}

export function restoreCommand(ref: string, opts: RestoreCommandOptions): void {
  const { db, root } = openProjectStore(opts.cwd, { write: true });
  try {
    const t = resolveTrial(db, ref);
    const report = restoreTrial(db, root, t, opts);
    if (opts.json) return printJson(report);
    const lines: string[] = [];
    if (report.backup !== null) {
      lines.push(`saved the current versions as backup trial ${report.backup} (now restore ${report.backup} brings them back)`);
    }
    for (const f of report.restored) lines.push(`restored  ${displayPath(f.path)}  (${f.role}) as in trial ${t.id}`);
    for (const f of report.unchanged) lines.push(`unchanged ${displayPath(f.path)}  (${f.role})`);
    if (report.skipped.length > 0) lines.push(skippedSummary(report.skipped));
    if (report.restored.length === 0) lines.push(`nothing to do: the files are already as in trial ${t.id}`);
    if (report.restored.some((f) => f.role === "script") || report.unchanged.some((f) => f.role === "script")) {
      lines.push(`the next run of ${t.script} derives from trial ${t.id}`);
    }
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    db.close();
  }
}
