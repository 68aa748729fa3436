// Code actions: restore the document from a recent trial (a WorkspaceEdit the client
// applies, so its undo reverts it) and run the script as a new trial.
import { CodeActionKind, type CodeAction } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { RUN_TRIAL_COMMAND } from "../../../protocol/lsp";
import { formatTime } from "../format/text";
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
  for (const { trial, hash } of db ? trialsOfFile(db, file, RECENT) : []) {
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
  if (file.endsWith(".py")) {
    actions.push({
      title: `Run trial of ${file}`,
      kind: CodeActionKind.Source,
      command: { title: "Run trial", command: RUN_TRIAL_COMMAND, arguments: [doc.uri] },
    });
  }
  return actions;
}
