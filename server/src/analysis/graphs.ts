// Every graph a client can ask for (`now/graph`), as one plain shape: nodes with a key,
// a kind and a label, and edges. Rendered as JSON, Graphviz dot or Mermaid.
import { readBlob } from "../content";
import { NowError } from "../errors";
import { formatDuration } from "../format/text";
import { createParser } from "../index/parser";
import { indexBytes } from "../index/projectIndex";
import type { DB } from "../store/database";
import { tagsByTrial } from "../store/management";
import { getActivations, listTrials, type TrialRow } from "../store/queries";
import { historyNodes } from "../trials/history";
import { trialFiles } from "../trials/files";
import { buildDataflow } from "./dataflow";
import { toJson } from "./render";
import { view } from "./views";

export type GraphKind = "activation" | "dataflow" | "history" | "definitions";
export type GraphFormat = "json" | "dot" | "mermaid";

export interface GraphNode { key: string; kind: string; label: string; [more: string]: unknown }
export interface GraphData { kind: GraphKind; trial: number | null; nodes: GraphNode[]; edges: { from: string; to: string }[] }

export interface GraphRequest { kind: GraphKind; focus?: string; depth?: number }

export function buildGraph(db: DB, root: string, t: TrialRow, req: GraphRequest): GraphData {
  switch (req.kind) {
    case "dataflow": {
      const g = buildDataflow(db, t.id);
      const sliceFrom = req.focus === undefined ? undefined : [req.focus];
      if (sliceFrom && !g.nodes.has(req.focus!)) throw new NowError(`no node '${req.focus}' in trial ${t.id}'s dataflow (keys look like v12, a3, f1)`);
      const j = toJson(view(g, { sliceFrom, depth: req.depth, collapseLoops: !sliceFrom }));
      return { kind: "dataflow", trial: t.id, nodes: j.nodes as GraphNode[], edges: j.edges };
    }
    case "activation": {
      const acts = getActivations(db, t.id);
      const depth = new Map<number, number>();
      let keep = (_id: number) => true;
      if (req.focus !== undefined) {
        const root = Number(String(req.focus).replace(/^a/, ""));
        if (!acts.some((a) => a.id === root)) throw new NowError(`no activation ${req.focus} in trial ${t.id}`);
        const inside = new Set([root]);
        for (const a of acts) if (a.parent_id !== null && inside.has(a.parent_id)) inside.add(a.id);
        keep = (id) => inside.has(id);
      }
      const nodes: GraphNode[] = [];
      const edges: { from: string; to: string }[] = [];
      for (const a of acts) {
        if (!keep(a.id)) continue;
        const d = a.parent_id !== null && depth.has(a.parent_id) ? depth.get(a.parent_id)! + 1 : 0;
        depth.set(a.id, d);
        if (req.depth !== undefined && d > req.depth) continue;
        nodes.push({ key: `a${a.id}`, kind: "activation", label: `${a.qualname} ${formatDuration(a.duration)}`, duration: a.duration, status: a.status });
        if (a.parent_id !== null && depth.has(a.parent_id)) edges.push({ from: `a${a.parent_id}`, to: `a${a.id}` });
      }
      return { kind: "activation", trial: t.id, nodes, edges };
    }
    case "history": {
      const tags = tagsByTrial(db);
      const hn = historyNodes(listTrials(db), tags, (x) => `${x.id} ${x.script} ${x.argv.slice(1).join(" ")} (${x.kind === "backup" ? "backup" : x.status})`);
      return {
        kind: "history", trial: null,
        nodes: hn.map((n) => ({ key: `t${n.id}`, kind: "trial", label: n.label, status: n.status, tags: n.tags })),
        edges: hn.filter((n) => n.parent !== null).map((n) => ({ from: `t${n.parent}`, to: `t${n.id}` })),
      };
    }
    case "definitions": {
      const parser = createParser();
      const nodes: GraphNode[] = [];
      const edges: { from: string; to: string }[] = [];
      const byName = new Map<string, string[]>();
      const calls: { from: string; callee: string }[] = [];
      for (const f of trialFiles(db, t).filter((x) => x.role !== "input")) {
        const bytes = readBlob(root, f.hash);
        if (!bytes) continue;
        const index = indexBytes(bytes, parser);
        for (const d of index.definitions) {
          const key = `d:${f.path}:${d.qualname}`;
          nodes.push({ key, kind: d.kind, label: `${d.qualname} (${f.path}:${d.span.startLine + 1})` });
          byName.set(d.name, [...(byName.get(d.name) ?? []), key]);
        }
        for (const c of index.calls) if (c.in) calls.push({ from: `d:${f.path}:${c.in}`, callee: c.callee.split(".").pop()! });
      }
      for (const c of calls) for (const to of byName.get(c.callee) ?? []) if (to !== c.from) edges.push({ from: c.from, to });
      const seen = new Set<string>();
      return { kind: "definitions", trial: t.id, nodes, edges: edges.filter((e) => !seen.has(e.from + ">" + e.to) && seen.add(e.from + ">" + e.to)) };
    }
  }
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export function renderGraph(g: GraphData, format: GraphFormat): string | GraphData {
  if (format === "json") return g;
  if (format === "dot") {
    const lines = [`digraph ${g.kind} {`, "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded"];'];
    for (const n of g.nodes) lines.push(`  "${esc(n.key)}" [label="${esc(n.label)}"];`);
    for (const e of g.edges) lines.push(`  "${esc(e.from)}" -> "${esc(e.to)}";`);
    return lines.concat("}").join("\n") + "\n";
  }
  const id = (k: string) => k.replace(/[^A-Za-z0-9_]/g, "_");
  const lines = ["flowchart LR"];
  for (const n of g.nodes) lines.push(`  ${id(n.key)}["${n.label.replace(/"/g, "#quot;")}"]`);
  for (const e of g.edges) lines.push(`  ${id(e.from)} --> ${id(e.to)}`);
  return lines.join("\n") + "\n";
}
