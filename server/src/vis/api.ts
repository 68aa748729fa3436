// The JSON the page reads: one function per route, each a thin layer over the analyses,
// trials and store queries the CLI and the language server use. Bad input is a NowError
// (answered 400 with its one line).
import { parsePatch } from "diff";
import { readBlob } from "../content";
import { buildDataflow, labelOf, type FlowNode } from "../analysis/dataflow";
import { toDot } from "../analysis/render";
import { resolveSlice, view } from "../analysis/views";
import { resolveTrial } from "../commands/common";
import { publicTrial, statusText } from "../commands/list";
import { NowError } from "../errors";
import { formatDuration, formatTime } from "../format/text";
import { hoverAt } from "../lsp/hover";
import { LineMap } from "../lsp/lineMap";
import type { DB } from "../store/database";
import { lastValuesOfFile } from "../store/lspQueries";
import { notesOf, tagsByTrial, tagsOf } from "../store/management";
import {
  countActivations, countRows, countValues, getActivations, getDeployment, getFileAccesses, getModules, getWarnings, listTrials,
  type TrialRow, getElidedCalls } from "../store/queries";
import { diffTrials } from "../trials/diff";
import { trialFiles } from "../trials/files";
import { historyNodes, renderHistoryDot } from "../trials/history";
import { activationGraph } from "./activationGraph";

export interface ApiContext { db: DB; root: string }

/** Answers `api/<route>`; undefined when no route matches. */
export function api(ctx: ApiContext, route: string, q: URLSearchParams): unknown {
  const parts = route.split("/");
  if (route === "trials") return trials(ctx);
  if (route === "history") return history(ctx);
  if (route === "diff") return diff(ctx, need(q, "a"), need(q, "b"));
  if (parts[0] === "trial" && parts.length >= 2) {
    const t = resolveTrial(ctx.db, decodeURIComponent(parts[1]));
    switch (parts.slice(2).join("/")) {
      case "": return summary(ctx, t);
      case "activations": return activations(ctx, t, q.has("expand") ? q.get("expand")!.split(",").filter(Boolean) : null);
      case "dataflow": return dataflow(ctx, t, q.get("slice") || null);
      case "sources": return sources(ctx, t);
      case "source": return source(ctx, t, need(q, "path"));
      case "hover": return hover(ctx, t, need(q, "path"), int(q, "line"), int(q, "character"));
    }
  }
  return undefined;
}

function need(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === "") throw new NowError(`missing parameter '${name}'`);
  return v;
}

function int(q: URLSearchParams, name: string): number {
  const v = Number(need(q, name));
  if (!Number.isInteger(v) || v < 0) throw new NowError(`'${name}' must be a whole number`);
  return v;
}

function brief(t: TrialRow, tags: string[] = []) {
  return {
    id: t.id, uuid: t.uuid, script: t.script, args: t.argv.slice(1), command: t.command, status: t.status, kind: t.kind,
    statusText: statusText(t), started: formatTime(t.started_at), started_at: t.started_at, duration: t.duration,
    durationText: formatDuration(t.duration), parent: t.parent_id, granularity: t.granularity, tags,
  };
}

function trials(ctx: ApiContext) {
  const tags = tagsByTrial(ctx.db);
  return listTrials(ctx.db).map((t) => brief(t, tags.get(t.id)));
}

function history(ctx: ApiContext) {
  const tags = tagsByTrial(ctx.db);
  const nodes = historyNodes(listTrials(ctx.db), tags, (x) =>
    `${x.id}  ${x.script} ${x.argv.slice(1).join(" ")}${x.kind === "backup" ? " (backup)" : x.status === "finished" ? "" : ` (${x.status})`}` +
    (tags.has(x.id) ? `  [${tags.get(x.id)!.join(", ")}]` : ""));
  return { dot: renderHistoryDot(nodes) };
}

function summary(ctx: ApiContext, t: TrialRow) {
  const files = getFileAccesses(ctx.db, t.id);
  return {
    trial: { ...brief(t, tagsOf(ctx.db, t.id)), ...publicTrial(t) },
    deployment: getDeployment(ctx.db, t.id),
    counts: { ...countActivations(ctx.db, t.id), ...countValues(ctx.db, t.id), fileAccesses: files.length, environment: countRows(ctx.db, "environment", t.id) },
    modules: getModules(ctx.db, t.id),
    files: files.map((f) => ({
      path: f.path, mode: f.mode, before: f.hash_before, after: f.hash_after, function: f.function, activation: f.activation_id,
      closedAtExit: f.closed_at_exit,
    })),
    warnings: getWarnings(ctx.db, t.id),
    notes: notesOf(ctx.db, t.id).map((n) => n.text),
  };
}

function activations(ctx: ApiContext, t: TrialRow, expand: string[] | null) {
  // Calls beyond the trial's calls_keep were counted, not recorded: the page names them.
  const elided = getElidedCalls(ctx.db, t.id).map((e) => ({ qualname: e.qualname, count: e.count }));
  return { ...activationGraph(getActivations(ctx.db, t.id), expand), elided };
}

/** Above this many nodes the dataflow graph is folded by activation depth. */
const MAX_FLOW_NODES = 300;

function dataflow(ctx: ApiContext, t: TrialRow, slice: string | null) {
  const g = buildDataflow(ctx.db, t.id);
  const files = new Set<string>();
  const values = new Set<string>();
  for (const n of g.nodes.values()) {
    if (n.kind === "file") files.add(n.path);
    else if (n.kind === "value" && n.valueKind !== "elided") values.add(n.target);
  }
  const choices = { files: [...files].sort(), values: [...values].sort().slice(0, 500) };
  let note = "";
  let origin: string | null = null;
  let shown;
  if (slice) {
    let from: string[];
    if (/^g:/.test(slice)) {
      // A collapsed node of the page: its last value.
      const members = [...g.nodes].filter(([, n]) => n.kind === "value" && groupKey(n) === slice);
      if (!members.length) throw new NowError(`no value '${slice}' in trial ${t.id}`);
      from = [members.at(-1)![0]];
    } else from = resolveSlice(g, slice, ctx.root, ctx.root, (p) => p);
    const o = g.nodes.get(from[0])!;
    origin = o.kind === "value" ? groupKey(o) : o.kind === "activation" ? `G:${o.file}:${o.line}:${o.name}` : from[0];
    shown = view(g, { sliceFrom: from, collapseLoops: true });
    note = `slice back from ${labelOf(o)}: ${shown.nodes.size} of ${g.nodes.size} nodes`;
  } else {
    shown = view(g, { collapseLoops: true });
    for (let depth = 3; shown.nodes.size > MAX_FLOW_NODES && depth >= 0; depth--) {
      shown = view(g, { collapseLoops: true, depth });
      note = `${g.nodes.size} nodes: activations deeper than ${depth} folded into their callers`;
    }
    if (shown.nodes.size > MAX_FLOW_NODES) {
      shown = view(g, { collapseLoops: true, depth: 0, activationsOnly: true });
      note = `${g.nodes.size} nodes: activations only, folded to the top level`;
    }
  }
  // Top to bottom: a slice is mostly a chain, and values' labels are wide.
  return { dot: toDot(shown, "dataflow", "TB"), nodes: shown.nodes.size, total: g.nodes.size, granularity: t.granularity, choices, origin, note };
}

const groupKey = (n: FlowNode) => (n.kind === "value" ? `g:${n.file}:${n.line}:${n.target}` : "");

export interface SideBySideRow { kind: "same" | "changed" | "removed" | "added" | "gap"; left: [number, string] | null; right: [number, string] | null }

/** A unified patch as rows of two columns: removed lines face the added lines that replaced them. */
export function sideBySide(patch: string): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  for (const file of parsePatch(patch)) {
    for (const h of file.hunks) {
      if (rows.length) rows.push({ kind: "gap", left: null, right: null });
      let l = h.oldStart;
      let r = h.newStart;
      let minus: [number, string][] = [];
      let plus: [number, string][] = [];
      const flush = () => {
        for (let i = 0; i < Math.max(minus.length, plus.length); i++) {
          const left = minus[i] ?? null;
          const right = plus[i] ?? null;
          rows.push({ kind: left && right ? "changed" : left ? "removed" : "added", left, right });
        }
        minus = [];
        plus = [];
      };
      for (const line of h.lines) {
        const text = line.slice(1);
        if (line[0] === "-") minus.push([l++, text]);
        else if (line[0] === "+") plus.push([r++, text]);
        else if (line[0] === " ") {
          flush();
          rows.push({ kind: "same", left: [l++, text], right: [r++, text] });
        }
      }
      flush();
    }
  }
  return rows;
}

function diff(ctx: ApiContext, a: string, b: string) {
  const ta = resolveTrial(ctx.db, a);
  const tb = resolveTrial(ctx.db, b);
  const d = diffTrials(ctx.db, ctx.root, ta, tb);
  return {
    ...d, a: brief(ta), b: brief(tb),
    code: d.code.map((c) => ({ ...c, rows: c.patch === null ? null : sideBySide(c.patch) })),
  };
}

function sources(ctx: ApiContext, t: TrialRow) {
  return trialFiles(ctx.db, t).filter((f) => f.role !== "input" && f.path.endsWith(".py")).map((f) => ({ path: f.path, role: f.role }));
}

function storedText(ctx: ApiContext, t: TrialRow, path: string): string {
  const f = trialFiles(ctx.db, t).find((x) => x.path === path && x.role !== "input");
  if (!f) throw new NowError(`trial ${t.id} did not run ${path}`);
  const bytes = readBlob(ctx.root, f.hash);
  if (!bytes) throw new NowError(`the text of ${path} in trial ${t.id} is not stored`);
  return bytes.toString("utf8");
}

function source(ctx: ApiContext, t: TrialRow, path: string) {
  const text = storedText(ctx, t, path);
  return { path, text, values: lastValuesOfFile(ctx.db, t.id, path) };
}

/** What the editor's hover says at a position of the text the trial ran. */
function hover(ctx: ApiContext, t: TrialRow, path: string, line: number, character: number) {
  const text = storedText(ctx, t, path);
  const h = hoverAt({ db: ctx.db, trial: t, file: path, buffer: text, lines: new LineMap(text, text), line, character, markdown: false });
  return h ? { text: h.text, start: h.start, end: h.end } : null;
}
