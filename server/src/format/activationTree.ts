import type { ActivationRow } from "../store/queries";
import { formatDuration } from "./text";

export interface TreeOptions {
  /** Show long runs of sibling calls to one function as first two, last one and a count. */
  collapseRuns: boolean;
  /** Longest repr shown for an argument or a return value. */
  valueWidth?: number;
}

const RUN_HEAD = 2;
const RUN_TAIL = 1;
const MIN_RUN = RUN_HEAD + RUN_TAIL + 2;
/** Beyond this depth the indentation stops growing and the depth is written out instead. */
const MAX_INDENT = 24;

/**
 * The activation tree as text, one activation a line:
 *   #4 read(path='data/p2013.dat')  precipitation.py:12  3.1 ms → [(…)] (len=365)
 * Iterative, so a recursion 10 000 deep renders without exhausting the stack.
 */
export function renderActivationTree(acts: ActivationRow[], opts: TreeOptions): string {
  const width = opts.valueWidth ?? 60;
  const children = new Map<number | null, ActivationRow[]>();
  const ids = new Set(acts.map((a) => a.id));
  for (const a of acts) {
    // An activation whose parent is not in the trial (lost with a killed log) is a root.
    const parent = a.parent_id !== null && ids.has(a.parent_id) ? a.parent_id : null;
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(a);
  }
  const lines: string[] = [];
  type Item = { a: ActivationRow; depth: number } | { skipped: ActivationRow[]; depth: number };
  const stack: Item[] = [];
  const pushChildren = (parent: number | null, depth: number) => {
    const items = groupRuns(children.get(parent) ?? [], opts.collapseRuns).map((x) =>
      Array.isArray(x) ? { skipped: x, depth } : { a: x, depth },
    );
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
  };
  pushChildren(null, 0);
  while (stack.length) {
    const item = stack.pop()!;
    const pad = "  ".repeat(Math.min(item.depth, MAX_INDENT)) + (item.depth > MAX_INDENT ? `[depth ${item.depth}] ` : "");
    if ("skipped" in item) {
      const total = item.skipped.reduce((s, a) => s + (a.duration ?? 0), 0);
      const nested = item.skipped.length;
      lines.push(`${pad}… ${nested} more ${item.skipped[0].qualname} activations (${formatDuration(total)} in all; --all shows them)`);
      continue;
    }
    lines.push(pad + describe(item.a, width));
    pushChildren(item.a.id, item.depth + 1);
  }
  return lines.join("\n") + "\n";
}

/** Splits siblings into shown activations and collapsed middles of long runs. */
function groupRuns(siblings: ActivationRow[], collapse: boolean): (ActivationRow | ActivationRow[])[] {
  if (!collapse) return siblings;
  const out: (ActivationRow | ActivationRow[])[] = [];
  for (let i = 0; i < siblings.length; ) {
    let j = i;
    while (j < siblings.length && siblings[j].code_id === siblings[i].code_id) j++;
    const run = siblings.slice(i, j);
    if (run.length >= MIN_RUN) {
      out.push(...run.slice(0, RUN_HEAD), run.slice(RUN_HEAD, run.length - RUN_TAIL), ...run.slice(run.length - RUN_TAIL));
    } else {
      out.push(...run);
    }
    i = j;
  }
  return out;
}

function describe(a: ActivationRow, width: number): string {
  const args = a.args.map(([k, v]) => `${k}=${cut(v, width)}`).join(", ");
  const body = a.kind === "module" || a.kind === "class";
  const call = a.kind === "class" ? `class ${a.qualname}` : body ? a.qualname : `${a.qualname}(${args})`;
  let outcome: string;
  if (a.status === "returned") outcome = body || a.return_value === "None" ? "" : ` → ${cut(a.return_value ?? "", width)}`;
  else if (a.exception_type === "GeneratorExit") outcome = " (closed)";
  else if (a.status === "raised") outcome = ` ✗ ${a.exception_type}: ${cut(a.exception_message ?? "", width)}`;
  else if (a.status === "suspended") outcome = " (suspended at a yield, never resumed)";
  else outcome = " (did not finish)";
  const yields = a.yields ? ` [${a.yields} yields]` : "";
  return `#${a.id} ${call}  ${a.file}:${a.line}  ${formatDuration(a.duration)}${yields}${outcome}`;
}

function cut(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 1) + "…";
}
