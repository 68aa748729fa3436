import Database from "better-sqlite3";
import fs from "fs";
import os from "os";
import path from "path";
import { DamagedStoreError, fsStoreErrorOf, isCorruption, NowError, ReadOnlyStoreError, sqliteCode, storeErrorOf } from "../errors";
import { dbPath, nowDir, packageRoot } from "../paths";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";

export type DB = Database.Database;

/** The whole current schema (also what `now doctor --salvage` builds a fresh store from). */
export function schemaSql(): string {
  return fs.readFileSync(path.join(packageRoot(), "server", "src", "store", "schema.sql"), "utf8");
}

/**
 * Opens the project's store, creating `.now/` and the schema when `create` is set.
 * Several processes may have it open at once (two `now run`, a daemon, the CLI): WAL lets
 * readers go on while one writes, and the busy timeout makes writers wait their turn
 * instead of failing.
 *
 * A store this process may not write (permissions, a read-only mount) is opened read-only
 * when `create` is not set, so reading commands still work (`db.readonly` tells callers);
 * a creating caller (a writer: `now run`, the daemon) gets a ReadOnlyStoreError instead.
 */
export function openDatabase(root: string, opts: { create: boolean; readonly?: boolean }): DB {
  const file = dbPath(root);
  if (!fs.existsSync(file)) {
    if (!opts.create) throw new NowError(`no nowls store in ${root} (run \`now run script.py\` first)`);
    createStoreDir(root);
  }
  let readonly = !!opts.readonly;
  if (!readonly) {
    const refused = unwritablePart(root);
    if (refused && opts.create) throw new ReadOnlyStoreError(nowDir(root), refused);
    readonly = refused !== null;
  }
  lastStoreFile = file;
  let db: DB;
  try {
    db = readonly ? openReadOnlyFile(file) : new Database(file, { fileMustExist: !opts.create });
  } catch (e) {
    if (isCorruption(e)) throw new DamagedStoreError(file, (e as Error).message);
    throw new NowError(`cannot open the store ${file}: ${(e as Error).message}`);
  }
  try {
    db.pragma("busy_timeout = 10000");
    if (!readonly) {
      walMode(db);
      db.pragma("synchronous = NORMAL");
      // A call-heavy trial inserts ~10^6 rows; a 64 MiB page cache keeps the B-tree's
      // working set in memory (the default 2 MiB makes inserts several times slower).
      db.pragma("cache_size = -65536");
    }
    db.pragma("foreign_keys = ON");
    if (!readonly) makePrivate(root);
    migrate(db, file, readonly);
  } catch (e) {
    db.close();
    if (e instanceof NowError) throw e;
    throw storeErrorOf(e, file) ?? new NowError(`cannot use the store ${file}: ${(e as Error).message}`);
  }
  return db;
}

/**
 * Switches the store to WAL. Two processes creating a store at once can meet here: the
 * switch needs an exclusive lock, and SQLite answers SQLITE_BUSY at once, without its busy
 * handler, to the one that would otherwise deadlock; that one waits a little and asks
 * again (the other has switched the file by then, and the pragma only reads it).
 */
function walMode(db: DB): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (e) {
      if (sqliteCode(e) !== "SQLITE_BUSY" || attempt >= 100) throw e;
      Atomics.wait(pause, 0, 0, 20 + attempt * 5);
    }
  }
}

/** The database file the last openDatabase was about: what a later SqliteError is named after. */
export function lastOpenedStore(): string | null {
  return lastStoreFile;
}
let lastStoreFile: string | null = null;

/**
 * The store keeps what scripts read and computed: only its owner may read it, whoever made
 * `.now/` (an older nowls, a `mkdir`, a umask of 022). Each writer tightens the folder to
 * 0700 and the database files to 0600 (SQLite gives -wal and -shm the database's mode, so
 * the database goes first). A file this process does not own cannot be changed and is
 * left as it is: the owner's next writer does it.
 */
export function makePrivate(root: string): void {
  const file = dbPath(root);
  for (const [p, mode] of [[nowDir(root), 0o700], [file, 0o600], [`${file}-wal`, 0o600], [`${file}-shm`, 0o600]] as const) {
    try {
      if ((fs.statSync(p).mode & 0o777) !== mode) fs.chmodSync(p, mode);
    } catch {
      // gone (a -wal checkpointed away) or not ours (EPERM): nothing this writer can do
    }
  }
}

function createStoreDir(root: string): void {
  try {
    fs.mkdirSync(nowDir(root), { recursive: true, mode: 0o700 });
    writeNowReadme(root);
  } catch (e) {
    throw fsStoreErrorOf(e) ?? new ReadOnlyStoreError(nowDir(root), (e as Error).message);
  }
}

/**
 * Why this process cannot write the store (the part it may not write and why), or null
 * when it can. Decided from permissions before opening, because SQLite opens a
 * write-protected file read-only without a word and fails only at the first write.
 */
export function unwritablePart(root: string): string | null {
  const dir = nowDir(root);
  const file = dbPath(root);
  const parts = [dir, file, `${file}-wal`, `${file}-shm`, path.join(dir, "content"), path.join(dir, "trials")];
  for (const p of parts) {
    try {
      fs.accessSync(p, fs.constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && p !== dir) continue;
      const what = path.relative(dir, p) || ".now";
      return code === "EROFS" ? "read-only file system" : `${code === "ENOENT" ? "missing" : "no write permission on"} ${what}`;
    }
  }
  return null;
}

/**
 * Opens a database file read-only. A WAL database is read through its -shm index, which a
 * reader creates when it is missing; in a folder nobody may write (or on a read-only
 * mount) it cannot, and SQLite refuses ("unable to open database file"). Then no writer
 * can have the database open either (it would have made the -wal and -shm), so the file
 * is read as immutable, without locks or index.
 */
export function openReadOnlyFile(file: string): DB {
  enableUriFilenames();
  let db: DB | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch (e) {
    db?.close();
    const code = sqliteCode(e) ?? "";
    if (!code.startsWith("SQLITE_CANTOPEN") && !code.startsWith("SQLITE_READONLY")) throw e;
  }
  warnIfWalIgnored(file);
  const immutable = new Database(`file:${uriPath(file)}?immutable=1`, { readonly: true, fileMustExist: true });
  try {
    immutable.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (e) {
    immutable.close();
    throw e;
  }
  return immutable;
}

/** An immutable read skips the -wal: transactions still in it are not seen. */
function warnIfWalIgnored(file: string): void {
  let size = 0;
  try {
    size = fs.statSync(`${file}-wal`).size;
  } catch {
    return;
  }
  if (size > 0) {
    process.stderr.write(`now: note: ${file}-wal cannot be read without write access; the last transactions in it are not shown\n`);
  }
}

/** SQLite's URI syntax reserves %, ? and #: escaped, any path names itself. */
function uriPath(file: string): string {
  return path.resolve(file).replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * better-sqlite3 turns on URI filenames only from SQLITE_USE_URI, read once when its
 * native addon loads (the first Database); the immutable read above needs them. The
 * variable is restored at once so child processes (the tracer) never see it. Our own
 * paths are absolute, so none is mistaken for a URI.
 */
function enableUriFilenames(): void {
  if (urisEnabled) return;
  urisEnabled = true;
  const before = process.env.SQLITE_USE_URI;
  process.env.SQLITE_USE_URI = "1";
  try {
    new Database(":memory:").close();
  } finally {
    if (before === undefined) delete process.env.SQLITE_USE_URI;
    else process.env.SQLITE_USE_URI = before;
  }
}
let urisEnabled = false;

function migrate(db: DB, file: string, readonly: boolean): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new NowError(
      `the store ${file} has schema version ${version}, newer than this nowls understands ` +
        `(${SCHEMA_VERSION}); upgrade nowls`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (readonly) {
    throw new NowError(`the store ${file} has schema version ${version} and needs an upgrade to ${SCHEMA_VERSION}, which writes it; make it writable and run any command`);
  }
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
    { mode: 0o600 },
  );
}
