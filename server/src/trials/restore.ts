import { randomUUID } from "crypto";
import fs from "fs";
import path from "path";
import { hashBytes, hasBlob, readBlob, writeBlob } from "../content";
import { NowError } from "../errors";
import { writableTarget } from "../paths";
import type { DB } from "../store/database";
import { createBackupTrial, knownHashes, setHead } from "../store/management";
import type { TrialRow } from "../store/queries";
import { trialFiles, type FileRole, type TrialFile } from "./files";

export interface RestoreOptions {
  file?: string;
  inputs: boolean;
  modules: boolean;
  cwd: string;
}

export interface RestoreReport {
  trial: number;
  restored: TrialFile[];
  unchanged: TrialFile[];
  /** The backup trial holding the versions that were replaced and stored nowhere else. */
  backup: number | null;
}

/**
 * Puts back the files of trial `t` — all checks first, then the backup, then the writes —
 * so a refused or impossible restore writes nothing, and a restore never destroys a
 * version of a file that the store does not already hold.
 */
export function restoreTrial(db: DB, root: string, t: TrialRow, opts: RestoreOptions): RestoreReport {
  let files = trialFiles(db, t).filter((f) => keep(f.role, opts));
  if (opts.file !== undefined) {
    const wanted = path.relative(root, path.resolve(opts.cwd, opts.file));
    const all = trialFiles(db, t);
    files = all.filter((f) => f.path === wanted || f.path === opts.file);
    if (files.length === 0) {
      throw new NowError(`trial ${t.id} has no stored version of ${opts.file} (it has: ${all.map((f) => f.path).join(", ") || "nothing"})`);
    }
  }
  if (files.length === 0) throw new NowError(`trial ${t.id} has no files to restore`);

  const targets = new Map<string, string>();
  for (const f of files) {
    const where = writableTarget(root, f.path);
    if ("refused" in where) throw new NowError(`refusing to restore trial ${t.id}: ${where.refused}; nothing was written`);
    if (!hasBlob(root, f.hash)) {
      throw new NowError(`trial ${t.id}'s content of ${f.path} (${f.hash.slice(0, 10)}) is missing from .now/content; nothing was written`);
    }
    targets.set(f.path, where.target);
  }

  const current = new Map<string, Buffer | null>();
  for (const f of files) current.set(f.path, readIfFile(targets.get(f.path)!));
  const changing = files.filter((f) => {
    const bytes = current.get(f.path);
    return !bytes || hashBytes(bytes) !== f.hash;
  });
  const unchanged = files.filter((f) => !changing.includes(f));

  // Anything about to be overwritten whose content no trial holds is saved first.
  const known = knownHashes(db);
  const unsaved = changing.filter((f) => {
    const bytes = current.get(f.path);
    return !!bytes && !known.has(hashBytes(bytes));
  });
  let backup: number | null = null;
  if (unsaved.length > 0) {
    const saved = changing.flatMap((f) => {
      const bytes = current.get(f.path);
      return bytes ? [{ path: f.path, hash: writeBlob(root, bytes), role: f.role }] : [];
    });
    backup = createBackupTrial(db, { uuid: randomUUID(), script: t.script, root, cwd: opts.cwd, restoring: t.id, files: saved });
  }

  for (const f of changing) writeAtomically(targets.get(f.path)!, readBlob(root, f.hash)!);
  // The next run of the script derives from the restored trial (a branch in the history).
  if (files.some((f) => f.role === "script")) setHead(db, t.script, t.id);
  return { trial: t.id, restored: changing, unchanged, backup };
}

function keep(role: FileRole, opts: RestoreOptions): boolean {
  if (role === "input") return opts.inputs;
  if (role === "module") return opts.modules;
  return true;
}

function readIfFile(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

function writeAtomically(target: string, bytes: Buffer): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  let mode = 0o644;
  try {
    mode = fs.statSync(target).mode & 0o777;
  } catch {
    // New file: default mode.
  }
  const tmp = `${target}.now-restore-${process.pid}`;
  fs.writeFileSync(tmp, bytes, { mode });
  fs.renameSync(tmp, target);
}
