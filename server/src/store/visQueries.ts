// Read functions of `now vis` (the web view) that the other queries do not cover.
import type { DB } from "./database";

/**
 * A short string that changes whenever a trial is added, ends, changes status, or is
 * tagged: the web view polls it to hear of trials the daemon did not see end (run by a
 * `now run` that could not reach it).
 */
export function trialsFingerprint(db: DB): string {
  const r = db.prepare(
    `SELECT count(*) AS n, coalesce(max(id), 0) AS last, coalesce(sum(finished_at), 0) AS fin,
            (SELECT count(*) FROM trial WHERE status = 'running') AS running,
            (SELECT count(*) || ':' || coalesce(max(created_at), 0) FROM tag) AS tags
       FROM trial`,
  ).get() as { n: number; last: number; fin: number; running: number; tags: string };
  return `${r.n}:${r.last}:${r.fin}:${r.running}:${r.tags}`;
}
