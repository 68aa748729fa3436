/**
 * An error the user caused or can fix (bad argument, missing file, newer store). The CLI
 * prints its message as one line and exits non-zero; anything else is a bug and keeps its
 * stack trace.
 */
export class NowError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = "NowError";
  }
}

/** The store's database cannot be read as a whole: only `now doctor` helps. */
export class DamagedStoreError extends NowError {
  constructor(readonly file: string, detail: string) {
    super(
      `the store ${file} is damaged (${detail}); \`now doctor\` checks it and ` +
        `\`now doctor --salvage\` copies what can be saved into a fresh store`,
    );
    this.name = "DamagedStoreError";
  }
}

/** A writing command met a store this process may not write. */
export class ReadOnlyStoreError extends NowError {
  constructor(readonly where: string, reason: string) {
    super(`the store ${where} is read-only (${reason}); only reading commands (list, show, diff, query…) work on it`);
    this.name = "ReadOnlyStoreError";
  }
}

/** better-sqlite3's SqliteError, recognised without importing the native module. */
export function sqliteCode(e: unknown): string | null {
  if (!(e instanceof Error) || e.name !== "SqliteError") return null;
  const code = (e as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : null;
}

/** SQLite's words for a file whose pages do not hold what they should. */
export function isCorruption(e: unknown): boolean {
  const code = sqliteCode(e);
  return code !== null && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

/**
 * The SqliteErrors the environment causes (damage, permissions, a full disk, a lock held
 * too long), as one line about `file`. Other codes (constraints, SQL errors, misuse) are
 * bugs in nowls and keep their stack, so this answers null for them.
 */
export function storeErrorOf(e: unknown, file: string): NowError | null {
  const code = sqliteCode(e);
  if (code === null) return null;
  const detail = (e as Error).message;
  if (isCorruption(e)) return new DamagedStoreError(file, detail);
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM") return new ReadOnlyStoreError(file, detail);
  if (code === "SQLITE_FULL") return new NowError(`cannot write the store ${file}: the disk is full (${detail}); free some space and retry`);
  if (code.startsWith("SQLITE_BUSY")) return new NowError(`the store ${file} stayed locked by another process (${detail}); retry when it is done`);
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_IOERR")) return new NowError(`cannot use the store ${file} (${detail}, ${code})`);
  return null;
}

/**
 * A file-system error on a path inside a `.now/` folder (a read-only or full store), as
 * one line; null for anything else, which stays a bug with its stack.
 */
export function fsStoreErrorOf(e: unknown): NowError | null {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== "string" || typeof err.path !== "string") return null;
  if (!/(^|[\\/])\.now([\\/]|$)/.test(err.path)) return null;
  if (err.code === "EROFS" || err.code === "EACCES" || err.code === "EPERM") {
    return new ReadOnlyStoreError(err.path, `${err.code}: ${err.syscall ?? "write"} refused`);
  }
  if (err.code === "ENOSPC" || err.code === "EDQUOT") return new NowError(`cannot write ${err.path}: the disk is full (${err.code}); free some space and retry`);
  return null;
}
