import type { DB } from "./database";

// Tags, notes, heads, backup snapshots and the references gc must keep.

export interface TagRow { name: string; trial_id: number; created_at: number }

export function getTag(db: DB, name: string): TagRow | null {
  return (db.prepare(`SELECT * FROM tag WHERE name = ?`).get(name) as TagRow | undefined) ?? null;
}

export function listTags(db: DB): TagRow[] {
  return db.prepare(`SELECT * FROM tag ORDER BY trial_id, name`).all() as TagRow[];
}

/** Every trial's tag names, by trial id (trials without tags are absent). */
export function tagsByTrial(db: DB): Map<number, string[]> {
  const tags = new Map<number, string[]>();
  for (const tag of listTags(db)) tags.set(tag.trial_id, [...(tags.get(tag.trial_id) ?? []), tag.name]);
  return tags;
}

export function tagsOf(db: DB, trialId: number): string[] {
  return (db.prepare(`SELECT name FROM tag WHERE trial_id = ? ORDER BY name`).all(trialId) as { name: string }[]).map((r) => r.name);
}

export function setTag(db: DB, name: string, trialId: number): void {
  db.prepare(`INSERT OR REPLACE INTO tag (name, trial_id, created_at) VALUES (?, ?, ?)`).run(name, trialId, Date.now() / 1000);
}

export function deleteTag(db: DB, name: string): boolean {
  return db.prepare(`DELETE FROM tag WHERE name = ?`).run(name).changes > 0;
}

export interface NoteRow { seq: number; text: string; created_at: number }

export function addNote(db: DB, trialId: number, text: string): number {
  return db.transaction(() => {
    const { seq } = db.prepare(`SELECT coalesce(max(seq), 0) + 1 AS seq FROM note WHERE trial_id = ?`).get(trialId) as { seq: number };
    db.prepare(`INSERT INTO note (trial_id, seq, text, created_at) VALUES (?, ?, ?, ?)`).run(trialId, seq, text, Date.now() / 1000);
    return seq;
  }).immediate();
}

export function notesOf(db: DB, trialId: number): NoteRow[] {
  return db.prepare(`SELECT seq, text, created_at FROM note WHERE trial_id = ? ORDER BY seq`).all(trialId) as NoteRow[];
}

export function setHead(db: DB, script: string, trialId: number): void {
  db.prepare(`INSERT OR REPLACE INTO head (script, trial_id) VALUES (?, ?)`).run(script, trialId);
}

export function getHead(db: DB, script: string): number | null {
  const r = db.prepare(`SELECT trial_id FROM head WHERE script = ?`).get(script) as { trial_id: number } | undefined;
  return r?.trial_id ?? null;
}

export interface SnapshotRow { path: string; hash: string; role: "script" | "module" | "input" }

export function snapshotOf(db: DB, trialId: number): SnapshotRow[] {
  return db.prepare(`SELECT path, hash, role FROM snapshot WHERE trial_id = ? ORDER BY role DESC, path`).all(trialId) as SnapshotRow[];
}

/**
 * Records a backup trial holding `files` (whose blobs the caller has stored): a trial of
 * kind 'backup' whose parent is the script's head, so history shows where the work was.
 */
export function createBackupTrial(
  db: DB,
  b: { uuid: string; script: string; root: string; cwd: string; restoring: number; files: SnapshotRow[] },
): number {
  return db.transaction(() => {
    const now = Date.now() / 1000;
    const scriptFile = b.files.find((f) => f.role === "script");
    const id = Number(db.prepare(
      `INSERT INTO trial (uuid, kind, script, script_hash, argv, command, python, cwd, root, status,
                          exit_code, started_at, finished_at, parent_id)
       VALUES (?, 'backup', ?, ?, '[]', ?, '', ?, ?, 'finished', 0, ?, ?,
               (SELECT trial_id FROM head WHERE script = ?))`,
    ).run(b.uuid, b.script, scriptFile?.hash ?? null, `now restore ${b.restoring} (backup of the files it replaced)`,
      b.cwd, b.root, now, now, b.script).lastInsertRowid);
    const insert = db.prepare(`INSERT INTO snapshot (trial_id, path, hash, role) VALUES (?, ?, ?, ?)`);
    for (const f of b.files) insert.run(id, f.path, f.hash, f.role);
    return id;
  }).immediate();
}

/** Every content hash some trial refers to: what gc keeps and what counts as "stored". */
export function referencedHashes(db: DB): Set<string> {
  const rows = db.prepare(
    `SELECT script_hash AS h FROM trial WHERE script_hash IS NOT NULL
     UNION SELECT hash FROM module WHERE hash IS NOT NULL AND local = 1
     UNION SELECT hash_before FROM file_access WHERE hash_before IS NOT NULL
     UNION SELECT hash_after FROM file_access WHERE hash_after IS NOT NULL
     UNION SELECT hash FROM snapshot`,
  ).all() as { h: string }[];
  return new Set(rows.map((r) => r.h));
}

/** Every hash the store knows a version by, stored content or not (modules outside the root). */
export function knownHashes(db: DB): Set<string> {
  const set = referencedHashes(db);
  for (const r of db.prepare(`SELECT DISTINCT hash AS h FROM module WHERE hash IS NOT NULL`).all() as { h: string }[]) set.add(r.h);
  return set;
}

export function vacuum(db: DB): void {
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.exec("VACUUM");
}
