import { formatDuration, shellQuote, shortHash } from "../format/text";
import { displayPath } from "../paths";
import { diffTrials, type Change, type TrialDiff } from "../trials/diff";
import { openProjectStore, printJson, resolveTrial } from "./common";
import { publicTrial } from "./list";

export interface DiffOptions { cwd: string; json?: boolean; fine?: boolean; env?: boolean }

export function diffCommand(refA: string, refB: string, opts: DiffOptions): void {
  const { db, root } = openProjectStore(opts.cwd);
  try {
    const d = diffTrials(db, root, resolveTrial(db, refA), resolveTrial(db, refB), !!opts.fine);
    if (opts.json) return printJson({ ...d, a: publicTrial(d.a), b: publicTrial(d.b) });
    process.stdout.write(renderDiff(d, opts));
  } finally {
    db.close();
  }
}

export function renderDiff(d: TrialDiff, opts: { fine?: boolean } = {}): string {
  const { a, b } = d;
  const out: string[] = [`Trial ${a.id} → trial ${b.id}`];
  const row = (k: string, v: string) => out.push(`  ${k.padEnd(10)}  ${v}`);
  row("script", a.script === b.script ? a.script : `${a.script} → ${b.script}`);
  if (d.arguments) row("arguments", `${d.arguments.before.map(shellQuote).join(" ") || "-"} → ${d.arguments.after.map(shellQuote).join(" ") || "-"}`);
  row("status", a.status === b.status && a.exit_code === b.exit_code ? `${a.status} (both)` : `${a.status} (${a.exit_code ?? "-"}) → ${b.status} (${b.exit_code ?? "-"})`);
  row("duration", durationChange(d.duration.before, d.duration.after));

  out.push("", d.code.length ? "Code:" : "Code: the same");
  for (const c of d.code) {
    out.push(`  ${c.change} ${c.role} ${displayPath(c.path)}`);
    // Drop the "=====" line createTwoFilesPatch starts with; keep the ---/+++ headers.
    if (c.patch) out.push(...c.patch.trimEnd().split("\n").filter((l) => !/^=+$/.test(l)).map((l) => "    " + l));
    else out.push("    (content not stored for one side)");
  }
  section(out, "Deployment", d.deployment);
  section(out, "Modules", d.modules);
  section(out, "Environment", d.environment);

  out.push("", d.files.length ? "File accesses:" : "File accesses: the same");
  for (const f of d.files) {
    if (f.modeA === null) out.push(`  + ${displayPath(f.path)} (${f.modeB}) only in trial ${b.id}`);
    else if (f.modeB === null) out.push(`  - ${displayPath(f.path)} (${f.modeA}) only in trial ${a.id}`);
    else {
      if (f.inputChanged) out.push(`  ~ ${displayPath(f.path)}: input changed ${shortHash(f.beforeA)} → ${shortHash(f.beforeB)}`);
      if (f.outputChanged) out.push(`  ~ ${displayPath(f.path)}: output differs ${shortHash(f.afterA)} → ${shortHash(f.afterB)}`);
    }
  }
  out.push("", d.activations.length ? "Activations per function:" : "Activations per function: the same");
  for (const c of d.activations) out.push(`  ${c.name}: ${c.before ?? 0} → ${c.after ?? 0}`);
  if (opts.fine) {
    if (d.values === null) {
      const coarse = [a, b].filter((t) => t.granularity !== "fine").map((t) => t.id);
      out.push("", `Values: trial ${coarse.join(" and ")} ${coarse.length > 1 ? "were" : "was"} recorded coarse (now run --fine records values)`);
    } else {
      section(out, "Values (last value on each line)", d.values);
    }
  }
  return out.join("\n") + "\n";
}

function section(out: string[], title: string, list: Change<string>[]): void {
  out.push("", list.length ? `${title}:` : `${title}: the same`);
  for (const c of list) {
    if (c.before === null) out.push(`  + ${c.name} ${c.after}`);
    else if (c.after === null) out.push(`  - ${c.name} ${c.before}`);
    else out.push(`  ~ ${c.name}: ${c.before} → ${c.after}`);
  }
}

function durationChange(a: number | null, b: number | null): string {
  if (a === null || b === null) return `${formatDuration(a)} → ${formatDuration(b)}`;
  const pct = a > 0 ? ` (${b >= a ? "+" : ""}${(((b - a) / a) * 100).toFixed(0)}%)` : "";
  return `${formatDuration(a)} → ${formatDuration(b)}${pct}`;
}
