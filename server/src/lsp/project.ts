// The project an editor has open: its root, its store (opened once there is one), and
// which trial each document shows. Knows nothing of LSP messages.
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
import { resolveTrial } from "../commands/common";
import { readBlob } from "../content";
import { findProjectRoot, findStoreRoot, dbPath } from "../paths";
import { openDatabase, type DB } from "../store/database";
import { fileHashInTrial, trialsOfFile } from "../store/lspQueries";
import type { TrialRow } from "../store/queries";
import { LineMap } from "./lineMap";

export interface DocumentTrial {
  trial: TrialRow;
  /** The document's path as the store names it (root-relative). */
  file: string;
  /** The file's text as the trial ran it; null when the content store lacks it. */
  text: string | null;
}

export class Project {
  private db: DB | null = null;
  private readonly selected = new Map<string, number>();

  constructor(readonly root: string) {}

  /** From the workspace folder (or rootUri): the folder with a store, else the project root. */
  static find(folder: string): Project {
    const store = findStoreRoot(folder);
    if (store) return new Project(store);
    return new Project(findProjectRoot(path.join(folder, "x")));
  }

  /** The store, or null before the first trial. */
  store(): DB | null {
    if (!this.db && fs.existsSync(dbPath(this.root))) this.db = openDatabase(this.root, { create: false });
    return this.db;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  /** A document's root-relative path; null for a URI outside the root or not a file. */
  fileOf(uri: string): string | null {
    if (!uri.startsWith("file:")) return null;
    let abs: string;
    try {
      abs = fileURLToPath(uri);
    } catch {
      return null;
    }
    const rel = path.relative(this.root, abs);
    if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) return null;
    return rel.split(path.sep).join("/");
  }

  /** Chooses the trial a document shows (by number, tag or UUID); null: the default again. Throws on an unknown trial. */
  select(uri: string, ref: number | string | null): TrialRow | null {
    if (ref === null) {
      this.selected.delete(uri);
      return this.trialFor(uri)?.trial ?? null;
    }
    const db = this.store();
    if (!db) throw new Error("no trials recorded yet");
    const t = resolveTrial(db, String(ref));
    this.selected.set(uri, t.id);
    return t;
  }

  /** The trial a document shows: the selected one, else the latest that ran this file. */
  trialFor(uri: string): DocumentTrial | null {
    const db = this.store();
    const file = this.fileOf(uri);
    if (!db || !file) return null;
    const chosen = this.selected.get(uri);
    let trial: TrialRow | null = null;
    let hash: string | null = null;
    if (chosen !== undefined) {
      trial = resolveTrial(db, String(chosen));
      hash = fileHashInTrial(db, chosen, file);
    } else {
      const latest = trialsOfFile(db, file, 1)[0];
      if (latest) ({ trial, hash } = latest);
    }
    if (!trial) return null;
    return { trial, file, text: this.blobText(hash) };
  }

  blobText(hash: string | null): string | null {
    if (!hash) return null;
    return readBlob(this.root, hash)?.toString("utf8") ?? null;
  }

  /** Line map from the trial's text to the buffer; when the text is not stored, lines map to themselves. */
  lineMap(dt: DocumentTrial, buffer: string): LineMap {
    return new LineMap(dt.text ?? buffer, buffer);
  }
}
