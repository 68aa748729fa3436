import { fields, formatDuration, formatTime, shortHash, table } from "../format/text";
import {
  countActivations, countRows, getElidedCalls, type ElidedCalls, countValues, getActivationCounts, getDependencies, getUnknownLines, getValues, getActivations, getDeployment, getEnvironment, getFileAccesses,
  getModules, getWarnings, type ActivationRow, type FileAccessRow, type TrialRow,
} from "../store/queries";
import type { DB } from "../store/database";
import { notesOf, snapshotOf, tagsOf } from "../store/management";
import { readBlob } from "../content";
import { formatParam } from "../index/format";
import { createParser } from "../index/parser";
import { indexBytes } from "../index/projectIndex";
import { trialFiles } from "../trials/files";
import { openProjectStore, printJson, resolveTrial } from "./common";
import { publicTrial, statusText } from "./list";
import { displayPath } from "../paths";
import { shellQuote } from "../format/text";
import { renderActivationTree } from "../format/activationTree";
import { flowsIntoFile } from "../analysis/dataflow";

export interface ShowOptions {
  cwd: string;
  json?: boolean;
  modules?: boolean;
  environment?: boolean;
  activations?: boolean;
  files?: boolean;
  values?: boolean;
  definitions?: boolean;
  all?: boolean;
}

export function showCommand(ref: string | undefined, opts: ShowOptions): void {
  const { db, root } = openProjectStore(opts.cwd);
  try {
    const t = resolveTrial(db, ref);
    if (opts.json) return printJson({ ...showJson(db, t, opts), ...(opts.definitions ? { definitions: trialDefinitions(db, root, t) } : {}) });
    const out: string[] = [summary(db, t)];
    if (opts.modules) out.push(modulesSection(db, t.id));
    if (opts.environment) out.push(environmentSection(db, t.id));
    if (opts.activations) out.push(activationsSection(getActivations(db, t.id), getElidedCalls(db, t.id), !!opts.all));
    if (opts.files) out.push(filesSection(getFileAccesses(db, t.id)));
    if (opts.values) out.push(valuesSection(db, t));
    if (opts.definitions) out.push(definitionsSection(db, root, t));
    process.stdout.write(out.join("\n"));
  } finally {
    db.close();
  }
}

function showJson(db: DB, t: TrialRow, opts: ShowOptions) {
  return {
    trial: publicTrial(t),
    tags: tagsOf(db, t.id),
    notes: notesOf(db, t.id),
    ...(t.kind === "backup" ? { snapshot: snapshotOf(db, t.id) } : {}),
    deployment: getDeployment(db, t.id),
    counts: countsOf(db, t.id),
    warnings: getWarnings(db, t.id),
    ...(opts.modules ? { modules: getModules(db, t.id) } : {}),
    ...(opts.environment ? { environment: getEnvironment(db, t.id) } : {}),
    ...(opts.activations ? { activations: getActivations(db, t.id) } : {}),
    ...(opts.files ? { files: getFileAccesses(db, t.id) } : {}),
    ...(opts.values ? { values: getValues(db, t.id), dependencies: getDependencies(db, t.id), unknown_lines: getUnknownLines(db, t.id) } : {}),
  };
}

function countsOf(db: DB, trialId: number) {
  const a = countActivations(db, trialId);
  return {
    activations: a.activations,
    functions: a.functions,
    activations_counted_only: a.elided,
    file_accesses: countRows(db, "file_access", trialId),
    modules: countRows(db, "module", trialId),
    environment: countRows(db, "environment", trialId),
  };
}

function summary(db: DB, t: TrialRow): string {
  const d = getDeployment(db, t.id);
  const c = countsOf(db, t.id);
  const tags = tagsOf(db, t.id);
  const pairs: [string, string][] = [
    ["uuid", t.uuid],
    ...(tags.length ? [["tags", tags.join(", ")] as [string, string]] : []),
    ["parent", t.parent_id === null ? "-" : `trial ${t.parent_id}`],
    ["script", `${t.script}  (code ${shortHash(t.script_hash)})`],
    ["arguments", t.argv.slice(1).map(shellQuote).join(" ") || "-"],
    ["command", t.command],
    ["cwd", t.cwd],
  ];
  if (d) {
    pairs.push(["python", `${d.py_implementation} ${d.py_version}  ${d.py_executable}`]);
    pairs.push(["system", [d.hostname, `${d.os_system} ${d.os_release}`, d.machine, d.os_name].filter(Boolean).join(", ")]);
  } else {
    pairs.push(["python", t.python]);
  }
  if (t.tracer_version) pairs.push(["tracer", `now_tracer ${t.tracer_version}, ${t.core}${t.core_reason ? ` (${t.core_reason})` : ""}, ${t.granularity}`]);
  pairs.push(["status", t.status + (t.exit_code !== null ? `, exit code ${t.exit_code}` : "") + (t.signal ? `, killed by ${t.signal}` : "")]);
  if (t.incomplete) pairs.push(["record", `incomplete: ${t.incomplete}`]);
  if (t.stdout_chars !== null || t.stderr_chars !== null) {
    // Bytes that reached a stdout/stderr that was a regular file (file offsets: the tracer wraps
    // no stream); "?" for a terminal or a pipe, which cannot be measured without being seen.
    pairs.push(["output", `${t.stdout_chars ?? "?"} bytes on stdout, ${t.stderr_chars ?? "?"} on stderr`]);
  }
  if (t.granularity === "fine") {
    const v = countValues(db, t.id);
    pairs.push(["values", `${v.values} recorded` + (v.elided ? `, ${v.elided} more elided in loops (first and last kept)` : "") + " (-V)"]);
  }
  pairs.push([
    "recorded",
    `${c.activations} activations of ${c.functions} functions (-a)` +
      (c.activations_counted_only ? ` and ${c.activations_counted_only} more counted, not recorded (--calls-keep)` : "") +
      `, ${c.file_accesses} file accesses (-f), ` +
      `${c.modules} modules (-m), ${c.environment} environment variables (-e)`,
  ]);
  let text = `Trial ${t.id}  ${statusText(t)}  ${formatTime(t.started_at)}  ${formatDuration(t.duration)}\n` + fields(pairs);
  if (t.exception_type) {
    text += `\n  ${t.exception_type}: ${t.exception_message ?? ""}\n`;
    for (const f of t.traceback ?? []) text += `    ${f.file}:${f.line} in ${f.function}\n`;
  }
  for (const n of notesOf(db, t.id)) text += `\n  note ${n.seq} (${formatTime(n.created_at)}): ${n.text}\n`;
  if (t.kind === "backup") {
    text += `\n  files saved before a restore (now restore ${t.id} puts them back):\n`;
    for (const f of snapshotOf(db, t.id)) text += `    ${displayPath(f.path)}  (${f.role}, ${shortHash(f.hash)})\n`;
  }
  const warnings = getWarnings(db, t.id);
  if (warnings.length) text += `\n  warnings:\n` + warnings.map((w) => `    ${w}\n`).join("");
  return text;
}

function modulesSection(db: DB, trialId: number): string {
  const mods = getModules(db, trialId);
  const local = mods.filter((m) => m.local).length;
  return `Modules (${mods.length}, ${local} local):\n` +
    indent(table(["name", "version", "path", "hash"], mods.map((m) => [
      m.name, m.version ?? "-", (m.path ?? "(built-in)") + (m.local ? "  [local]" : ""), shortHash(m.hash),
    ])));
}

function environmentSection(db: DB, trialId: number): string {
  const env = getEnvironment(db, trialId);
  const redacted = env.filter((e) => e.redacted).length;
  return `Environment (${env.length} variables, ${redacted} redacted):\n` + env.map((e) => `  ${e.name}=${e.value}\n`).join("");
}

function activationsSection(acts: ActivationRow[], elided: ElidedCalls[], all: boolean): string {
  let text = `Activations (${acts.length}):\n` + indent(renderActivationTree(acts, { collapseRuns: !all }));
  // Beyond --calls-keep the tracer counted calls without recording them.
  for (const e of elided) text += `  … and ${e.count} more call${e.count === 1 ? "" : "s"} of ${e.qualname} (${e.file}), counted, not recorded\n`;
  return text;
}

function filesSection(files: FileAccessRow[]): string {
  if (files.length === 0) return "File accesses: none\n";
  return `File accesses (${files.length}):\n` + indent(table(
    ["#", "path", "mode", "before", "after", "by"],
    files.map((f) => [
      String(f.id), displayPath(f.path), f.mode, f.hash_before ? shortHash(f.hash_before) : "(none)",
      f.hash_after === null ? (f.closed_at === null ? "(open)" : "(unreadable)")
        : f.hash_after === f.hash_before ? "(same)" : shortHash(f.hash_after) + (f.closed_at_exit ? " (at exit)" : ""),
      f.activation_id === null ? "-" : `${f.function} #${f.activation_id}`,
    ]),
    [0],
  ));
}

function indent(text: string): string {
  return text.split("\n").map((l) => (l ? "  " + l : l)).join("\n");
}

/** One line per value: where, what, and what it came from. */
function valuesSection(db: DB, t: TrialRow): string {
  if (t.granularity !== "fine") return "Values: none (a coarse trial; now run --fine records them)\n";
  const values = getValues(db, t.id);
  const kindOf = new Map(values.map((v) => [v.id, v.kind]));
  const modeOf = new Map(getFileAccesses(db, t.id).map((f) => [f.id, f.mode]));
  const deps = new Map<number, string[]>();
  const into = new Map<number, string[]>(); // files the value went into (flowsIntoFile)
  for (const d of getDependencies(db, t.id)) {
    if (d.source_kind === "file" && flowsIntoFile(modeOf.get(d.source_id) ?? "", kindOf.get(d.value_id) ?? "")) {
      into.set(d.value_id, [...(into.get(d.value_id) ?? []), `file ${d.source_id}`]);
      continue;
    }
    const src = d.source_kind === "value" ? `v${d.source_id}` : d.source_kind === "activation" ? `#${d.source_id}` : `file ${d.source_id}`;
    deps.set(d.value_id, [...(deps.get(d.value_id) ?? []), src]);
  }
  const lines = values.map((v) => {
    const from = deps.get(v.id);
    const to = into.get(v.id);
    const what = v.kind === "elided" ? `${v.target} … ${v.count} values elided` : `${v.target} = ${v.value}`;
    return `  v${v.id} #${v.activation_id} L${v.line} ${what}${v.kind === "elided" ? "" : ` (${v.kind})`}${from ? `  <- ${from.join(", ")}` : ""}${to ? `  -> ${to.join(", ")}` : ""}`;
  });
  const unknown = getUnknownLines(db, t.id).map((u) => `  #${u.activation_id} L${u.line} values unknown: ${u.reason}`);
  return `Values (${values.length}):\n` + [...lines, ...unknown].join("\n") + "\n";
}

/**
 * The definitions of the code a trial ran — its script and local modules as stored, parsed
 * with the definition index — with how often each ran in the trial.
 */
function trialDefinitions(db: DB, root: string, t: TrialRow) {
  const counts = getActivationCounts(db, t.id);
  const parser = createParser();
  return trialFiles(db, t).filter((f) => f.role !== "input").map((f) => {
    const bytes = readBlob(root, f.hash);
    const index = bytes ? indexBytes(bytes, parser) : null;
    return {
      path: f.path, role: f.role, hash: f.hash, stored: !!bytes,
      definitions: (index?.definitions ?? []).map((d) => ({
        qualname: d.qualname, kind: d.kind, line: d.span.startLine + 1,
        signature: d.kind === "function" ? `(${d.params.map(formatParam).join(", ")})` : d.bases.length ? `(${d.bases.join(", ")})` : "",
        activations: counts.get(`${f.path}:${d.qualname}`) ?? 0,
      })),
    };
  });
}

function definitionsSection(db: DB, root: string, t: TrialRow): string {
  const files = trialDefinitions(db, root, t);
  const lines: string[] = [];
  for (const f of files) {
    lines.push(`  ${f.path} (${f.role}, ${shortHash(f.hash)})${f.stored ? "" : ": content not stored"}`);
    for (const d of f.definitions) {
      lines.push(`    ${String(d.line).padStart(4)}  ${d.kind === "class" ? "class " : "def "}${d.qualname}${d.signature}  ${d.activations} activation${d.activations === 1 ? "" : "s"}`);
    }
  }
  return `Definitions (${files.reduce((n, f) => n + f.definitions.length, 0)}):\n` + lines.join("\n") + "\n";
}
