import fs from "fs";
import path from "path";
import { NowError } from "../errors";
import { EXPORT_FORMATS, exportTrial, isExportFormat } from "../export";
import { openProjectStore, resolveTrial } from "./common";

export interface ExportOptions {
  cwd: string;
  /** prolog, prov-json or prov-n */
  format: string;
  /** Write here instead of stdout (relative to cwd). */
  output?: string;
}

/**
 * `now export [trial] --format prolog|prov-json|prov-n [-o FILE]`: one trial (the last by
 * default) as Prolog facts and rules or as W3C PROV, on stdout or into FILE.
 */
export function exportCommand(ref: string | undefined, o: ExportOptions): void {
  if (!isExportFormat(o.format)) {
    throw new NowError(`unknown format '${o.format}' (formats: ${Object.keys(EXPORT_FORMATS).join(", ")})`);
  }
  const { db } = openProjectStore(o.cwd);
  let text: string;
  try {
    text = exportTrial(db, resolveTrial(db, ref), o.format);
  } finally {
    db.close();
  }
  if (o.output === undefined || o.output === "-") {
    process.stdout.write(text);
    return;
  }
  const target = path.resolve(o.cwd, o.output);
  try {
    fs.writeFileSync(target, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NowError(`cannot write ${o.output}: ${err.code === "ENOENT" ? "no such folder" : err.message}`);
  }
}
