import { NowError } from "../errors";
import { addNote, deleteTag, getTag, listTags, setTag } from "../store/management";
import { openProjectStore, printJson, resolveTrial } from "./common";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `now tag [N NAME]`, `now tag --delete NAME`: names usable wherever a trial number is. */
export function tagCommand(ref: string | undefined, name: string | undefined, opts: { cwd: string; delete?: string; force?: boolean; json?: boolean }): void {
  // Listing the tags is a read; naming or deleting one writes.
  const { db } = openProjectStore(opts.cwd, { write: opts.delete !== undefined || ref !== undefined });
  try {
    if (opts.delete !== undefined) {
      if (!deleteTag(db, opts.delete)) throw new NowError(`no tag '${opts.delete}'`);
      process.stdout.write(`deleted tag ${opts.delete}\n`);
      return;
    }
    if (ref === undefined) {
      const tags = listTags(db);
      if (opts.json) return printJson(tags);
      process.stdout.write(tags.length ? tags.map((t) => `${t.name}\ttrial ${t.trial_id}\n`).join("") : "no tags\n");
      return;
    }
    if (name === undefined) throw new NowError("usage: now tag TRIAL NAME");
    if (!/^[A-Za-z_][\w.\-]*$/.test(name) || UUID.test(name)) {
      throw new NowError(`bad tag name '${name}': use letters, digits, '_', '-', '.', starting with a letter`);
    }
    const t = resolveTrial(db, ref);
    const existing = getTag(db, name);
    if (existing && existing.trial_id !== t.id && !opts.force) {
      throw new NowError(`tag '${name}' already names trial ${existing.trial_id} (use --force to move it)`);
    }
    setTag(db, name, t.id);
    process.stdout.write(`trial ${t.id} is tagged ${name}\n`);
  } finally {
    db.close();
  }
}

export function noteCommand(ref: string, text: string, opts: { cwd: string }): void {
  if (!text.trim()) throw new NowError("a note needs some text");
  const { db } = openProjectStore(opts.cwd, { write: true });
  try {
    const t = resolveTrial(db, ref);
    const seq = addNote(db, t.id, text);
    process.stdout.write(`note ${seq} added to trial ${t.id}\n`);
  } finally {
    db.close();
  }
}
