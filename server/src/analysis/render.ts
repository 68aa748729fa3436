import type { FlowGraph, FlowNode } from "./dataflow";
import { labelOf } from "./dataflow";

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const cut = (s: string, n = 60) => (s.length <= n ? s : s.slice(0, n - 1) + "…");

/** `rankdir`: LR (left to right, the default) or TB (top to bottom, as the web view lays it out). */
export function toDot(g: FlowGraph, name = "dataflow", rankdir: "LR" | "TB" = "LR"): string {
  const lines = [`digraph ${name} {`, `  rankdir=${rankdir};`, '  node [fontname="Helvetica", fontsize=10];'];
  // Keys like g3:12:x (collapsed loops) are quoted: a bare colon is a port in dot.
  for (const [k, n] of g.nodes) lines.push(`  "${k}" [label="${esc(cut(labelOf(n)))}", ${shape(n)}];`);
  for (const [a, b] of g.edges()) lines.push(`  "${a}" -> "${b}";`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

function shape(n: FlowNode): string {
  if (n.kind === "activation") return 'shape=box, style="rounded"';
  if (n.kind === "file") return `shape=note, style=filled, fillcolor="${n.writes ? "#f9d5a7" : "#cde4f5"}"`;
  if (n.valueKind === "elided") return 'shape=ellipse, style=dashed';
  return "shape=ellipse";
}

export function toMermaid(g: FlowGraph): string {
  const q = (s: string) => `"${cut(s).replace(/"/g, "#quot;")}"`;
  const lines = ["flowchart LR"];
  const id = (k: string) => k.replace(/[^A-Za-z0-9_]/g, "_");
  for (const [k, n] of g.nodes) {
    const label = q(labelOf(n));
    lines.push(n.kind === "activation" ? `  ${id(k)}[${label}]` : n.kind === "file" ? `  ${id(k)}[/${label}/]` : `  ${id(k)}(${label})`);
  }
  for (const [a, b] of g.edges()) lines.push(`  ${id(a)} --> ${id(b)}`);
  return lines.join("\n") + "\n";
}

export function toJson(g: FlowGraph) {
  return {
    nodes: [...g.nodes].map(([key, n]) => ({ key, ...n, label: labelOf(n) })),
    edges: g.edges().map(([from, to]) => ({ from, to })),
  };
}
