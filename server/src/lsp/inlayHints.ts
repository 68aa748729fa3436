// Inlay hints: the last value each assignment line got in the document's trial, at the
// end of the line; once per assignment (a line that only mutates an object gets none). Lines changed since the trial get none: their values may be wrong now.
import { lastValuesOfFile } from "../store/lspQueries";
import type { DB } from "../store/database";
import type { LineMap } from "./lineMap";
import { splitLines } from "./lineMap";

export interface Hint { line: number; character: number; label: string; tooltip: string }

const SHORT = 40;

export function inlayHints(db: DB, trialId: number, file: string, buffer: string, lines: LineMap, from: number, to: number): Hint[] {
  const text = splitLines(buffer);
  const byLine = new Map<number, { target: string; value: string | null; count: number }[]>();
  for (const r of lastValuesOfFile(db, trialId, file, true)) {
    const list = byLine.get(r.line) ?? [];
    list.push(r);
    byLine.set(r.line, list);
  }
  const hints: Hint[] = [];
  for (let line = Math.max(0, from); line <= Math.min(to, text.length - 1); line++) {
    const mapped = lines.oldLine(line);
    if (!mapped || mapped.stale) continue;
    const values = byLine.get(mapped.line + 1);
    if (!values) continue;
    const label = values.map((v) => `${v.target} = ${v.value ?? "?"}`).join(", ");
    const tooltip = values.map((v) => `${v.target} = ${v.value ?? "?"}${v.count > 1 ? ` (last of ${v.count} values)` : ""}`).join("\n");
    hints.push({
      line, character: text[line].length,
      label: " " + (label.length <= SHORT ? label : label.slice(0, SHORT - 1) + "…"),
      tooltip: `${tooltip}\n(trial ${trialId})`,
    });
  }
  return hints;
}
