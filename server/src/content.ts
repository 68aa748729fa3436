import { createHash, randomBytes } from "crypto";
import fs from "fs";
import path from "path";
import { contentPath } from "../../protocol/events";
import { nowDir } from "./paths";

// The content store: blobs named by the SHA-256 of their bytes (layout in protocol/README.md).

export function blobPath(root: string, hash: string): string {
  return path.join(nowDir(root), contentPath(hash));
}

export function hasBlob(root: string, hash: string): boolean {
  return fs.existsSync(blobPath(root, hash));
}

export function readBlob(root: string, hash: string): Buffer | null {
  try {
    return fs.readFileSync(blobPath(root, hash));
  } catch {
    return null;
  }
}

export function hashBytes(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Stores bytes once (temporary name, then rename: readers never see half a blob). */
export function writeBlob(root: string, bytes: Buffer): string {
  const hash = hashBytes(bytes);
  const target = blobPath(root, hash);
  if (fs.existsSync(target)) return hash;
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, bytes, { mode: 0o400 });
  fs.renameSync(tmp, target);
  return hash;
}

export interface BlobInfo { hash: string; size: number; file: string }

/** Every blob in the store (temporary files of interrupted writes are left out). */
export function listBlobs(root: string): BlobInfo[] {
  const base = path.join(nowDir(root), "content");
  const out: BlobInfo[] = [];
  if (!fs.existsSync(base)) return out;
  for (const prefix of fs.readdirSync(base)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const rest of fs.readdirSync(path.join(base, prefix))) {
      if (!/^[0-9a-f]{62}$/.test(rest)) continue;
      const file = path.join(base, prefix, rest);
      out.push({ hash: prefix + rest, size: fs.statSync(file).size, file });
    }
  }
  return out;
}
