import Database from "better-sqlite3";
import fs from "fs";
import os from "os";
import path from "path";
import { NowError } from "../errors";
import { dbPath, nowDir, packageRoot } from "../paths";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";

export type DB = Database.Database;

function schemaSql(): string {
  return fs.readFileSync(path.join(packageRoot(), "server", "src", "store", "schema.sql"), "utf8");
}

/**
 * Opens the project's store, creating `.now/` and the schema when `create` is set.
 * Several processes may have it open at once (two `now run`, a daemon, the CLI): WAL lets
 * readers go on while one writes, and the busy timeout makes writers wait their turn
 * instead of failing.
 */
export function openDatabase(root: string, opts: { create: boolean; readonly?: boolean }): DB {
  const file = dbPath(root);
  if (!fs.existsSync(file)) {
    if (!opts.create) throw new NowError(`no nowls store in ${root} (run \`now run script.py\` first)`);
    fs.mkdirSync(nowDir(root), { recursive: true, mode: 0o700 });
    writeNowReadme(root);
  }
  let db: DB;
  try {
    db = new Database(file, { readonly: !!opts.readonly, fileMustExist: !opts.create });
  } catch (e) {
    throw new NowError(`cannot open the store ${file}: ${(e as Error).message}`);
  }
  try {
    db.pragma("busy_timeout = 10000");
    if (!opts.readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      // A call-heavy trial inserts ~10^6 rows; a 64 MiB page cache keeps the B-tree's
      // working set in memory (the default 2 MiB makes inserts several times slower).
      db.pragma("cache_size = -65536");
    }
    db.pragma("foreign_keys = ON");
    migrate(db, file, !!opts.readonly);
  } catch (e) {
    db.close();
    if (e instanceof NowError) throw e;
    throw new NowError(`cannot use the store ${file}: ${(e as Error).message}`);
  }
  return db;
}

function migrate(db: DB, file: string, readonly: boolean): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new NowError(
      `the store ${file} has schema version ${version}, newer than this nowls understands ` +
        `(${SCHEMA_VERSION}); upgrade nowls`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (readonly) throw new NowError(`the store ${file} needs an upgrade; run a writing command first`);
  // IMMEDIATE takes the write lock first, so two processes creating the store at once
  // do not both run the schema.
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current === 0) {
      const hasTables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (hasTables.n > 0) throw new NowError(`${file} is not a nowls store (it has tables but no schema version)`);
      db.exec(schemaSql());
    } else {
      for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function writeNowReadme(root: string): void {
  const readme = path.join(nowDir(root), "README");
  if (fs.existsSync(readme)) return;
  fs.writeFileSync(
    readme,
    "This folder is nowls's record of the trials run in this project (db.sqlite, content/,\n" +
      "trials/). Deleting it deletes that history. See `now --help`." + os.EOL,
  );
}
