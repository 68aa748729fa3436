import { randomBytes, randomUUID } from "crypto";
import fs from "fs";
import path from "path";
import { hashBytes, hasBlob, readBlob, writeBlob } from "../content";
import { NowError } from "../errors";
import { decodeStoredPath, displayName, displayPath, fsBytes, fsName, isInside, protectedZone } from "../paths";
import type { DB } from "../store/database";
import { createBackupTrial, knownHashes, setHead } from "../store/management";
import { getDeployment, type TrialRow } from "../store/queries";
import { trialFiles, type FileRole, type TrialFile } from "./files";

export interface RestoreOptions {
  file?: string;
  inputs: boolean;
  modules: boolean;
  cwd: string;
}

/** A file of the trial that restore leaves alone because of where it lies. */
export interface SkippedFile extends TrialFile {
  /** The folder that protects it, e.g. `.git/ (version control)`. */
  zone: string;
}

export interface RestoreReport {
  trial: number;
  restored: TrialFile[];
  unchanged: TrialFile[];
  /** Files in the store, version control or a virtual environment: never written. */
  skipped: SkippedFile[];
  /** The backup trial holding the versions that were replaced and stored nowhere else. */
  backup: number | null;
}

/**
 * Puts back the files of trial `t` — all checks first, then the new contents written beside
 * their targets, then the backup, then one rename per file — so a refused or impossible
 * restore writes nothing, and a restore never destroys a version of a file that the store
 * does not already hold.
 */
export function restoreTrial(db: DB, root: string, t: TrialRow, opts: RestoreOptions): RestoreReport {
  const refuse = (reason: string) => new NowError(`refusing to restore trial ${t.id}: ${reason}; nothing was written`);
  const ctx: Context = { root, realRoot: realRootOf(root), venvs: knownVirtualEnvs(db, root, t), refuse, trial: t.id };
  const chosen = chooseFiles(db, ctx, t, opts);

  const plans: Plan[] = [];
  const skipped: SkippedFile[] = [];
  for (const f of chosen) {
    const p = planTarget(ctx, f);
    if ("zone" in p) {
      if (opts.file !== undefined) throw refuse(`${displayPath(f.path)} is in ${p.zone}, which restore never writes`);
      skipped.push({ ...f, zone: p.zone });
    } else plans.push(p);
  }
  if (plans.length === 0) {
    throw new NowError(`trial ${t.id} has no files to restore${skipped.length ? ` (${skippedSummary(skipped)})` : ""}`);
  }
  refuseFileAlsoNeededAsFolder(ctx, plans);

  const changing = plans.filter((p) => p.current === null || hashBytes(p.current) !== p.file.hash);
  for (const p of changing) checkReplaceable(ctx, p);

  const staged = stage(ctx, changing);
  let backup: number | null;
  try {
    backup = saveUnstoredVersions(db, ctx, t, opts.cwd, changing);
  } catch (e) {
    unstage(staged);
    throw new NowError(`could not save the current versions before restoring trial ${t.id} (${message(e)}); nothing was written`);
  }
  commit(ctx, staged, backup);
  const restored = changing.map((p) => p.file);
  const unchanged = plans.filter((p) => !changing.includes(p)).map((p) => p.file);
  // The next run of the script derives from the restored trial (a branch in the history).
  if (plans.some((p) => p.file.role === "script")) setHead(db, t.script, t.id);
  return { trial: t.id, restored, unchanged, skipped, backup };
}

/** One line for the report: how many files were left alone, and where. */
export function skippedSummary(skipped: SkippedFile[]): string {
  const zones = [...new Set(skipped.map((s) => s.zone.split(" ")[0]))].sort();
  const files = skipped.length === 1 ? "1 file" : `${skipped.length} files`;
  return `skipped ${files} in ${zones.join(", ")}: restore never writes the store, version control or a virtual environment`;
}

interface Context {
  root: string;
  realRoot: string;
  /** Root-relative folders known to be virtual environments (see knownVirtualEnvs). */
  venvs: Set<string>;
  refuse: (reason: string) => NowError;
  trial: number;
}

interface Plan {
  file: TrialFile;
  /** The file's name as the file system has it. */
  target: Buffer;
  shown: string;
  /** Its content now; null when there is no file yet. */
  current: Buffer | null;
  /** Its permission bits, kept by the new version. */
  mode: number | null;
  /** Folders to create for it, outermost first. */
  missing: Buffer[];
  /** Where the new entry is made: the folder that exists and must be writable. */
  writeDir: string;
}

function chooseFiles(db: DB, ctx: Context, t: TrialRow, opts: RestoreOptions): TrialFile[] {
  const all = trialFiles(db, t);
  if (opts.file === undefined) {
    const files = all.filter((f) => keep(f.role, opts));
    if (files.length === 0) throw new NowError(`trial ${t.id} has no files to restore`);
    return files;
  }
  const wanted = path.relative(ctx.root, path.resolve(opts.cwd, opts.file));
  const zone = isInside(wanted) ? protectedZone(ctx.root, wanted, ctx.venvs) : null;
  if (zone) throw ctx.refuse(`${opts.file} is in ${zone}, which restore never writes`);
  const files = all.filter((f) => displayPath(f.path) === wanted || displayPath(f.path) === opts.file);
  if (files.length === 0) {
    throw new NowError(`trial ${t.id} has no stored version of ${opts.file} (it has: ${all.map((f) => displayPath(f.path)).join(", ") || "nothing"})`);
  }
  return files;
}

function keep(role: FileRole, opts: RestoreOptions): boolean {
  if (role === "input") return opts.inputs;
  if (role === "module") return opts.modules;
  return true;
}

/**
 * Folders this trial shows to be virtual environments, whether or not they are still on
 * disk: the interpreter prefix it ran with, and any folder whose `pyvenv.cfg` it read.
 */
function knownVirtualEnvs(db: DB, root: string, t: TrialRow): Set<string> {
  const venvs = new Set<string>();
  const prefix = t.kind === "backup" ? null : getDeployment(db, t.id)?.py_prefix;
  if (prefix) {
    const rel = path.relative(root, prefix);
    if (rel && isInside(rel)) venvs.add(rel);
  }
  for (const f of trialFiles(db, t)) {
    const name = decodeStoredPath(f.path);
    if (path.basename(name) === "pyvenv.cfg" && !path.isAbsolute(name)) venvs.add(path.dirname(name));
  }
  return venvs;
}

function realRootOf(root: string): string {
  return fsName(fs.realpathSync(fsBytes(root) ?? root, { encoding: "buffer" }));
}

/**
 * Every reason the file cannot be written, found by looking only: outside the root, in a
 * protected folder (then it is skipped, not refused), a folder on the way that is a file,
 * a dangling or looping symbolic link, or a link leading out; the target itself a link,
 * a folder or not a regular file; its content missing from the store, or unreadable now.
 */
function planTarget(ctx: Context, f: TrialFile): Plan | { zone: string } {
  const shown = displayPath(f.path);
  const name = decodeStoredPath(f.path);
  if (fsBytes(name) === null) throw ctx.refuse(`${shown} names no possible file (a lone surrogate that stands for no byte)`);
  const absolute = path.resolve(ctx.root, name);
  const rel = path.relative(ctx.root, absolute);
  if (!rel || !isInside(rel)) throw ctx.refuse(`${shown} is outside the project root ${ctx.root}`);
  const zone = protectedZone(ctx.root, rel, ctx.venvs);
  if (zone) return { zone };

  const { realDir, missing } = walkFolders(ctx, rel, shown);
  const realRel = path.relative(ctx.realRoot, path.join(realDir, ...missing.map((m) => path.basename(m)), path.basename(rel)));
  if (!isInside(realRel)) throw ctx.refuse(`${shown} leads outside the project root through a symbolic link`);
  const realZone = protectedZone(ctx.realRoot, realRel, ctx.venvs);
  if (realZone) return { zone: realZone };
  if (!hasBlob(ctx.root, f.hash)) {
    throw new NowError(`trial ${ctx.trial}'s content of ${shown} (${f.hash.slice(0, 10)}) is missing from .now/content; nothing was written`);
  }

  const target = fsBytes(absolute)!;
  const { current, mode } = missing.length ? { current: null, mode: null } : currentFile(ctx, target, shown);
  return { file: f, target, shown, current, mode, missing: missing.map((m) => fsBytes(m)!), writeDir: realDir };
}

/**
 * Follows the folders from the root down to the file's: each must be a folder or a link to
 * one inside the root. Returns the real path of the deepest one that exists and the
 * absolute names of those to create below it.
 */
function walkFolders(ctx: Context, rel: string, shown: string): { realDir: string; missing: string[] } {
  const parts = rel.split(path.sep).slice(0, -1);
  let dir = ctx.root;
  let realDir = ctx.realRoot;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(dir, parts[i]);
    const here = `${displayName(parts.slice(0, i + 1).join(path.sep))}/`;
    const st = lstatOrNull(ctx, next, here);
    if (st === null) return { realDir, missing: parts.slice(i).map((_, j) => path.join(dir, ...parts.slice(i, i + j + 1))) };
    if (st.isSymbolicLink()) realDir = followFolderLink(ctx, next, here, shown);
    else if (st.isDirectory()) realDir = path.join(realDir, parts[i]);
    else throw ctx.refuse(`${here.slice(0, -1)} is a file, where ${shown} needs a folder`);
    if (!isInside(path.relative(ctx.realRoot, realDir))) throw ctx.refuse(`${shown} leads outside the project root through a symbolic link`);
    dir = next;
  }
  return { realDir, missing: [] };
}

function followFolderLink(ctx: Context, link: string, here: string, shown: string): string {
  const bytes = fsBytes(link)!;
  let st: fs.Stats;
  try {
    st = fs.statSync(bytes);
  } catch (e) {
    const to = displayName(fsName(fs.readlinkSync(bytes, { encoding: "buffer" })));
    if (code(e) === "ENOENT") throw ctx.refuse(`${here} is a symbolic link to ${to}, which does not exist`);
    if (code(e) === "ELOOP") throw ctx.refuse(`${here} is a symbolic link that loops (${to})`);
    throw ctx.refuse(`${here} is a symbolic link to ${to}, which cannot be followed (${code(e)})`);
  }
  if (!st.isDirectory()) throw ctx.refuse(`${here} is a symbolic link to a file, where ${shown} needs a folder`);
  return fsName(fs.realpathSync(bytes, { encoding: "buffer" }));
}

function lstatOrNull(ctx: Context, name: string, shown: string): fs.Stats | null {
  try {
    return fs.lstatSync(fsBytes(name)!);
  } catch (e) {
    if (code(e) === "ENOENT") return null;
    if (code(e) === "EACCES") throw ctx.refuse(`${shown} cannot be looked at (permission denied on a folder above it)`);
    throw ctx.refuse(`${shown}: ${message(e)}`);
  }
}

function currentFile(ctx: Context, target: Buffer, shown: string): { current: Buffer | null; mode: number | null } {
  const st = lstatOrNull(ctx, fsName(target), shown);
  if (st === null) return { current: null, mode: null };
  if (st.isSymbolicLink()) throw ctx.refuse(`${shown} is a symbolic link`);
  if (st.isDirectory()) throw ctx.refuse(`${shown} is a folder, where the trial read a file`);
  if (!st.isFile()) throw ctx.refuse(`${shown} is not a regular file (a pipe, socket or device)`);
  try {
    return { current: fs.readFileSync(target), mode: st.mode & 0o7777 };
  } catch (e) {
    // What cannot be read cannot be compared, nor saved before it is replaced.
    const why = code(e) === "EACCES" ? "permission denied" : message(e);
    throw ctx.refuse(`${shown} cannot be read (${why}), so it cannot be saved before it is replaced`);
  }
}

/** Two files of the trial where one's folder is the other: neither order could write both. */
function refuseFileAlsoNeededAsFolder(ctx: Context, plans: Plan[]): void {
  const targets = new Set(plans.map((p) => fsName(p.target)));
  for (const p of plans) {
    for (let dir = path.dirname(fsName(p.target)); dir.length > ctx.root.length; dir = path.dirname(dir)) {
      if (targets.has(dir)) throw ctx.refuse(`${displayName(path.relative(ctx.root, dir))} is both a file of trial ${ctx.trial} and a folder of ${p.shown}`);
    }
  }
}

/** Permissions, for the files that will change: an entry can be made, the old one replaced. */
function checkReplaceable(ctx: Context, p: Plan): void {
  if (!canAccess(fsBytes(p.writeDir)!, fs.constants.W_OK | fs.constants.X_OK)) {
    const dir = path.relative(ctx.realRoot, p.writeDir);
    const where = dir ? `${displayName(dir)}/` : `the project folder ${ctx.root}`;
    throw ctx.refuse(`${where} is not writable, so ${p.shown} cannot be ${p.missing.length || p.current === null ? "created" : "replaced"}`);
  }
  if (p.current !== null && !canAccess(p.target, fs.constants.W_OK)) {
    throw ctx.refuse(`${p.shown} is read-only (chmod u+w lets restore replace it)`);
  }
}

function canAccess(name: Buffer, mode: number): boolean {
  try {
    fs.accessSync(name, mode);
    return true;
  } catch {
    return false;
  }
}

interface Staged { plan: Plan; temp: Buffer; createdDirs: Buffer[] }

/**
 * Writes each new content to a temporary file beside its target (creating its folders), so
 * what can fail late — a full disk, a damaged blob — fails before any target is touched;
 * then everything staged is removed again.
 */
function stage(ctx: Context, plans: Plan[]): Staged[] {
  const staged: Staged[] = [];
  let current: Plan | null = null;
  try {
    for (const p of plans) {
      current = p;
      const createdDirs: Buffer[] = [];
      staged.push({ plan: p, temp: Buffer.alloc(0), createdDirs });
      for (const dir of p.missing) {
        fs.mkdirSync(dir);
        createdDirs.push(dir);
      }
      const bytes = readBlob(ctx.root, p.file.hash);
      if (bytes === null || hashBytes(bytes) !== p.file.hash) throw new Error(`its content in .now/content is damaged or unreadable`);
      staged[staged.length - 1].temp = writeTemp(p, bytes);
    }
  } catch (e) {
    unstage(staged);
    throw new NowError(`could not restore trial ${ctx.trial}: writing ${current!.shown} failed (${message(e)}); nothing was written`);
  }
  return staged;
}

function writeTemp(p: Plan, bytes: Buffer): Buffer {
  const dir = path.dirname(fsName(p.target));
  const temp = fsBytes(path.join(dir, `.now-restore-${process.pid}-${randomBytes(4).toString("hex")}`))!;
  const fd = fs.openSync(temp, "wx", 0o644);
  try {
    fs.writeSync(fd, bytes);
    // The mode is set explicitly: the umask would narrow a group-writable file's bits.
    if (p.mode !== null) fs.fchmodSync(fd, p.mode);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return temp;
}

function unstage(staged: Staged[]): void {
  for (const s of [...staged].reverse()) {
    if (s.temp.length) fs.rmSync(s.temp, { force: true });
    for (const dir of [...s.createdDirs].reverse()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Not empty or gone: something else put it there, so it stays.
      }
    }
  }
}

/** Anything about to be overwritten whose content no trial holds is saved first. */
function saveUnstoredVersions(db: DB, ctx: Context, t: TrialRow, cwd: string, changing: Plan[]): number | null {
  const known = knownHashes(db);
  const unsaved = changing.some((p) => p.current !== null && !known.has(hashBytes(p.current)));
  if (!unsaved) return null;
  const files = changing.flatMap((p) =>
    p.current === null ? [] : [{ path: p.file.path, hash: writeBlob(ctx.root, p.current), role: p.file.role }]);
  return createBackupTrial(db, { uuid: randomUUID(), script: t.script, root: ctx.root, cwd, restoring: t.id, files });
}

function commit(ctx: Context, staged: Staged[], backup: number | null): void {
  for (let i = 0; i < staged.length; i++) {
    try {
      fs.renameSync(staged[i].temp, staged[i].plan.target);
    } catch (e) {
      unstage(staged.slice(i));
      const saved = backup === null ? "" : `; backup trial ${backup} holds the versions it replaced`;
      throw new NowError(`restore of trial ${ctx.trial} stopped at ${staged[i].plan.shown} (${message(e)}): ${i} of ${staged.length} files were restored${saved}`);
    }
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
