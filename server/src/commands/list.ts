import { formatDuration, formatTime, shellQuote, shortHash, table } from "../format/text";
import { listTrials, type TrialRow } from "../store/queries";
import { openProjectStore, printJson } from "./common";

export function listCommand(opts: { json?: boolean; cwd: string }): void {
  const { db } = openProjectStore(opts.cwd);
  try {
    const trials = listTrials(db);
    if (opts.json) return printJson(trials.map(publicTrial));
    if (trials.length === 0) {
      process.stdout.write("no trials recorded yet\n");
      return;
    }
    process.stdout.write(
      table(
        ["#", "script", "arguments", "started", "duration", "status", "mode", "code"],
        trials.map((t) => [
          String(t.id), t.script, t.argv.slice(1).map(shellQuote).join(" "), formatTime(t.started_at),
          t.kind === "backup" ? "-" : formatDuration(t.duration), statusText(t) + (t.incomplete ? ", incomplete" : ""),
          t.kind === "backup" ? "-" : t.granularity, shortHash(t.script_hash),
        ]),
        [0, 4],
      ),
    );
  } finally {
    db.close();
  }
}

export function statusText(t: TrialRow): string {
  if (t.kind === "backup") return "backup";
  if (t.status === "failed") return `failed (${t.exit_code ?? "?"})`;
  if (t.status === "interrupted") return t.signal ? `interrupted (${t.signal})` : "interrupted";
  if (t.status === "cancelled") return "cancelled";
  return t.status;
}

/** A trial without the bookkeeping columns only the runner needs. */
export function publicTrial(t: TrialRow) {
  const { runner_pid, runner_host, ingested_bytes, tracer_pid, ...rest } = t;
  void runner_pid, runner_host, ingested_bytes, tracer_pid;
  return rest;
}
