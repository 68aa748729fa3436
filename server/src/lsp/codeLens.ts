// Code lens over each function of the buffer: "12 calls · 3.4 ms · trial 7". Functions are
// found in the current text with the definition index and matched to the trial's
// activations by qualified name, so an edited file still gets its counts.
import { formatDuration } from "../format/text";
import { AnalysedDocument } from "../index/document";
import { functionStats } from "../store/lspQueries";
import type { DB } from "../store/database";

export interface Lens { line: number; character: number; endLine: number; endCharacter: number; title: string }

export function codeLenses(db: DB, trialId: number, file: string, buffer: string): Lens[] {
  const stats = new Map(functionStats(db, trialId, file).map((s) => [s.qualname, s]));
  return new AnalysedDocument(buffer).index.definitions
    .filter((d) => d.kind === "function")
    .map((d) => {
      const s = stats.get(d.qualname);
      const title = s
        ? `${s.calls} call${s.calls === 1 ? "" : "s"}${s.elided ? ` (${s.calls - s.elided} recorded)` : ""} · ${formatDuration(s.total)} · trial ${trialId}`
        : `not called in trial ${trialId}`;
      return { line: d.span.startLine, character: d.span.startColumn, endLine: d.span.startLine, endCharacter: d.span.startColumn, title };
    });
}
