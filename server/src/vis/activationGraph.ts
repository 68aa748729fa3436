// The activation graph as the page shows it: collapsed so that a trial of thousands of
// calls stays readable. Siblings that call one function more than LOOP times (a loop)
// are one node "f ×N"; a parent shows at most CAP children; a collapsed node says how
// many activations it hides. The page sends the keys it expanded; without them the
// tree is opened level by level while no more than BUDGET nodes show.
import { formatDuration } from "../format/text";
import type { ActivationRow } from "../store/queries";

const LOOP = 3;
const CAP = 40;
const BUDGET = 60;

export interface ActNode {
  key: string;
  kind: "activation" | "group" | "more";
  label: string;
  duration: number | null;
  /** Activations below this node that are not shown. */
  hidden: number;
  expandable: boolean;
  expanded: boolean;
  status?: string;
  calls?: number;
  /** Shown on hover: the call with its arguments and result, or the loop's totals. */
  detail?: string;
}

export interface ActGraph {
  nodes: ActNode[];
  edges: { from: string; to: string }[];
  expanded: string[];
  total: number;
  dot: string;
}

/** Children of a node as shown: activations, loop groups, and a "more" stand-in. */
interface Tree {
  byId: Map<number, ActivationRow>;
  children: Map<number | null, number[]>;
  size: Map<number, number>; // the activation and everything below it
}

function tree(acts: ActivationRow[]): Tree {
  const byId = new Map(acts.map((a) => [a.id, a]));
  const children = new Map<number | null, number[]>();
  for (const a of acts) {
    const p = a.parent_id !== null && byId.has(a.parent_id) ? a.parent_id : null;
    if (!children.has(p)) children.set(p, []);
    children.get(p)!.push(a.id);
  }
  const size = new Map<number, number>();
  for (let i = acts.length - 1; i >= 0; i--) {
    const a = acts[i];
    size.set(a.id, 1 + (children.get(a.id) ?? []).reduce((s, c) => s + (size.get(c) ?? 0), 0));
  }
  return { byId, children, size };
}

type Entry = { key: string; ids: number[] };

/** The entries under a node key: `a<id>` (its callees), `g<parent>.<code>` (the loop's calls), `root`. */
function entriesOf(t: Tree, key: string): Entry[] {
  if (key.startsWith("g")) {
    const [p, c] = key.slice(1).split(".");
    const parent = p === "r" ? null : Number(p);
    const code = Number(c);
    return (t.children.get(parent) ?? []).filter((c) => t.byId.get(c)!.code_id === code)
      .map((c) => ({ key: `a${c}`, ids: [c] }));
  }
  const parent = key === "root" ? null : Number(key.slice(1));
  const kids = t.children.get(parent) ?? [];
  const byCode = new Map<number, number[]>();
  for (const c of kids) {
    const code = t.byId.get(c)!.code_id;
    if (!byCode.has(code)) byCode.set(code, []);
    byCode.get(code)!.push(c);
  }
  const out: Entry[] = [];
  const done = new Set<number>();
  for (const c of kids) {
    const code = t.byId.get(c)!.code_id;
    if (done.has(code)) continue;
    const same = byCode.get(code)!;
    if (same.length > LOOP) {
      done.add(code);
      out.push({ key: `g${parent ?? "r"}.${code}`, ids: same });
    } else out.push({ key: `a${c}`, ids: [c] });
  }
  return out;
}

function hiddenBelow(t: Tree, e: Entry): number {
  const below = e.ids.reduce((s, id) => s + (t.size.get(id) ?? 1), 0);
  return e.key.startsWith("g") ? below : below - 1;
}

export function activationGraph(acts: ActivationRow[], expand: string[] | null): ActGraph {
  const t = tree(acts);
  const open = new Set<string>(expand ?? []);
  const auto = expand === null;
  const nodes: ActNode[] = [];
  const edges: { from: string; to: string }[] = [];
  const total = acts.length;
  const rootTime = acts.reduce((m, a) => (a.parent_id === null ? Math.max(m, a.duration ?? 0) : m), 1e-9);

  const nodeFor = (e: Entry): ActNode => {
    const rows = e.ids.map((id) => t.byId.get(id)!);
    const duration = rows.reduce((s, r) => s + (r.duration ?? 0), 0);
    const hidden = hiddenBelow(t, e);
    const where = `${rows[0].file}:${rows[0].line}`;
    if (e.key.startsWith("g")) {
      return {
        key: e.key, kind: "group", label: `${rows[0].qualname} ×${rows.length}`, duration, hidden, expandable: true, expanded: false, calls: rows.length,
        detail: `${rows.length} calls of ${rows[0].qualname} (${where}): ${formatDuration(duration)} in all, ${formatDuration(duration / rows.length)} each on average. Click to list them.`,
      };
    }
    const a = rows[0];
    const outcome = a.status === "raised" ? ` raised ${a.exception_type}: ${a.exception_message ?? ""}` : a.return_value !== null ? ` → ${a.return_value}` : "";
    return {
      key: e.key, kind: "activation", label: a.qualname, duration: a.duration, hidden, expandable: hidden > 0, expanded: false, status: a.status,
      detail: `#${a.id} ${a.qualname}(${a.args.map(([k, v]) => `${k}=${v}`).join(", ")})${outcome}  (${where})`,
    };
  };

  const top = entriesOf(t, "root");
  if (auto) {
    // Whole levels are opened while they fit the budget; loops of more than a few calls
    // stay summarised.
    let level = top;
    let count = top.length;
    while (level.length) {
      const next: Entry[] = [];
      const opened: string[] = [];
      let add = 0;
      for (const e of level) {
        if (hiddenBelow(t, e) === 0) continue;
        const kids = entriesOf(t, e.key);
        if (e.key.startsWith("g") && kids.length > 12) continue;
        add += Math.min(kids.length, CAP) + (kids.length > CAP ? 1 : 0);
        opened.push(e.key);
        next.push(...kids.slice(0, CAP));
      }
      if (count > 1 && count + add > BUDGET) break;
      for (const k of opened) open.add(k);
      count += add;
      level = next;
    }
  }
  // Breadth-first from the roots, into the nodes that are open.
  nodes.push(...top.map(nodeFor));
  // `nodes` is the queue: each node is visited once, after its parent.
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node.kind === "more" || !node.expandable || !open.has(node.key)) continue;
    const kids = entriesOf(t, node.key);
    const shown = open.has(`more:${node.key}`) ? kids : kids.slice(0, CAP);
    node.expanded = true;
    node.hidden = 0;
    for (const e of shown) {
      const n = nodeFor(e);
      nodes.push(n);
      edges.push({ from: node.key, to: n.key });
    }
    if (shown.length < kids.length) {
      const rest = kids.slice(shown.length);
      const more: ActNode = {
        key: `more:${node.key}`, kind: "more", label: `… ${rest.length} more`, duration: null,
        hidden: rest.reduce((s, e) => s + e.ids.reduce((x, id) => x + (t.size.get(id) ?? 1), 0), 0), expandable: true, expanded: false,
      };
      nodes.push(more);
      edges.push({ from: node.key, to: more.key });
    }
  }
  const shownKeys = new Set(nodes.map((n) => n.key));
  return { nodes, edges, expanded: [...open].filter((k) => shownKeys.has(k) || k.startsWith("more:")), total, dot: toDot(nodes, edges, rootTime) };
}

// ColorBrewer "Oranges": a node's share of the trial's time picks its fill.
const FILLS = ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603"];
const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
const cut = (s: string, n = 400) => (s.length <= n ? s : s.slice(0, n - 1) + "…").replace(/\n/g, " ");

export function fillFor(duration: number | null, rootTime: number): string {
  if (duration === null) return "#ffffff";
  const share = Math.min(1, Math.max(0, duration / rootTime));
  return FILLS[Math.min(FILLS.length - 1, Math.floor(Math.sqrt(share) * FILLS.length))];
}

function toDot(nodes: ActNode[], edges: { from: string; to: string }[], rootTime: number): string {
  const lines = [
    "digraph activation {", "  rankdir=LR;", "  ranksep=0.3; nodesep=0.12;",
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, height=0.3];', '  edge [color="#888888", arrowsize=0.6];',
  ];
  for (const n of nodes) {
    const fill = n.kind === "more" ? "#eeeeee" : fillFor(n.duration, rootTime);
    const dark = FILLS.indexOf(fill) >= 5;
    const parts = [n.label];
    if (n.duration !== null) parts.push(formatDuration(n.duration));
    if (n.hidden > 0 && n.kind !== "more") parts.push(`+${n.hidden} inside`);
    const attrs = [
      `id="${esc(n.key)}"`, `label="${parts.map(esc).join("\\n")}"`, `fillcolor="${fill}"`,
      `class="${n.kind}${n.expandable ? " expandable" : ""}${n.expanded ? " expanded" : ""}"`,
    ];
    if (n.detail) attrs.push(`tooltip="${esc(cut(n.detail))}"`);
    if (dark) attrs.push('fontcolor="#ffffff"');
    if (n.kind === "group" || n.kind === "more") attrs.push('peripheries=2');
    if (n.kind === "more") attrs.push('style="dashed,filled"');
    if (n.status === "raised") attrs.push('color="#e15759", penwidth=2');
    else if (n.expandable && !n.expanded) attrs.push('penwidth=1.6');
    lines.push(`  "${esc(n.key)}" [${attrs.join(", ")}];`);
  }
  for (const e of edges) lines.push(`  "${esc(e.from)}" -> "${esc(e.to)}";`);
  lines.push("}");
  return lines.join("\n") + "\n";
}
