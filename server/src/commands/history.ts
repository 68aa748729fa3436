import { NowError } from "../errors";
import { formatTime, shellQuote, shortHash } from "../format/text";
import { tagsByTrial } from "../store/management";
import { listTrials, type TrialRow } from "../store/queries";
import { historyNodes, renderHistoryDot, renderHistoryText } from "../trials/history";
import { openProjectStore, printJson } from "./common";
import type { DB } from "../store/database";
import { definitionHistory } from "../store/definitions";
import { statusText } from "./list";

export interface HistoryOptions { cwd: string; format: string; script?: string; status?: string; definitions?: string }

/** `now history`: the trials as a derivation graph (text, dot or JSON). */
export function historyCommand(opts: HistoryOptions): void {
  if (!["text", "dot", "json"].includes(opts.format)) throw new NowError(`unknown format '${opts.format}' (text, dot or json)`);
  const statuses = ["finished", "failed", "interrupted", "cancelled", "running", "backup"];
  if (opts.status && !statuses.includes(opts.status)) throw new NowError(`unknown status '${opts.status}' (${statuses.join(", ")})`);
  const { db } = openProjectStore(opts.cwd);
  try {
    if (opts.definitions !== undefined) return definitionsHistory(db, opts.definitions, opts.format);
    const tags = tagsByTrial(db);
    let trials = listTrials(db);
    if (opts.script) trials = trials.filter((t) => t.script === opts.script || t.script.endsWith("/" + opts.script));
    if (opts.status) trials = trials.filter((t) => (opts.status === "backup" ? t.kind === "backup" : t.kind === "run" && t.status === opts.status));
    const nodes = historyNodes(trials, tags, (t) => label(t, tags.get(t.id) ?? []));
    if (opts.format === "json") return printJson(nodes.map(({ label: _l, ...n }) => n));
    if (nodes.length === 0) {
      process.stdout.write("no trials match\n");
      return;
    }
    process.stdout.write(opts.format === "dot" ? renderHistoryDot(nodes) : renderHistoryText(nodes));
  } finally {
    db.close();
  }
}

function label(t: TrialRow, tags: string[]): string {
  const what = t.kind === "backup" ? "backup before a restore" : `${t.script} ${t.argv.slice(1).map(shellQuote).join(" ")}`.trim();
  const tagText = tags.length ? ` (${tags.join(", ")})` : "";
  const status = t.kind === "backup" ? "backup" : statusText(t);
  return `${t.id}${tagText}  ${what}  ${status}  ${formatTime(t.started_at)}  code ${shortHash(t.script_hash)}`;
}

/** `now history --definitions NAME`: how a function or class evolved across saves and trials. */
function definitionsHistory(db: DB, name: string, format: string): void {
  const rows = definitionHistory(db, name);
  if (format === "json") return printJson(rows);
  if (rows.length === 0) {
    process.stdout.write(`no recorded change of a definition named ${name} (the daemon records them: now daemon)\n`);
    return;
  }
  const lines = rows.map((r) =>
    `${formatTime(r.at)}  ${r.path}:${r.line ?? "-"}  ${r.qualname}${r.signature ?? ""}  ${r.change}` +
    `  version ${shortHash(r.to_hash)}${r.trials.length ? `  ran in trial ${r.trials.join(", ")}` : ""}`);
  process.stdout.write(lines.join("\n") + "\n");
}
