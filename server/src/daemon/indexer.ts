import path from "path";
import { readBlob } from "../content";
import { NowError } from "../errors";
import { AnalysedDocument, type ContentChange } from "../index/document";
import { diffDefinitions } from "../index/history";
import { createParser } from "../index/parser";
import { indexBytes, indexProject } from "../index/projectIndex";
import { isIndexError, type FileIndex } from "../index/types";
import type { DB } from "../store/database";
import { getFileIndex, lastSeen, recordFileVersion } from "../store/definitions";
import { getModules, type TrialRow } from "../store/queries";
import type { DaemonLog } from "./log";

/**
 * Keeps the definition index of the project: every watched file's current version in
 * memory (answers are immediate), every version seen in the store with the changes of
 * its definitions since the path's previous version. Also indexes the exact versions a
 * trial ran (from the content store), which links trials to definitions.
 */
export class Indexer {
  private readonly current = new Map<string, FileIndex>();
  /** Editors' unsaved buffers: they win over the file on disk while open. */
  private readonly buffers = new Map<string, AnalysedDocument>();
  private readonly parser = createParser();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly root: string, private readonly db: DB, private readonly log: DaemonLog) {}

  /** A watcher batch: indexed in order, one batch after the other. */
  enqueue(changes: Map<string, "add" | "change" | "unlink">): Promise<void> {
    this.queue = this.queue.then(() => this.apply(changes)).catch((e) => this.log.write(`index: ${(e as Error).message}`));
    return this.queue;
  }

  /** Resolves once every batch handed over so far is indexed. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async apply(changes: Map<string, "add" | "change" | "unlink">): Promise<void> {
    const started = Date.now();
    const toRead: string[] = [];
    for (const [rel, kind] of changes) {
      if (kind === "unlink") this.current.delete(rel);
      else toRead.push(rel);
    }
    const results = await indexProject(this.root, toRead, { parser: this.parser });
    let indexed = 0;
    for (const { path: rel, result } of results) {
      if (isIndexError(result)) {
        // Deleted between the event and the read, a folder named .py …: skipped, said once.
        this.log.write(`index: ${rel} skipped: ${result.error}`);
        this.current.delete(rel);
        continue;
      }
      if (result.skipped) this.log.write(`index: ${rel} not parsed (${result.skipped})`);
      this.remember(rel, result, "disk");
      indexed++;
    }
    if (toRead.length > 1) this.log.write(`indexed ${indexed} of ${toRead.length} files in ${Date.now() - started} ms`);
  }

  private remember(rel: string, index: FileIndex, source: "disk" | "trial"): void {
    const previous = lastSeen(this.db, rel);
    const before = previous && previous !== index.hash ? getFileIndex(this.db, previous) : null;
    recordFileVersion(this.db, rel, index, previous === index.hash ? [] : diffDefinitions(before, index), previous, source);
    if (source === "disk") this.current.set(rel, index);
  }

  /** The script and local modules exactly as trial `t` ran them. */
  indexTrial(t: TrialRow): void {
    const sources: [string, string][] = [];
    if (t.script_hash) sources.push([t.script, t.script_hash]);
    for (const m of getModules(this.db, t.id)) if (m.local && m.path && m.hash) sources.push([m.path, m.hash]);
    for (const [rel, hash] of sources) {
      if (path.isAbsolute(rel)) continue;
      const bytes = readBlob(this.root, hash);
      if (!bytes) continue;
      try {
        this.remember(rel, getFileIndex(this.db, hash) ?? indexBytes(bytes, this.parser), "trial");
      } catch (e) {
        this.log.write(`index: trial ${t.id}'s ${rel}: ${(e as Error).message}`);
      }
    }
  }

  /** An editor opened a buffer (its text may differ from the file on disk). */
  openBuffer(rel: string, text: string): FileIndex {
    const doc = new AnalysedDocument(text, { parser: this.parser });
    this.buffers.set(rel, doc);
    return doc.index;
  }

  /** Edits to an open buffer: applied to its tree and reparsed incrementally. */
  changeBuffer(rel: string, changes: ContentChange[]): FileIndex {
    const doc = this.buffers.get(rel);
    if (!doc) throw new NowError(`${rel} is not open (index/open first)`);
    doc.applyChanges(changes);
    return doc.index;
  }

  closeBuffer(rel: string): void {
    this.buffers.delete(rel);
  }

  definitions(rel: string): FileIndex {
    const buffer = this.buffers.get(rel);
    if (buffer) return buffer.index;
    const index = this.current.get(rel);
    if (!index) throw new NowError(`${rel} is not an indexed Python file of this project`);
    return index;
  }

  size(): number {
    return this.current.size;
  }
}
