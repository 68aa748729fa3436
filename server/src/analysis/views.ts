import { NowError } from "../errors";
import { Digraph } from "./graph";
import { activationKey, fileKey, valueKey, type FlowGraph, type FlowNode } from "./dataflow";

export interface ViewOptions {
  activationsOnly?: boolean;
  filesOnly?: boolean;
  hideInternals?: boolean;
  /** Without a slice: deepest activation level shown. With one: how far back it goes. */
  depth?: number;
  collapseLoops?: boolean;
  /** Node keys to slice backward from. */
  sliceFrom?: string[];
}

/** Applies the options noWorkflow users reach for, in a fixed order. */
export function view(g: FlowGraph, o: ViewOptions): FlowGraph {
  let out = g;
  if (o.sliceFrom) {
    const keep = g.ancestors(o.sliceFrom, o.depth ?? Infinity);
    out = out.contract((k) => keep.has(k));
  } else if (o.depth !== undefined) {
    const deep = (n: FlowNode) => n.kind === "activation" && n.depth > o.depth!;
    const hidden = new Set([...out.nodes].filter(([, n]) => deep(n)).map(([k]) => k));
    const owner = (n: FlowNode) => (n.kind === "value" ? activationKey(n.activation) : n.kind === "file" && n.activation !== null ? activationKey(n.activation) : null);
    out = out.contract((k, n) => !hidden.has(k) && !(owner(n) !== null && hidden.has(owner(n)!)));
  }
  if (o.hideInternals) out = out.contract((_k, n) => !isInternal(n));
  if (o.activationsOnly) out = activationsOnly(out);
  if (o.filesOnly) out = out.contract((_k, n) => n.kind === "file");
  if (o.collapseLoops) out = collapseLoops(out);
  return out;
}

function isInternal(n: FlowNode): boolean {
  const last = (s: string) => s.split(/[.[]/).pop() ?? s;
  if (n.kind === "value") return n.target.startsWith("_") || last(n.target).startsWith("_");
  if (n.kind === "activation") {
    const name = last(n.name);
    return name.startsWith("_") && !(name.startsWith("__") && name.endsWith("__"));
  }
  return false;
}

/**
 * Loops (and repeated calls) collapsed: all values of one line and target of a function
 * become one node, whichever iteration or activation produced them, and all activations
 * of one function become one node. Counts add up.
 */
function collapseLoops(g: FlowGraph): FlowGraph {
  const groupOf = new Map<string, string>();
  const out: FlowGraph = new Digraph();
  for (const [k, n] of g.nodes) {
    const gk = n.kind === "value" ? `g:${n.file}:${n.line}:${n.target}`
      : n.kind === "activation" ? `G:${n.file}:${n.line}:${n.name}` : k;
    groupOf.set(k, gk);
    const prev = out.nodes.get(gk);
    if (!prev) out.addNode(gk, { ...n });
    else if (prev.kind === "value" && n.kind === "value") {
      out.nodes.set(gk, { ...prev, count: prev.count + n.count, value: n.valueKind === "elided" ? prev.value : n.value });
    } else if (prev.kind === "activation" && n.kind === "activation") {
      out.nodes.set(gk, { ...prev, calls: (prev.calls ?? 1) + 1 });
    }
  }
  for (const [from, to] of g.edges()) out.addEdge(groupOf.get(from)!, groupOf.get(to)!);
  return out;
}

/** Activations, with an edge where a value of one fed a value of the other. */
function activationsOnly(g: FlowGraph): FlowGraph {
  const out: FlowGraph = new Digraph();
  const owner = (k: string, n: FlowNode): string | null =>
    n.kind === "activation" ? k : n.kind === "value" ? activationKey(n.activation) : null;
  for (const [k, n] of g.nodes) if (n.kind === "activation") out.addNode(k, n);
  for (const [from, to] of g.edges()) {
    const a = owner(from, g.nodes.get(from)!);
    const b = owner(to, g.nodes.get(to)!);
    if (a && b && a !== b) out.addEdge(a, b);
  }
  return out;
}

/**
 * What `--slice` names: a file path (its last write, else its last access), `v<id>` or a
 * value id, `a<id>` for an activation, or a target name (its last value).
 */
export function resolveSlice(g: FlowGraph, what: string, root: string, cwd: string, rel: (p: string) => string): string[] {
  if (/^v\d+$/.test(what) && g.nodes.has(what)) return [what];
  if (/^a\d+$/.test(what) && g.nodes.has(what)) return [what];
  if (/^\d+$/.test(what) && g.nodes.has(valueKey(Number(what)))) return [valueKey(Number(what))];
  const asPath = rel(what);
  const accesses = [...g.nodes].filter(([, n]) => n.kind === "file" && (n.path === asPath || n.path === what));
  if (accesses.length) {
    const writes = accesses.filter(([, n]) => n.kind === "file" && n.writes);
    const pick = (writes.length ? writes : accesses).at(-1)!;
    return [pick[0]];
  }
  const values = [...g.nodes].filter(([, n]) => n.kind === "value" && n.target === what);
  if (values.length) return [values.at(-1)![0]];
  void root, cwd, fileKey;
  throw new NowError(`nothing named '${what}' in this trial's dataflow (give a file path, a variable, or v<id>)`);
}
