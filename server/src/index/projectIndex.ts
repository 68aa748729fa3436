// Indexing files on disk: one file, or a project's list of files with one parser reused
// across them. A file that cannot be read (deleted meanwhile, a folder, no permission)
// gives `{ error }`; nothing here throws for a bad file.
import { createHash } from "crypto";
import fs from "fs";
import path from "path";
import { assembleIndex, readAllSegments } from "./definitions";
import { skippedIndex } from "./document";
import { createParser, parseText, type PythonParser } from "./parser";
import { LineIndex } from "./syntax";
import { DEFAULT_MAX_BYTES, type FileIndex, type IndexOptions, type IndexResult } from "./types";

export interface FileIndexOptions extends IndexOptions {
  parser?: PythonParser;
}

export interface ProjectFile {
  /** The path as given (relative paths are read from the root). */
  path: string;
  result: IndexResult;
}

/** Indexes one file as it is on disk now. */
export async function indexFile(file: string, options: FileIndexOptions = {}): Promise<IndexResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const read = await readFile(file, maxBytes);
  if (!Buffer.isBuffer(read)) return read;
  return indexBytes(read, options.parser ?? createParser(), maxBytes);
}

/**
 * Indexes the files of a project, in order, with one parser. Reads run a few files ahead
 * of parsing; parsing is synchronous, so the event loop is given back now and then.
 */
export async function indexProject(root: string, files: readonly string[], options: FileIndexOptions = {}): Promise<ProjectFile[]> {
  const parser = options.parser ?? createParser();
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const AHEAD = 8;
  const reads: Array<Promise<Buffer | IndexResult> | undefined> = [];
  const startRead = (i: number) => {
    if (i < files.length) reads[i] = readFile(path.resolve(root, files[i]), maxBytes);
  };
  for (let i = 0; i < AHEAD; i++) startRead(i);
  const out: ProjectFile[] = [];
  for (let i = 0; i < files.length; i++) {
    const read = await reads[i]!;
    reads[i] = undefined;
    startRead(i + AHEAD);
    out.push({ path: files[i], result: Buffer.isBuffer(read) ? indexBytes(read, parser, maxBytes) : read });
    if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

/** The bytes of a file, or what to answer without parsing it (too large, unreadable). Never throws. */
async function readFile(file: string, maxBytes: number): Promise<Buffer | IndexResult> {
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) return { error: `${file}: not a regular file` };
    if (stat.size > maxBytes) return skippedIndex(await hashFile(file), "too large");
    return await fs.promises.readFile(file);
  } catch (e) {
    return { error: describe(e, file) };
  }
}

/** Indexes file content: the hash is the SHA-256 of the bytes, as in the content store. */
export function indexBytes(bytes: Buffer, parser: PythonParser, maxBytes = DEFAULT_MAX_BYTES): FileIndex {
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (bytes.indexOf(0) !== -1) return skippedIndex(hash, "binary");
  if (bytes.length > maxBytes) return skippedIndex(hash, "too large");
  const text = bytes.toString("utf8");
  const tree = parseText(parser, text);
  return assembleIndex(hash, readAllSegments(tree, text, LineIndex.of(text)));
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function describe(e: unknown, file: string): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === "ENOENT") return `${file}: no such file`;
  if (err && err.code === "EACCES") return `${file}: permission denied`;
  if (err && err.code === "EISDIR") return `${file}: not a regular file`;
  return `${file}: ${err?.message ?? String(e)}`;
}
