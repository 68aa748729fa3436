/**
 * Forward migrations. MIGRATIONS[v] turns a store of version v into version v + 1; the
 * last step must produce exactly what schema.sql creates. Never edit a released step:
 * add one, bump SCHEMA_VERSION and note it in schema.sql's history.
 */
export const SCHEMA_VERSION = 3;

export const MIGRATIONS: Record<number, string> = {
  // 1 → 2: bounded activations (coarse mode's calls_keep): per code object, the activations
  // the tracer counted without recording them.
  1: `ALTER TABLE code ADD COLUMN elided INTEGER NOT NULL DEFAULT 0;`,
  // 2 → 3: what a trial's record misses when it could not be kept whole (full disk, the
  // tracer stopped because its runner died); NULL for a whole record.
  2: `ALTER TABLE trial ADD COLUMN incomplete TEXT;`,
};
