import fs from "fs";
import path from "path";

/** The installed package's folder (holds package.json, python-tracer/, examples/). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

/** Folder given to `python` to run the tracer: it holds a __main__.py. */
export function tracerDir(): string {
  return path.join(packageRoot(), "python-tracer");
}

const ROOT_MARKERS = [".now", ".git", "pyproject.toml"];

/**
 * The project root of a script: the nearest folder at or above the script's folder that
 * has `.now`, `.git` or `pyproject.toml`; the script's own folder when none has.
 */
export function findProjectRoot(scriptPath: string): string {
  const start = path.dirname(path.resolve(scriptPath));
  for (let dir = start; ; ) {
    if (ROOT_MARKERS.some((m) => fs.existsSync(path.join(dir, m)))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

/** Root for commands that read the store: walk up from cwd to a folder with `.now`. */
export function findStoreRoot(cwd: string): string | null {
  for (let dir = path.resolve(cwd); ; ) {
    if (fs.existsSync(path.join(dir, ".now", "db.sqlite"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export const nowDir = (root: string) => path.join(root, ".now");
export const dbPath = (root: string) => path.join(root, ".now", "db.sqlite");
export const trialDir = (root: string, uuid: string) => path.join(root, ".now", "trials", uuid);
export const eventLogPath = (root: string, uuid: string) => path.join(trialDir(root, uuid), "events.jsonl");

/** A path as stored: root-relative when it lies under the root, absolute otherwise. */
export function storedPath(root: string, p: string): string {
  const rel = path.relative(root, p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

/**
 * Where a stored path may be written: under the root, with no `..` escape and no symlink
 * (in the file itself or in a folder above it) leading outside. Returns the absolute
 * target, or the reason it is refused.
 */
export function writableTarget(root: string, stored: string): { target: string } | { refused: string } {
  const target = path.resolve(root, stored);
  const rel = path.relative(root, target);
  if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) return { refused: `${stored} is outside the project root ${root}` };
  const realRoot = fs.realpathSync(root);
  try {
    if (fs.lstatSync(target).isSymbolicLink()) return { refused: `${stored} is a symbolic link` };
  } catch {
    // Does not exist yet: fine, its folders are checked below.
  }
  let existing = path.dirname(target);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const realParent = fs.realpathSync(existing);
  const relReal = path.relative(realRoot, realParent);
  if (relReal.startsWith("..") || path.isAbsolute(relReal)) {
    return { refused: `${stored} leads outside the project root through a symbolic link` };
  }
  return { target };
}
