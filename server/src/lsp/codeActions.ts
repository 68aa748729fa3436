// Code actions: restore the document from a recent trial (a WorkspaceEdit the client
// applies, so its undo reverts it) and run the script as a new trial, with or without values.
import { CodeActionKind, type CodeAction } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { DIFF_TRIAL_COMMAND, RUN_TRIAL_COMMAND } from "../../../protocol/lsp";
import { formatTime, shellQuote } from "../format/text";
import { protectedZone } from "../paths";
import type { DB } from "../store/database";
import { trialsOfFile } from "../store/lspQueries";
import type { Project } from "./project";

const RECENT = 10;
const MAX_RESTORES = 3;
/** Characters of arguments a "Run trial" title shows; a menu entry is one line. */
const TITLE_ARGS = 40;

export function codeActionsFor(project: Project, doc: TextDocument): CodeAction[] {
  const file = project.fileOf(doc.uri);
  if (!file) return [];
  const actions: CodeAction[] = [];
  const db = project.store();
  const buffer = doc.getText();
  const seen = new Set<string>();
  // The same rule as `now restore`: the store, version control and virtual environments are
  // never restored, not even as an edit the editor could undo.
  const restorable = protectedZone(project.root, file) === null;
  for (const { trial, hash } of db && restorable ? trialsOfFile(db, file, RECENT) : []) {
    if (actions.length >= MAX_RESTORES) break;
    if (!hash || seen.has(hash)) continue;
    seen.add(hash);
    const text = project.blobText(hash);
    if (text === null || text === buffer) continue;
    actions.push({
      title: `Restore this file from trial ${trial.id} (${formatTime(trial.started_at)})`,
      kind: CodeActionKind.Source,
      edit: {
        changes: {
          [doc.uri]: [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(buffer.length) }, newText: text }],
        },
      },
    });
  }
  // "Show diff with trial N": the document's trial against the one before it, and the first.
  const dt = project.trialFor(doc.uri);
  if (dt && db) {
    const others = trialsOfFile(db, file, RECENT).map((x) => x.trial).filter((t) => t.id !== dt.trial.id);
    for (const t of others.slice(0, 2)) {
      actions.push({
        title: `Show diff with trial ${t.id}`,
        kind: CodeActionKind.Source,
        command: { title: `Show diff with trial ${t.id}`, command: DIFF_TRIAL_COMMAND, arguments: [doc.uri, t.id] },
      });
    }
  }
  if (file.endsWith(".py")) {
    // The last trial's arguments, so that a client executing the command as it is re-runs
    // the script the way it last ran (a script that parses its arguments fails without
    // them); the editors' clients offer them for editing first.
    const args = db ? lastArguments(db, file) : [];
    for (const values of [false, true]) {
      const title = runTitle(file, args, values);
      actions.push({ title, kind: CodeActionKind.Source, command: { title, command: RUN_TRIAL_COMMAND, arguments: [doc.uri, args, values] } });
    }
  }
  return actions;
}

/** The arguments (argv without the script) of the last trial of `script`; none when it never ran. */
export function lastArguments(db: DB, script: string): string[] {
  // A backup trial (`now restore`) ran nothing: its argv is empty.
  const r = db.prepare(`SELECT argv FROM trial WHERE script = ? AND kind = 'run' ORDER BY id DESC LIMIT 1`).get(script) as { argv: string } | undefined;
  const argv = r ? (JSON.parse(r.argv) as unknown) : [];
  return Array.isArray(argv) ? argv.slice(1).map(String) : [];
}

/** "Run trial of F ARGS[ with values]", the arguments as a shell would take them, cut when long. */
export function runTitle(file: string, args: string[], values: boolean): string {
  let shown = args.map(shellQuote).join(" ");
  if (shown.length > TITLE_ARGS) shown = `${shown.slice(0, TITLE_ARGS - 1)}…`;
  return `Run trial of ${file}${shown ? ` ${shown}` : ""}${values ? " with values" : ""}`;
}
