// The exception that ended a document's trial, on the line of this file that raised it.
import { DiagnosticSeverity, type Diagnostic } from "vscode-languageserver/node";
import type { TrialRow } from "../store/queries";
import type { LineMap } from "./lineMap";
import { splitLines } from "./lineMap";

export function exceptionDiagnostics(trial: TrialRow, file: string, buffer: string, lines: LineMap): Diagnostic[] {
  if (!trial.exception_type || !trial.traceback?.length) return [];
  const frames = trial.traceback;
  const frame = [...frames].reverse().find((f) => f.file === file);
  if (!frame) return [];
  const mapped = lines.newLine(frame.line - 1);
  if (!mapped) return []; // the line is gone from the buffer
  const text = splitLines(buffer)[mapped.line] ?? "";
  const start = text.length - text.trimStart().length;
  const traceback = frames.map((f) => `  File "${f.file}", line ${f.line}, in ${f.function}`).join("\n");
  const stale = mapped.stale ? `\n(this line changed since trial ${trial.id})` : "";
  return [{
    range: { start: { line: mapped.line, character: start }, end: { line: mapped.line, character: text.length } },
    severity: DiagnosticSeverity.Error,
    source: "now",
    code: `trial ${trial.id}`,
    message: `${trial.exception_type}: ${trial.exception_message ?? ""}${stale}\n\nTraceback of trial ${trial.id} (most recent call last):\n${traceback}`,
  }];
}
