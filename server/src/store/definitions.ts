import { formatParam } from "../index/format";
import type { DefinitionChange, FileIndex } from "../index/types";
import type { DB } from "./database";

// Definition provenance: file versions, their definitions, and how definitions changed.

export function hasFileVersion(db: DB, hash: string): boolean {
  return !!db.prepare(`SELECT 1 FROM file_version WHERE hash = ?`).get(hash);
}

export function getFileIndex(db: DB, hash: string): FileIndex | null {
  const r = db.prepare(`SELECT data FROM file_version WHERE hash = ?`).get(hash) as { data: string } | undefined;
  return r ? (JSON.parse(r.data) as FileIndex) : null;
}

/** The version a path had last (as the watcher or a trial saw it). */
export function lastSeen(db: DB, path: string): string | null {
  const r = db.prepare(`SELECT hash FROM file_seen WHERE path = ? ORDER BY seen_at DESC LIMIT 1`).get(path) as { hash: string } | undefined;
  return r?.hash ?? null;
}

function signatureText(d: FileIndex["definitions"][number]): string {
  if (d.kind === "class") return d.bases.length ? `(${d.bases.join(", ")})` : "";
  return `(${d.params.map(formatParam).join(", ")})`;
}

/**
 * Records that `path` now has the version `index` (seen on disk, or run by a trial), with
 * the definition changes since the version it had before. Idempotent for a version seen
 * again; all in one transaction.
 */
export function recordFileVersion(
  db: DB, path: string, index: FileIndex, changes: DefinitionChange[], previous: string | null,
  source: "disk" | "trial", at = Date.now() / 1000,
): void {
  db.transaction(() => {
    if (!hasFileVersion(db, index.hash)) {
      db.prepare(`INSERT INTO file_version (hash, errors, skipped, indexed_at, data) VALUES (?, ?, ?, ?, ?)`)
        .run(index.hash, index.errors, index.skipped ?? null, at, JSON.stringify(index));
      const def = db.prepare(`INSERT OR REPLACE INTO definition VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const d of index.definitions) {
        def.run(index.hash, d.qualname, d.kind, d.span.startLine + 1, d.span.endLine + 1, signatureText(d), d.signatureHash, d.bodyHash);
      }
    }
    if (previous === index.hash) return;
    db.prepare(`INSERT OR IGNORE INTO file_seen VALUES (?, ?, ?, ?)`).run(path, index.hash, at, source);
    const ch = db.prepare(`INSERT INTO definition_change VALUES (?, ?, ?, ?, ?, ?)`);
    for (const c of changes) ch.run(path, c.qualname, c.change, previous, index.hash, at);
  }).immediate();
}

export interface DefinitionHistoryRow {
  path: string;
  qualname: string;
  change: string;
  from_hash: string | null;
  to_hash: string;
  at: number;
  signature: string | null;
  line: number | null;
  /** Trials that ran this version of the file (as script or local module). */
  trials: number[];
}

/** How a definition (qualname, or its last part) evolved, oldest first. */
export function definitionHistory(db: DB, name: string): DefinitionHistoryRow[] {
  const rows = db.prepare(
    `SELECT c.path, c.qualname, c.change, c.from_hash, c.to_hash, c.at, d.signature, d.line
       FROM definition_change c
       LEFT JOIN definition d ON d.file_hash = c.to_hash AND d.qualname = c.qualname
      WHERE c.qualname = ? OR c.qualname LIKE ? ESCAPE '\\'
      ORDER BY c.at, c.rowid`,
  ).all(name, "%." + name.replace(/[\\%_]/g, (m) => "\\" + m)) as Omit<DefinitionHistoryRow, "trials">[];
  const trials = db.prepare(
    `SELECT id FROM trial WHERE script_hash = ?
     UNION SELECT trial_id FROM module WHERE hash = ? AND local = 1 ORDER BY 1`,
  );
  return rows.map((r) => ({ ...r, trials: (trials.all(r.to_hash, r.to_hash) as { id: number }[]).map((t) => t.id) }));
}

export function countFileVersions(db: DB): number {
  return (db.prepare(`SELECT count(*) AS n FROM file_version`).get() as { n: number }).n;
}
