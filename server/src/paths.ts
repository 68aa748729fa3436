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

/** A path as stored: root-relative when it lies under the root, absolute otherwise, then
 *  made storable text by `encodeStoredPath` (names that are not UTF-8 keep their bytes). */
export function storedPath(root: string, p: string): string {
  const rel = path.relative(root, p);
  return encodeStoredPath(rel && isInside(rel) ? rel : p);
}

/** Whether a path relative to some folder stays in it (a name like `..data` does). */
export function isInside(rel: string): boolean {
  return rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

// Names that are not UTF-8. The tracer writes a file name as Python decodes it, with each
// byte that is not UTF-8 as a lone surrogate U+DC80..U+DCFF ("surrogateescape"). SQLite
// cannot hold lone surrogates (they come back as U+FFFD, the bytes lost), so such a path is
// stored in an escaped form: the marker `./`, then the path with `\xHH` for each such byte,
// `\uHHHH` for any other lone surrogate, and `\\` for a backslash. No path is otherwise
// stored starting with `./` (a root-relative path never does, an absolute one starts with
// `/`), so every other path, the valid UTF-8 ones, is stored as it is; a name that does
// start with `./` (not a file's: a code object's pseudo-file name) is escaped too, which
// keeps the encoding reversible for every string. The escaped form is also what people
// see (`displayPath`): readable, and unaware code joining it to a folder finds no file
// rather than a wrong one.
const ESCAPED = "./";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A path string as the tracer gives it → text SQLite keeps exactly. */
export function encodeStoredPath(p: string): string {
  if (!LONE_SURROGATE.test(p) && !p.startsWith(ESCAPED)) return p;
  return ESCAPED + escapeName(p);
}

/** Back from `encodeStoredPath`: the path with its lone surrogates. */
export function decodeStoredPath(stored: string): string {
  return stored.startsWith(ESCAPED) ? unescapeName(stored.slice(ESCAPED.length)) : stored;
}

/** A stored path as shown to people: bytes that are not UTF-8 as `\xHH`. */
export function displayPath(stored: string): string {
  return stored.startsWith(ESCAPED) ? stored.slice(ESCAPED.length) : stored;
}

/** A path with lone surrogates (as Python or `fsName` decode it) as shown to people. */
export function displayName(name: string): string {
  return displayPath(encodeStoredPath(name));
}

function escapeName(p: string): string {
  let out = "";
  for (const ch of p) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (c >= 0xdc80 && c <= 0xdcff) out += "\\x" + (c - 0xdc00).toString(16).padStart(2, "0");
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out;
}

function unescapeName(e: string): string {
  return e.replace(/\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, esc: string) =>
    esc === "\\" ? "\\" : String.fromCharCode(esc[0] === "x" ? 0xdc00 + parseInt(esc.slice(1), 16) : parseInt(esc.slice(1), 16)));
}

/**
 * A path's bytes for the file system (Node's fs takes them as a Buffer): UTF-8, with each
 * U+DC80..U+DCFF back to the byte it stands for. Null when the path holds another lone
 * surrogate, which no byte string decodes to: it names no possible file.
 */
export function fsBytes(name: string): Buffer | null {
  const parts: Buffer[] = [];
  let text = "";
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c < 0xd800 || c > 0xdfff) {
      text += ch;
      continue;
    }
    if (c < 0xdc80 || c > 0xdcff) return null;
    parts.push(Buffer.from(text, "utf8"), Buffer.from([c - 0xdc00]));
    text = "";
  }
  parts.push(Buffer.from(text, "utf8"));
  return Buffer.concat(parts);
}

/** Bytes from the file system → a path string as Python decodes it (UTF-8, surrogateescape). */
export function fsName(bytes: Buffer): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]);
      i += 1;
    } else {
      out += bytes.toString("utf8", i, i + n);
      i += n;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode's table 3-7), 0 if there is none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const b0 = b[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// What restore never writes: the store, version control's folders, a virtual environment.
const VCS_FOLDERS = [".git", ".hg", ".svn", ".jj"];

/**
 * Why a root-relative path lies where restore must never write, or null: in a nowls store
 * (`.now`), in a version control folder, or in a virtual environment (a folder below the
 * root holding `pyvenv.cfg`, on disk now or among `venvs`, root-relative folders known to
 * be one, such as the interpreter prefix a trial recorded). The root itself counts as no
 * environment even with a `pyvenv.cfg`, or nothing in such a project could be restored.
 */
export function protectedZone(root: string, rel: string, venvs: ReadonlySet<string> = new Set()): string | null {
  const parts = rel.split(path.sep);
  for (let i = 0; i < parts.length; i++) {
    const folder = parts.slice(0, i + 1).join(path.sep);
    if (parts[i] === ".now") return `${displayName(folder)}/ (a nowls store)`;
    if (VCS_FOLDERS.includes(parts[i])) return `${displayName(folder)}/ (version control)`;
    if (i < parts.length - 1 && (venvs.has(folder) || isVirtualEnv(path.join(root, folder)))) {
      return `${displayName(folder)}/ (a virtual environment)`;
    }
  }
  return null;
}

function isVirtualEnv(folder: string): boolean {
  const bytes = fsBytes(path.join(folder, "pyvenv.cfg"));
  return bytes !== null && fs.existsSync(bytes);
}
