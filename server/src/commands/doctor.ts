import { checkStore, salvageStore, type Finding, type SalvageReport, type TableSalvage } from "../store/doctor";
import { dbPath } from "../paths";
import { printJson, requireStoreRoot } from "./common";

export interface DoctorOptions { cwd: string; salvage?: boolean; json?: boolean }

const MARK: Record<Finding["severity"], string> = { ok: "ok", note: "note", problem: "PROBLEM" };

/**
 * `now doctor`: checks the store, one line per finding; exit 0 when healthy, 1 when not.
 * `--salvage` copies what can be read of a damaged database into a fresh store.
 */
export function doctorCommand(o: DoctorOptions): number {
  const root = requireStoreRoot(o.cwd);
  const findings = checkStore(root);
  const healthy = findings.every((f) => f.severity !== "problem");
  if (!o.salvage) {
    if (o.json) printJson({ root, healthy, findings });
    else printFindings(findings, healthy);
    return healthy ? 0 : 1;
  }
  if (databaseSound(findings)) {
    if (o.json) printJson({ root, healthy, findings, salvaged: null });
    else {
      printFindings(findings, healthy);
      process.stdout.write(`the database ${dbPath(root)} is sound: nothing to salvage\n`);
    }
    return healthy ? 0 : 1;
  }
  const report = salvageStore(root);
  if (o.json) printJson({ root, healthy: false, findings, salvaged: report });
  else {
    printFindings(findings, healthy);
    printSalvage(report, dbPath(root));
  }
  return report.integrity === "ok" ? 0 : 1;
}

/** Only damage to the database itself is salvaged; missing blobs or stray logs are not. */
function databaseSound(findings: Finding[]): boolean {
  return !findings.some((f) => f.severity === "problem" && /integrity check|cannot be opened|cannot be read|tables missing/.test(f.text));
}

function printFindings(findings: Finding[], healthy: boolean): void {
  for (const f of findings) process.stdout.write(`${MARK[f.severity]}: ${f.text}\n`);
  process.stdout.write(healthy ? "the store is healthy\n" : "the store has problems\n");
}

function printSalvage(r: SalvageReport, file: string): void {
  const out: string[] = [];
  out.push(`salvaged into a fresh ${file}; the damaged file is kept as ${r.damagedFile}`);
  if (r.unreadable !== null) {
    out.push(`nothing could be read from the damaged file (${r.unreadable}): the fresh store is empty`);
    out.push(`integrity check of the fresh store: ${r.integrity}`);
    process.stdout.write(out.join("\n") + "\n");
    return;
  }
  const lost = r.lostTrials.length ? ` (lost: ${ranges(r.lostTrials)})` : "";
  out.push(`trials: ${r.trialsSaved} of ${r.trialsKnown} saved${lost}`);
  if (r.partialTrials.length) out.push(`trials with rows lost (marked with a warning): ${ranges(r.partialTrials)}`);
  for (const t of r.tables) if (t.total !== 0 || t.saved > 0 || t.tailLost) out.push(tableLine(t));
  out.push(`integrity check of the fresh store: ${r.integrity}`);
  out.push("contents (.now/content/) were left as they are");
  process.stdout.write(out.join("\n") + "\n");
}

function tableLine(t: TableSalvage): string {
  const rows = `${t.table} rows: ${t.saved}` + (t.total !== null ? ` of ${t.total} saved` : " saved");
  const losses: string[] = [];
  if (t.skipped) losses.push(`${t.skipped} damaged stretch${t.skipped === 1 ? "" : "es"} skipped${t.tailLost ? ", the rest unreachable" : ""}`);
  else if (t.tailLost) losses.push("unreadable");
  if (t.dropped) losses.push(`${t.dropped} dropped (refused or of lost trials)`);
  if (t.trials.length) losses.push(`rows of trials ${ranges(t.trials)} lost`);
  return losses.length ? `${rows}; ${losses.join("; ")}` : rows;
}

/** 1, 2, 3, 5 → "1–3, 5". */
function ranges(ids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(j > i ? `${ids[i]}–${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  return parts.join(", ");
}
