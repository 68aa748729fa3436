// Code actions: restore the document from a recent trial (a WorkspaceEdit the client
// applies, so its undo reverts it) and run the script as a new trial.
import { CodeActionKind, type CodeAction } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { DIFF_TRIAL_COMMAND, RUN_TRIAL_COMMAND } from "../../../protocol/lsp";
import { formatTime } from "../format/text";
import { protectedZone } from "../paths";
import { trialsOfFile } from "../store/lspQueries";
import type { Project } from "./project";

const RECENT = 10;
const MAX_RESTORES = 3;

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
    actions.push({
      title: `Run trial of ${file}`,
      kind: CodeActionKind.Source,
      command: { title: "Run trial", command: RUN_TRIAL_COMMAND, arguments: [doc.uri] },
    });
  }
  return actions;
}
