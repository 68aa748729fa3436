import type { TrialRow } from "../store/queries";

export interface HistoryNode {
  id: number;
  parent: number | null;
  script: string;
  status: string;
  kind: string;
  started_at: number;
  label: string;
  tags: string[];
}

/**
 * The derivation graph as text, newest first, like `git log --graph`: one lane per line of
 * work; a trial with several children (a restore started a branch) is where lanes join.
 * Each trial has at most one parent, so lanes only fork, never merge.
 */
export function renderHistoryText(nodes: HistoryNode[]): string {
  const byId = new Set(nodes.map((n) => n.id));
  const sorted = [...nodes].sort((x, y) => y.id - x.id);
  // lanes[i] = the trial that lane i is waiting for (its next, older node), or null.
  const lanes: (number | null)[] = [];
  const lines: string[] = [];
  const draw = (mark: (l: number | null, i: number) => string) => lines.push(lanes.map(mark).join("").trimEnd());
  // (a join is drawn "|/" as git does: the joining lane's slash leans into the lane left of it)
  for (const n of sorted) {
    const waiting = lanes.map((l, i) => (l === n.id ? i : -1)).filter((i) => i >= 0);
    let col: number;
    if (waiting.length === 0) {
      col = lanes.indexOf(null);
      if (col < 0) col = lanes.push(null) - 1;
    } else {
      col = waiting[0];
      if (waiting.length > 1) {
        // Branches that started from this trial join its lane.
        const joins = (i: number) => waiting.includes(i) && i !== col;
        draw((l, i) => (joins(i) ? "/ " : l === null ? "  " : joins(i + 1) ? "|" : "| "));
        for (const i of waiting.slice(1)) lanes[i] = null;
        while (lanes.length && lanes[lanes.length - 1] === null) lanes.pop();
      }
    }
    lanes[col] = n.id;
    lines.push((lanes.map((l, i) => (i === col ? "* " : l === null ? "  " : "| ")).join("") + n.label).trimEnd());
    lanes[col] = n.parent !== null && byId.has(n.parent) ? n.parent : null;
    while (lanes.length && lanes[lanes.length - 1] === null) lanes.pop();
  }
  return lines.join("\n") + "\n";
}

export function renderHistoryDot(nodes: HistoryNode[]): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const color: Record<string, string> = { finished: "#59a14f", failed: "#e15759", interrupted: "#f28e2b", running: "#4e79a7" };
  const lines = ["digraph history {", "  rankdir=BT;", '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff"];'];
  for (const n of nodes) {
    const fill = n.kind === "backup" ? "#dddddd" : color[n.status] ?? "#ffffff";
    lines.push(`  t${n.id} [label="${esc(n.label)}", color="${fill}", penwidth=2];`);
  }
  for (const n of nodes) if (n.parent !== null && nodes.some((m) => m.id === n.parent)) lines.push(`  t${n.id} -> t${n.parent};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

export function historyNodes(trials: TrialRow[], tags: Map<number, string[]>, describe: (t: TrialRow) => string): HistoryNode[] {
  return trials.map((t) => ({
    id: t.id, parent: t.parent_id, script: t.script, status: t.status, kind: t.kind,
    started_at: t.started_at, label: describe(t), tags: tags.get(t.id) ?? [],
  }));
}
