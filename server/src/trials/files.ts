import type { DB } from "../store/database";
import { snapshotOf } from "../store/management";
import { getFileAccesses, getModules, type TrialRow } from "../store/queries";

export type FileRole = "script" | "module" | "input";

/** A file as it was when a trial started: what `now restore` puts back. */
export interface TrialFile { path: string; hash: string; role: FileRole }

/**
 * The files that make up a trial's starting state: its script, its local modules, and its
 * inputs — the files whose first access read them, with the content they had then.
 * Files the trial only wrote are its outputs, not part of it. Paths are as stored
 * (root-relative when under the root). A backup trial is exactly its snapshot.
 */
export function trialFiles(db: DB, t: TrialRow): TrialFile[] {
  if (t.kind === "backup") return snapshotOf(db, t.id);
  const files = new Map<string, TrialFile>();
  if (t.script_hash) files.set(t.script, { path: t.script, hash: t.script_hash, role: "script" });
  for (const m of getModules(db, t.id)) {
    if (m.local && m.path && m.hash && !files.has(m.path)) files.set(m.path, { path: m.path, hash: m.hash, role: "module" });
  }
  const seen = new Set<string>();
  for (const f of getFileAccesses(db, t.id)) {
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    const reads = f.mode.includes("r") || f.mode.includes("+") && !f.mode.includes("w");
    if (reads && f.hash_before && !files.has(f.path)) files.set(f.path, { path: f.path, hash: f.hash_before, role: "input" });
  }
  return [...files.values()];
}
