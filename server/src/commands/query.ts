import { NowError } from "../errors";
import { dbPath } from "../paths";
import { openReadOnlyFile } from "../store/database";
import { table } from "../format/text";
import { openProjectStore, printJson } from "./common";

/**
 * `now query "SELECT …"`: read-only SQL over the store. The statement must be a single
 * read (better-sqlite3's `readonly` flag, which SQLite derives from the compiled
 * statement), and it runs on a connection opened read-only, so no write can slip through.
 */
export function queryCommand(sql: string, o: { cwd: string; json?: boolean }): void {
  const { db, root } = openProjectStore(o.cwd); // finishes orphaned trials, checks the version
  db.close();
  const ro = openReadOnlyFile(dbPath(root));
  try {
    let stmt;
    try {
      stmt = ro.prepare(sql);
    } catch (e) {
      throw new NowError(`query: ${(e as Error).message}`);
    }
    if (!stmt.readonly) throw new NowError("query: only reading statements are allowed (SELECT, WITH … SELECT, read-only PRAGMA)");
    if (!stmt.reader) {
      throw new NowError("query: the statement returns no rows");
    }
    let rows: Record<string, unknown>[];
    try {
      rows = stmt.all() as Record<string, unknown>[];
    } catch (e) {
      throw new NowError(`query: ${(e as Error).message}`);
    }
    if (o.json) return printJson(rows);
    const cols = stmt.columns().map((c) => c.name);
    const cell = (v: unknown) => (v === null ? "NULL" : Buffer.isBuffer(v) ? `<${v.length} bytes>` : String(v).replace(/\s+/g, " "));
    process.stdout.write(table(cols, rows.map((r) => cols.map((c) => cell(r[c])))));
    process.stdout.write(`(${rows.length} row${rows.length === 1 ? "" : "s"})\n`);
  } finally {
    ro.close();
  }
}
