import type { DB } from "../store/database";
import {
  getActivations, getDependencies, getFileAccesses, getValues, type ActivationRow, type FileAccessRow, type ValueRow,
} from "../store/queries";
import { Digraph } from "./graph";

export type FlowNode =
  | { kind: "value"; id: number; activation: number; line: number; target: string; valueKind: string; value: string | null; count: number; file: string }
  | { kind: "activation"; id: number; name: string; file: string; line: number; depth: number; calls?: number }
  | { kind: "file"; id: number; path: string; mode: string; writes: boolean; activation: number | null };

export type FlowGraph = Digraph<FlowNode>;

export const valueKey = (id: number) => `v${id}`;
export const activationKey = (id: number) => `a${id}`;
export const fileKey = (id: number) => `f${id}`;

export const writesFile = (mode: string) => /[wax+]/.test(mode);

/**
 * Whether a value's dependency on a file access (the access was opened, or written
 * through, by the statement that made the value) runs the other way: the value went into
 * the file. So for an access that only writes (`back.tofile(path)`, `with open(p, "w") as
 * f`), and for a value that writes through a read-write one (`f.write(data)` on "r+": the
 * tracer records it as a mutation of f); reads stay file → value.
 */
export const flowsIntoFile = (mode: string, valueKind: string) =>
  writesFile(mode) && (!/[r+]/.test(mode) || valueKind === "mutation");

/**
 * The dataflow graph of a trial. Edges go from what something was computed from to it:
 * value → value (dependencies), return value → caller's value (calls), file access →
 * value (a value computed while the file was opened for reading), value → file access
 * (a value written into it: flowsIntoFile), activation → file written (the
 * activation that opened it), and the values of an activation → that activation, so a
 * written file depends on what its writer computed ("at the granularity of the
 * activation"). Activations appear as nodes; values of a coarse trial do not exist.
 */
export function buildDataflow(db: DB, trialId: number): FlowGraph {
  const acts = getActivations(db, trialId);
  const values = getValues(db, trialId);
  const files = getFileAccesses(db, trialId);
  return assemble(acts, values, files, getDependencies(db, trialId));
}

export function assemble(
  acts: ActivationRow[], values: ValueRow[], files: FileAccessRow[],
  deps: { value_id: number; source_kind: string; source_id: number }[],
): FlowGraph {
  const g: FlowGraph = new Digraph();
  const depth = new Map<number, number>();
  const byId = new Map(acts.map((a) => [a.id, a]));
  for (const a of acts) {
    // Parents come before children (ids grow), so the parent's depth is known.
    const d = a.parent_id !== null && depth.has(a.parent_id) ? depth.get(a.parent_id)! + 1 : 0;
    depth.set(a.id, d);
    g.addNode(activationKey(a.id), { kind: "activation", id: a.id, name: a.qualname, file: a.file, line: a.line, depth: d });
  }
  const returnOf = new Map<number, number>();
  for (const v of values) {
    g.addNode(valueKey(v.id), {
      kind: "value", id: v.id, activation: v.activation_id, line: v.line, target: v.target, valueKind: v.kind,
      value: v.value, count: v.count, file: byId.get(v.activation_id)?.file ?? "?",
    });
    if (v.kind === "return") returnOf.set(v.activation_id, v.id);
  }
  const modeOf = new Map<number, string>();
  for (const f of files) {
    g.addNode(fileKey(f.id), { kind: "file", id: f.id, path: f.path, mode: f.mode, writes: writesFile(f.mode), activation: f.activation_id });
    modeOf.set(f.id, f.mode);
  }
  const kindOf = new Map(values.map((v) => [v.id, v.kind]));
  for (const d of deps) {
    const to = valueKey(d.value_id);
    if (d.source_kind === "value") g.addEdge(valueKey(d.source_id), to);
    else if (d.source_kind === "file") {
      const mode = modeOf.get(d.source_id);
      if (mode !== undefined && flowsIntoFile(mode, kindOf.get(d.value_id) ?? "")) g.addEdge(to, fileKey(d.source_id));
      else g.addEdge(fileKey(d.source_id), to);
    }
    else {
      const ret = returnOf.get(d.source_id);
      g.addEdge(ret !== undefined ? valueKey(ret) : activationKey(d.source_id), to);
    }
  }
  // An activation depends on what it computed. Only its sinks — values no other value of
  // the same activation was computed from — are linked: the rest reach it through them,
  // and the graph stays readable.
  const activationOf = new Map(values.map((v) => [v.id, v.activation_id]));
  const feedsSameActivation = new Set<number>();
  for (const d of deps) {
    if (d.source_kind === "value" && activationOf.get(d.source_id) === activationOf.get(d.value_id)) feedsSameActivation.add(d.source_id);
  }
  for (const v of values) {
    if (v.kind !== "return" && !feedsSameActivation.has(v.id)) g.addEdge(valueKey(v.id), activationKey(v.activation_id));
  }
  for (const f of files) {
    if (writesFile(f.mode) && f.activation_id !== null) g.addEdge(activationKey(f.activation_id), fileKey(f.id));
  }
  return g;
}

/** Label shown in dot and mermaid output. */
export function labelOf(n: FlowNode): string {
  switch (n.kind) {
    case "value":
      if (n.valueKind === "elided") return `${n.target} … ${n.count} more (L${n.line})`;
      if (n.valueKind === "return") return `return ${n.value ?? ""} (L${n.line})`;
      return n.count > 1 ? `${n.target} ×${n.count}, last ${n.value ?? "?"} (L${n.line})` : `${n.target} = ${n.value ?? "?"} (L${n.line})`;
    case "activation":
      return n.calls && n.calls > 1 ? `${n.name}() ×${n.calls}` : `${n.name}()`;
    case "file":
      return `${n.path} (${n.mode})`;
  }
}
