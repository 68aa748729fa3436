import { NowError, ReadOnlyStoreError } from "../errors";
import { findStoreRoot, nowDir } from "../paths";
import { recoverOrphanTrials } from "../run/recover";
import { openDatabase, unwritablePart, type DB } from "../store/database";
import { getTag } from "../store/management";
import { getTrial, getTrialByUuid, lastTrialId, type TrialRow } from "../store/queries";

/** The root of the store containing `cwd`; a NowError when there is none. */
export function requireStoreRoot(cwd: string): string {
  const root = findStoreRoot(cwd);
  if (!root) throw new NowError(`no nowls store in ${cwd} or above (record a trial with \`now run script.py\` first)`);
  return root;
}

/**
 * Opens the store of the project containing `cwd`, finishing any orphaned trial first.
 * A store this process may not write is opened read-only and left as it is (recovering
 * writes), unless the caller says it will write: then a ReadOnlyStoreError now, rather
 * than a failure half-way.
 */
export function openProjectStore(cwd: string, opts: { write?: boolean } = {}): { db: DB; root: string } {
  const root = requireStoreRoot(cwd);
  if (opts.write) {
    const refused = unwritablePart(root);
    if (refused) throw new ReadOnlyStoreError(nowDir(root), refused);
  }
  const db = openDatabase(root, { create: false });
  if (!db.readonly) recoverOrphanTrials(db, root);
  return { db, root };
}

/**
 * A trial named by the user: its number, a tag, or its UUID; the last trial when none is
 * given.
 */
export function resolveTrial(db: DB, ref: string | undefined): TrialRow {
  if (ref === undefined) {
    const last = lastTrialId(db);
    if (last === null) throw new NowError("no trials recorded yet");
    return getTrial(db, last)!;
  }
  if (/^\d+$/.test(ref)) {
    const t = getTrial(db, Number(ref));
    if (!t) throw new NowError(`no trial ${ref} (${describeRange(db)})`);
    return t;
  }
  const tag = getTag(db, ref);
  if (tag) return getTrial(db, tag.trial_id)!;
  const t = getTrialByUuid(db, ref);
  if (!t) throw new NowError(`no trial '${ref}': give a trial number, tag or UUID (${describeRange(db)})`);
  return t;
}

function describeRange(db: DB): string {
  const last = lastTrialId(db);
  return last === null ? "no trials recorded yet" : `trials are 1 to ${last}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
