import type { DB } from "../store/database";
import type { TrialRow } from "../store/queries";
import { loadTrialExport } from "./model";
import { toProlog } from "./prolog";
import { toProvJsonText, toProvNText } from "./prov";

/** The formats of `now export`, with what each writes. */
export const EXPORT_FORMATS = {
  prolog: "Prolog facts and rules (SWI-Prolog)",
  "prov-json": "W3C PROV as PROV-JSON",
  "prov-n": "W3C PROV as PROV-N",
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export function isExportFormat(f: string): f is ExportFormat {
  return Object.prototype.hasOwnProperty.call(EXPORT_FORMATS, f);
}

/** One trial in one format, as text. */
export function exportTrial(db: DB, trial: TrialRow, format: ExportFormat): string {
  const x = loadTrialExport(db, trial);
  switch (format) {
    case "prolog":
      return toProlog(x);
    case "prov-json":
      return toProvJsonText(x);
    case "prov-n":
      return toProvNText(x);
  }
}
