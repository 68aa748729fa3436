import path from "path";
import { activationKey, buildDataflow, fileKey, writesFile, type FlowNode } from "../analysis/dataflow";
import { toDot, toJson, toMermaid } from "../analysis/render";
import { resolveSlice, view, type ViewOptions } from "../analysis/views";
import { NowError } from "../errors";
import { storedPath } from "../paths";
import { getFileAccesses } from "../store/queries";
import { openProjectStore, printJson, resolveTrial } from "./common";

export interface DataflowOptions extends Omit<ViewOptions, "sliceFrom" | "depth"> {
  cwd: string;
  format: string;
  slice?: string;
  depth?: string;
}

export function dataflowCommand(ref: string | undefined, o: DataflowOptions): void {
  if (!["dot", "json", "mermaid"].includes(o.format)) throw new NowError(`unknown format '${o.format}' (dot, json or mermaid)`);
  if (o.activationsOnly && o.filesOnly) throw new NowError("--activations-only and --files-only exclude each other");
  const depth = o.depth === undefined ? undefined : Number(o.depth);
  if (depth !== undefined && !(Number.isInteger(depth) && depth >= 0)) throw new NowError("--depth must be a whole number");
  const { db, root } = openProjectStore(o.cwd);
  try {
    const t = resolveTrial(db, ref);
    const g = buildDataflow(db, t.id);
    const sliceFrom = o.slice === undefined ? undefined
      : resolveSlice(g, o.slice, root, o.cwd, (p) => storedPath(root, path.resolve(o.cwd, p)));
    const shown = view(g, { ...o, depth, sliceFrom });
    if (o.format === "json") return printJson({ trial: t.id, granularity: t.granularity, ...toJson(shown) });
    process.stdout.write(o.format === "dot" ? toDot(shown, `trial${t.id}`) : toMermaid(shown));
  } finally {
    db.close();
  }
}

export interface Influence {
  trial: number;
  path: string;
  precise: boolean;
  files: string[];
  activations?: string[];
  values?: string[];
}

/**
 * `now influence`: which input files (and, verbose, which activations and values) the
 * file at `target` may depend on. A fine trial answers from its dataflow; a coarse one
 * conservatively: every file read before the target was last written.
 */
export function influenceCommand(ref: string | undefined, target: string, o: { cwd: string; verbose?: boolean; json?: boolean }): void {
  const { db, root } = openProjectStore(o.cwd);
  try {
    const t = resolveTrial(db, ref);
    const wanted = storedPath(root, path.resolve(o.cwd, target));
    const accesses = getFileAccesses(db, t.id);
    const writes = accesses.filter((f) => (f.path === wanted || f.path === target) && writesFile(f.mode));
    if (writes.length === 0) {
      const seen = accesses.filter((f) => writesFile(f.mode)).map((f) => f.path);
      throw new NowError(`trial ${t.id} did not write ${target} (it wrote: ${[...new Set(seen)].join(", ") || "nothing"})`);
    }
    const last = writes.at(-1)!;
    let result: Influence;
    if (t.granularity === "fine") {
      const g = buildDataflow(db, t.id);
      const anc = g.ancestors([fileKey(last.id)]);
      const nodes = [...anc.keys()].map((k) => g.nodes.get(k)!).filter((n) => n !== undefined);
      const files = nodes.filter((n): n is Extract<FlowNode, { kind: "file" }> => n.kind === "file" && !n.writes).map((n) => n.path);
      result = {
        trial: t.id, path: last.path, precise: true, files: [...new Set(files)].sort(),
        ...(o.verbose ? {
          // The activations on the way: those in the slice and those whose values are.
          activations: [...new Set(nodes.flatMap((n) => {
            const key = n.kind === "activation" ? activationKey(n.id) : n.kind === "value" ? activationKey(n.activation) : null;
            const a = key ? g.nodes.get(key) : undefined;
            return a && a.kind === "activation" ? [a.name] : [];
          }))].sort(),
          values: nodes.filter((n) => n.kind === "value").map((n) => {
            const v = n as Extract<FlowNode, { kind: "value" }>;
            return `${v.file}:${v.line} ${v.target}`;
          }).filter((s, i, a) => a.indexOf(s) === i),
        } : {}),
      };
    } else {
      const files = accesses.filter((f) => !writesFile(f.mode) && f.opened_at <= (last.closed_at ?? last.opened_at) && f.path !== last.path);
      result = { trial: t.id, path: last.path, precise: false, files: [...new Set(files.map((f) => f.path))].sort() };
    }
    if (o.json) return printJson(result);
    const lines = [`${result.path} in trial ${t.id} may have been influenced by:`, ...result.files.map((f) => `  ${f}`)];
    if (result.files.length === 0) lines.push("  no input file");
    if (!result.precise) lines.push(`(trial ${t.id} was recorded coarse: every file read before it was written; run with --fine for its dataflow)`);
    if (result.activations) lines.push("activations:", ...result.activations.map((a) => `  ${a}`));
    if (result.values) lines.push("values:", ...result.values.map((v) => `  ${v}`));
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    db.close();
  }
}
