// Answers of now/graph, now/diff and the "diff with trial N" command, from the analyses
// the CLI uses too. Errors are NowErrors; server.ts turns them into InvalidParams.
import type { DiffParams, DiffResult, GraphParams } from "../../../protocol/lsp";
import { buildGraph, renderGraph } from "../analysis/graphs";
import { renderDiff } from "../commands/diff";
import { resolveTrial } from "../commands/common";
import { publicTrial } from "../commands/list";
import { NowError } from "../errors";
import { diffTrials } from "../trials/diff";
import type { Project } from "./project";

const KINDS = ["activation", "dataflow", "history", "definitions"];
const FORMATS = ["json", "dot", "mermaid"];

function store(project: Project) {
  const db = project.store();
  if (!db) throw new NowError("no trials recorded yet");
  return db;
}

export function graphOf(project: Project, p: GraphParams) {
  if (!p || !KINDS.includes(p.kind)) throw new NowError(`now/graph: kind must be one of ${KINDS.join(", ")}`);
  const format = p.format ?? "json";
  if (!FORMATS.includes(format)) throw new NowError(`now/graph: format must be one of ${FORMATS.join(", ")}`);
  if (p.depth !== undefined && !(Number.isInteger(p.depth) && p.depth >= 0)) throw new NowError("now/graph: depth must be a whole number");
  const db = store(project);
  const t = resolveTrial(db, p.trial === undefined ? undefined : String(p.trial));
  return renderGraph(buildGraph(db, project.root, t, { kind: p.kind, focus: p.focus, depth: p.depth }), format);
}

export function diffOf(project: Project, p: DiffParams): DiffResult {
  if (!p || p.a === undefined || p.b === undefined) throw new NowError("now/diff needs two trials, a and b");
  const db = store(project);
  const d = diffTrials(db, project.root, resolveTrial(db, String(p.a)), resolveTrial(db, String(p.b)), !!p.fine);
  return { text: renderDiff(d, { fine: p.fine }), data: { ...d, a: publicTrial(d.a), b: publicTrial(d.b) } };
}

/** The document's trial against trial `other` (the "Show diff with trial N" action). */
export function diffWithDocumentTrial(project: Project, uri: string, other: unknown): DiffResult {
  const dt = project.trialFor(uri);
  if (!dt) throw new NowError(`no trial ran ${uri}`);
  return diffOf(project, { a: other as number, b: dt.trial.id });
}
