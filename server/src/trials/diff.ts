import { createTwoFilesPatch } from "diff";
import { readBlob } from "../content";
import type { DB } from "../store/database";
import {
  getActivationCounts, getDeployment, getEnvironment, getFileAccesses, getModules, lastValuesByLine, type TrialRow,
} from "../store/queries";

export interface CodeChange {
  path: string;
  role: "script" | "module";
  change: "added" | "removed" | "changed";
  /** Unified diff of the stored texts; null when a side's content is not stored. */
  patch: string | null;
}

export interface Change<T> { name: string; before: T | null; after: T | null }

export interface FileChange {
  path: string;
  /** What the trials did with it, e.g. "r" or "w" (first access's mode). */
  modeA: string | null;
  modeB: string | null;
  /** Content when first accessed: differs means the input changed. */
  inputChanged: boolean;
  /** Content when last closed: differs means the output differs. */
  outputChanged: boolean;
  beforeA: string | null; beforeB: string | null;
  afterA: string | null; afterB: string | null;
}

export interface TrialDiff {
  a: TrialRow;
  b: TrialRow;
  code: CodeChange[];
  arguments: { before: string[]; after: string[] } | null;
  deployment: Change<string>[];
  modules: Change<string>[];
  environment: Change<string>[];
  files: FileChange[];
  activations: Change<number>[];
  duration: { before: number | null; after: number | null };
  /** With --fine: the last value of each line and target, where it differs; null when a trial is coarse. */
  values: Change<string>[] | null;
}

/** Everything that differs between two trials; equal parts are left out. */
export function diffTrials(db: DB, root: string, a: TrialRow, b: TrialRow, fine = false): TrialDiff {
  return {
    a, b,
    code: codeChanges(db, root, a, b),
    arguments: JSON.stringify(a.argv.slice(1)) === JSON.stringify(b.argv.slice(1)) ? null
      : { before: a.argv.slice(1), after: b.argv.slice(1) },
    deployment: deploymentChanges(db, a, b),
    modules: changes(moduleVersions(db, a), moduleVersions(db, b)),
    environment: changes(
      new Map(getEnvironment(db, a.id).map((e) => [e.name, e.value])),
      new Map(getEnvironment(db, b.id).map((e) => [e.name, e.value])),
    ),
    files: fileChanges(db, a, b),
    activations: changes(getActivationCounts(db, a.id), getActivationCounts(db, b.id)),
    duration: { before: a.duration, after: b.duration },
    values: fine && a.granularity === "fine" && b.granularity === "fine"
      ? changes(comparable(lastValuesByLine(db, a.id)), comparable(lastValuesByLine(db, b.id))).sort(byFileAndLine)
      : null,
  };
}

/** Imported modules by name; `__main__` is the script, whose change is in `code`. */
function moduleVersions(db: DB, t: TrialRow): Map<string, string> {
  return new Map(getModules(db, t.id).filter((m) => m.name !== "__main__").map((m) => [m.name, moduleLabel(m)]));
}

/** Reprs as compared: object addresses (`at 0x7f…`) differ between any two runs. */
function comparable(m: Map<string, string | null>): Map<string, string> {
  return new Map([...m].map(([k, v]) => [k, (v ?? "?").replace(/ at 0x[0-9a-f]+/g, "")]));
}

/** Keys are "file:line target": order by file, then line as a number. */
function byFileAndLine(x: Change<string>, y: Change<string>): number {
  const parse = (k: string) => {
    const m = /^(.*):(\d+) (.*)$/.exec(k);
    return m ? [m[1], Number(m[2]), m[3]] as const : [k, 0, ""] as const;
  };
  const [fa, la, ta] = parse(x.name);
  const [fb, lb, tb] = parse(y.name);
  return fa.localeCompare(fb) || la - lb || ta.localeCompare(tb);
}

function moduleLabel(m: { version: string | null; hash: string | null; local: boolean }): string {
  // Local modules change by content; others by version (their hash shows a patched install).
  return m.local ? `local ${m.hash?.slice(0, 10) ?? "?"}` : m.version ?? `(no version) ${m.hash?.slice(0, 10) ?? ""}`.trim();
}

function changes<T>(a: Map<string, T>, b: Map<string, T>): Change<T>[] {
  const out: Change<T>[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const before = a.has(name) ? a.get(name)! : null;
    const after = b.has(name) ? b.get(name)! : null;
    if (before !== after) out.push({ name, before, after });
  }
  return out;
}

function deploymentChanges(db: DB, a: TrialRow, b: TrialRow): Change<string>[] {
  const da = getDeployment(db, a.id) ?? {};
  const dbb = getDeployment(db, b.id) ?? {};
  const flat = (d: object, t: TrialRow) => new Map<string, string>([
    ...Object.entries(d).map(([k, v]) => [k, String(v)] as [string, string]),
    ["python command", t.python], ["cwd", t.cwd], ["tracer", `${t.tracer_version} ${t.core}`],
  ]);
  return changes(flat(da, a), flat(dbb, b));
}

function sources(db: DB, t: TrialRow): Map<string, { hash: string; role: "script" | "module" }> {
  const m = new Map<string, { hash: string; role: "script" | "module" }>();
  if (t.script_hash) m.set(t.script, { hash: t.script_hash, role: "script" });
  for (const mod of getModules(db, t.id)) {
    if (mod.local && mod.path && mod.hash && !m.has(mod.path)) m.set(mod.path, { hash: mod.hash, role: "module" });
  }
  return m;
}

function codeChanges(db: DB, root: string, a: TrialRow, b: TrialRow): CodeChange[] {
  const sa = sources(db, a);
  const sb = sources(db, b);
  const out: CodeChange[] = [];
  for (const p of [...new Set([...sa.keys(), ...sb.keys()])].sort()) {
    const x = sa.get(p);
    const y = sb.get(p);
    if (x && y && x.hash === y.hash) continue;
    const text = (h: string | undefined) => (h === undefined ? "" : readBlob(root, h)?.toString("utf8") ?? null);
    const ta = text(x?.hash);
    const tb = text(y?.hash);
    const patch = ta === null || tb === null ? null
      : createTwoFilesPatch(`${p} (trial ${a.id})`, `${p} (trial ${b.id})`, ta, tb, undefined, undefined, { context: 3 });
    out.push({ path: p, role: (x ?? y)!.role, change: !x ? "added" : !y ? "removed" : "changed", patch });
  }
  return out;
}

function fileChanges(db: DB, a: TrialRow, b: TrialRow): FileChange[] {
  const summarize = (t: TrialRow) => {
    const m = new Map<string, { mode: string; before: string | null; after: string | null }>();
    for (const f of getFileAccesses(db, t.id)) {
      const prev = m.get(f.path);
      if (!prev) m.set(f.path, { mode: f.mode, before: f.hash_before, after: f.hash_after ?? f.hash_before });
      else prev.after = f.hash_after ?? prev.after;
    }
    return m;
  };
  const fa = summarize(a);
  const fb = summarize(b);
  const out: FileChange[] = [];
  for (const p of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(p);
    const y = fb.get(p);
    const writes = (mode: string | undefined) => !!mode && /[wax+]/.test(mode);
    const inputChanged = !!x && !!y && !writes(x.mode) && x.before !== y.before;
    const outputChanged = !!x && !!y && (writes(x.mode) || writes(y.mode)) && x.after !== y.after;
    if (x && y && !inputChanged && !outputChanged) continue;
    out.push({
      path: p, modeA: x?.mode ?? null, modeB: y?.mode ?? null, inputChanged, outputChanged,
      beforeA: x?.before ?? null, beforeB: y?.before ?? null, afterA: x?.after ?? null, afterB: y?.after ?? null,
    });
  }
  return out;
}
