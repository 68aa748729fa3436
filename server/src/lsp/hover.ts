// Hover text: what the document's trial recorded for the name under the cursor.
import { formatDuration, formatTime } from "../format/text";
import { accessesNamed, callSummaries, countCalls, lastAssignmentLine, previousTrialOfScript, valuesOnLine, type CallSummary, type LineValueRow } from "../store/lspQueries";
import type { DB } from "../store/database";
import type { TrialRow } from "../store/queries";
import type { LineMap } from "./lineMap";
import { splitLines } from "./lineMap";
import { stringAt, wordAt } from "./words";

export interface HoverInput {
  db: DB;
  trial: TrialRow;
  file: string;
  buffer: string;
  lines: LineMap;
  line: number;
  character: number;
  markdown: boolean;
}

/** The hover's text and the range of the word, or null where the trial has nothing to say. */
export function hoverAt(h: HoverInput): { text: string; start: number; end: number } | null {
  const lineText = splitLines(h.buffer)[h.line];
  if (lineText === undefined) return null;
  const mapped = h.lines.oldLine(h.line);
  if (!mapped) return null; // added since the trial
  const md = new Text(h.markdown);
  let ok = false;
  // A string literal naming a file the trial opened: its accesses.
  const literal = stringAt(lineText, h.character);
  let range: { start: number; end: number } | null = null;
  if (literal && literal.text) {
    ok = fileHover(md, h, literal.text);
    if (ok) range = literal;
  }
  if (!ok) {
    const word = wordAt(lineText, h.character);
    if (!word) return null;
    if (word.definition || word.call) ok = functionHover(md, h, word.name, word.definition ? mapped.line + 1 : null);
    if (!ok) ok = valueHover(md, h, word.name, mapped.line + 1);
    range = word;
  }
  if (!ok || !range) return null;
  if (mapped.stale) {
    // Said before the values, so they are not read as the current line's.
    md.afterHeader(
      `${md.warn()}This line changed since trial ${h.trial.id}: the data below is from an older version of the line:`,
      h.lines.oldLineText(mapped.line).trim(),
    );
  }
  return { text: md.toString(), start: range.start, end: range.end };
}

function fileHover(md: Text, h: HoverInput, name: string): boolean {
  const accesses = accessesNamed(h.db, h.trial.id, name.replace(/^\.\//, ""));
  if (!accesses.length) return false;
  header(md, accesses[0].path, `${accesses.length} ${accesses.length === 1 ? "access" : "accesses"}`, h.trial);
  const short = (x: string | null) => (x ? x.slice(0, 10) : "none");
  md.block(accesses.map((a) => {
    const after = a.hash_after === a.hash_before ? "unchanged" : `after ${short(a.hash_after)}${a.closed_at_exit ? " (at exit)" : ""}`;
    return `${a.mode.padEnd(3)} before ${short(a.hash_before)}, ${after}${a.function ? `, by ${a.function} #${a.activation_id}` : ""}`;
  }).join("\n"));
  return true;
}

function header(md: Text, name: string, what: string, trial: TrialRow): void {
  md.para(`${md.bold(name)} — ${what} in trial ${trial.id} (${formatTime(trial.started_at)})`);
}

/**
 * Values of `name` on the trial's line; on a line that only reads the name, those of its
 * last assignment above in this file (said so).
 */
function valueHover(md: Text, h: HoverInput, name: string, oldLine: number): boolean {
  let rows = valuesOnLine(h.db, h.trial.id, h.file, oldLine).filter((r) => r.target === name);
  let from = "";
  if (!rows.length) {
    const line = lastAssignmentLine(h.db, h.trial.id, h.file, name, oldLine);
    if (line === null) return false;
    rows = valuesOnLine(h.db, h.trial.id, h.file, line).filter((r) => r.target === name);
    if (!rows.length) return false;
    const current = h.lines.newLine(line - 1);
    from = ` on line ${current ? current.line + 1 : `${line} of the trial's text`}`;
  }
  const total = rows.reduce((n, r) => n + r.count, 0);
  const last = [...rows].reverse().find((r) => r.kind !== "elided");
  header(md, name, `assigned ${total === 1 ? "once" : `${total} times`}${from}`, h.trial);
  if (last) md.block(last.value ?? "(no repr)");
  if (total > 1) {
    md.para("Values in order:");
    md.block(sample(rows).join("\n"));
  }
  return true;
}

/** The first and last few values, the rest counted (loops keep only some iterations). */
function sample(rows: LineValueRow[], keep = 3): string[] {
  type Entry = { value: string } | { gap: number };
  let entries: Entry[] = rows.map((r) => (r.kind === "elided" ? { gap: r.count } : { value: r.value ?? "(no repr)" }));
  const shown = entries.filter((e) => "value" in e).length;
  if (shown > keep * 2) {
    let seen = 0;
    entries = entries.map((e) => {
      if (!("value" in e)) return e;
      seen++;
      return seen > keep && seen <= shown - keep ? { gap: 1 } : e;
    });
  }
  const out: string[] = [];
  let gap = 0;
  for (const e of entries) {
    if ("gap" in e) {
      gap += e.gap;
      continue;
    }
    if (gap) out.push(`… ${plural(gap, "more value")} …`);
    gap = 0;
    out.push(e.value);
  }
  if (gap) out.push(`… ${plural(gap, "more value")} …`);
  return out;
}

function functionHover(md: Text, h: HoverInput, name: string, defLine: number | null): boolean {
  let groups: CallSummary[];
  if (defLine !== null) {
    groups = callSummaries(h.db, h.trial.id, name, { file: h.file, line: defLine });
  } else {
    const all = callSummaries(h.db, h.trial.id, name);
    const here = all.filter((c) => c.file === h.file);
    groups = here.length ? here : all;
  }
  if (!groups.length) return false;
  const count = groups.reduce((s, g) => s + g.calls, 0);
  const recorded = groups.reduce((s, g) => s + g.recorded, 0);
  const total = groups.reduce((s, g) => s + g.total, 0);
  const last = groups[groups.length - 1].last;
  header(md, name, plural(count, "call"), h.trial);
  if (recorded < count) {
    // Beyond the trial's calls_keep the tracer only counted: times are of the recorded ones.
    md.para(`the first ${recorded} recorded: total ${formatDuration(total)}, mean ${formatDuration(total / recorded)}`);
    md.para("Last recorded call:");
  } else {
    md.para(`total ${formatDuration(total)}, mean ${formatDuration(total / count)}`);
    md.para("Last call:");
  }
  const args = last.args.map(([k, v]) => `${k}=${v}`).join(", ");
  const outcome = last.status === "raised"
    ? `raised ${last.exception_type}: ${last.exception_message ?? ""}`
    : last.status === "returned" ? `→ ${last.return_value ?? "None"}` : `(${last.status})`;
  md.block(`${last.qualname}(${args})\n${outcome}`);
  const prev = previousTrialOfScript(h.db, h.trial.script, h.trial.id);
  if (prev !== null) md.para(`Previous trial of ${h.trial.script} (${prev}): ${plural(countCalls(h.db, prev, last.file, last.qualname), "call")}`);
  return true;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Markdown, or plain text for clients without markdown in hovers. */
class Text {
  private readonly parts: string[] = [];
  constructor(private readonly markdown: boolean) {}
  bold(s: string): string {
    return this.markdown ? `**${s.replace(/([\\*_`])/g, "\\$1")}**` : s;
  }
  warn(): string {
    return this.markdown ? "⚠ " : "! ";
  }
  afterHeader(note: string, code: string): void {
    const at = Math.min(1, this.parts.length);
    this.parts.splice(at, 0, note);
    this.block(code);
    this.parts.splice(at + 1, 0, this.parts.pop()!);
  }
  para(s: string): void {
    this.parts.push(s);
  }
  block(code: string): void {
    if (!this.markdown) {
      this.parts.push(code.split("\n").map((l) => `    ${l}`).join("\n"));
      return;
    }
    const fence = "`".repeat(Math.max(3, ...(code.match(/`+/g) ?? []).map((m) => m.length + 1)));
    this.parts.push(`${fence}python\n${code}\n${fence}`);
  }
  toString(): string {
    return this.parts.join("\n\n");
  }
}
