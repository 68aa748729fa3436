// One script, the same provenance on every interpreter and tracer core. Each case of
// test/cases (and of test/cases-fine, with --fine) is run with `now run` on the host's
// python3 (3.11 here and in CI; forced to the settrace core) and on a real Python 3.13 from
// a Debian trixie root (scripts/python3.13): once with its default core (sysmon) and once
// with NOW_TRACER_CORE=settrace. What the store then holds — activations (function, line,
// nesting, order, arguments, results, exceptions, yields), file accesses, fine values and
// their dependencies — is read with `now query` and written as text, which must be the
// same for all three. Tracebacks and the deployment (interpreter, paths, times) are not
// compared: they differ by design.
//
// Without the trixie root (no mmdebstrap, no network on the first run) the tests skip, as
// requireTool does for a missing tool; with CI=true that is a failure.
import { spawn, spawnSync } from "child_process";
import assert from "node:assert/strict";
import fs from "fs";
import path from "path";
import { test } from "node:test";
import { CASES, NOW, REPO, requireDebianRoot, tempProject } from "./helpers";

const PYTHON_313 = path.join(REPO, "scripts", "python3.13");
const FINE_CASES = path.join(path.dirname(CASES), "cases-fine");

interface Interpreter {
  label: string;
  python: string;
  /** NOW_TRACER_CORE, or undefined for the interpreter's default core. */
  core: string | undefined;
  /** The core the trial must report (fine mode too: it runs on sysmon on 3.12+). */
  expectCore: string;
}

const host = spawnSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).stdout.trim();
const INTERPRETERS: Interpreter[] = [
  { label: `host python3 (${host}), settrace`, python: "python3", core: "settrace", expectCore: "settrace" },
  { label: "3.13, default core", python: PYTHON_313, core: undefined, expectCore: "sysmon" },
  { label: "3.13, NOW_TRACER_CORE=settrace", python: PYTHON_313, core: "settrace", expectCore: "settrace" },
];


interface Run { status: number | null; stdout: string; stderr: string }

function run(args: string[], cwd: string, input: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NOW, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Everything compared, in one read-only query: JSON arrays ordered by id. */
const QUERY = `SELECT t.core AS core, t.status AS status, t.exit_code AS exit_code,
  (SELECT json_group_array(json_array(a.id, a.parent_id, c.file, c.qualname, c.line, c.kind, a.status,
      a.args, a.return_value, a.exception_type, a.exception_message, a.yields))
   FROM (SELECT * FROM activation WHERE trial_id = t.id ORDER BY id) a
   JOIN code c ON c.trial_id = t.id AND c.id = a.code_id) AS activations,
  (SELECT json_group_array(json_array(id, activation_id, path, mode, hash_before, hash_after, closed_at_exit))
   FROM (SELECT * FROM file_access WHERE trial_id = t.id ORDER BY id)) AS files,
  (SELECT json_group_array(json_array(id, activation_id, line, col, target, kind, value, count))
   FROM (SELECT * FROM value WHERE trial_id = t.id ORDER BY id)) AS "values",
  (SELECT json_group_array(json_array(value_id, source_kind, source_id))
   FROM (SELECT * FROM dependency WHERE trial_id = t.id ORDER BY value_id, source_kind, source_id)) AS deps,
  (SELECT json_group_array(json_array(activation_id, line, reason))
   FROM (SELECT * FROM unknown_line WHERE trial_id = t.id ORDER BY activation_id, line)) AS unknown
FROM trial t ORDER BY t.id DESC LIMIT 1`;

/**
 * The store's record of the trial as indented text: the activation tree (children in the
 * order they started), each activation's file accesses and fine values under it. Ids are
 * replaced by ranks (a1, v1 …) and hashes shortened, so that the text reads as data and
 * a difference shows where it starts.
 */
function describe(row: any, dir: string): string {
  const acts: any[][] = JSON.parse(row.activations);
  const files: any[][] = JSON.parse(row.files);
  const values: any[][] = JSON.parse(row.values);
  const deps: any[][] = JSON.parse(row.deps);
  const unknown: any[][] = JSON.parse(row.unknown);
  for (const rows of [acts, files, values, deps]) rows.sort((x, y) => x[0] - y[0] || String(x.slice(1)).localeCompare(String(y.slice(1))));
  const actName = new Map<number, string>(acts.map((a, i) => [a[0], `a${i + 1}`]));
  const valueName = new Map<number, string>(values.map((v, i) => [v[0], `v${i + 1}`]));
  const fileName = new Map<number, string>(files.map((f, i) => [f[0], `f${i + 1}`]));
  const source = (kind: string, id: number) =>
    (kind === "value" ? valueName : kind === "activation" ? actName : fileName).get(id) ?? `${kind}?${id}`;
  const depsOf = new Map<number, string[]>();
  for (const [valueId, kind, id] of deps) {
    if (!depsOf.has(valueId)) depsOf.set(valueId, []);
    depsOf.get(valueId)!.push(source(kind, id));
  }
  const hash = (h: string | null) => (h === null ? "-" : h.slice(0, 10));
  const under = new Map<number | null, any[][]>();
  for (const a of acts) {
    const parent = a[1] !== null && actName.has(a[1]) ? a[1] : null;
    if (!under.has(parent)) under.set(parent, []);
    under.get(parent)!.push(a);
  }
  const lines: string[] = [`trial: ${row.status}, exit code ${row.exit_code}`];
  const walk = (parent: number | null, indent: string) => {
    for (const [id, , file, qualname, line, kind, status, args, ret, excType, excMsg, yields] of under.get(parent) ?? []) {
      const argText = (JSON.parse(args) as string[][]).map(([n, v]) => `${n}=${v}`).join(", ");
      let outcome = status === "returned" ? `-> ${ret}` : status === "raised" ? `raised ${excType}: ${excMsg}` : status;
      if (yields) outcome += `, ${yields} yields`;
      lines.push(`${indent}${actName.get(id)} ${kind} ${qualname}(${argText}) ${file}:${line} ${outcome}`);
      for (const [fid, , p, mode, before, after, atExit] of files.filter((f) => f[1] === id)) {
        lines.push(`${indent}  ${fileName.get(fid)} open ${p} ${mode} ${hash(before)} -> ${hash(after)}${atExit ? " (closed at exit)" : ""}`);
      }
      for (const [vid, , vline, col, target, vkind, value, count] of values.filter((v) => v[1] === id)) {
        const from = depsOf.get(vid)?.join(" ") ?? "";
        lines.push(`${indent}  ${valueName.get(vid)} ${vline}:${col} ${vkind} ${target} = ${value}${count !== 1 ? ` (${count})` : ""}${from ? ` <- ${from}` : ""}`);
      }
      for (const [, uline, reason] of unknown.filter((u) => u[0] === id)) lines.push(`${indent}  unknown line ${uline}: ${reason}`);
      walk(id, indent + "  ");
    }
  };
  walk(null, "  ");
  for (const [fid, act, p, mode, before, after] of files.filter((f) => f[1] === null || !actName.has(f[1]))) {
    lines.push(`  ${fileName.get(fid)} open ${p} ${mode} ${hash(before)} -> ${hash(after)} (no activation ${act})`);
  }
  // Object addresses differ from run to run.
  return lines.join("\n").split(dir).join("<project>").replace(/ at 0x[0-9a-f]+/g, " at 0x…") + "\n";
}

interface Case { name: string; folder: string; args: string[]; input: string; fine: boolean }

function readCases(folder: string, fine: boolean): Case[] {
  return fs.readdirSync(folder).filter((d) => fs.existsSync(path.join(folder, d, "main.py"))).sort().map((name) => {
    const argsFile = path.join(folder, name, "args.json");
    const stdinFile = path.join(folder, name, "stdin.txt");
    return {
      name, folder: path.join(folder, name), fine,
      args: fs.existsSync(argsFile) ? JSON.parse(fs.readFileSync(argsFile, "utf8")) : [],
      input: fs.existsSync(stdinFile) ? fs.readFileSync(stdinFile, "utf8") : "",
    };
  });
}

async function record(c: Case, interp: Interpreter): Promise<{ text: string; core: string; stdout: string; status: number | null }> {
  const dir = tempProject(`nowls-interp-${c.name}-`);
  try {
    fs.cpSync(c.folder, dir, { recursive: true, filter: (s) => !/expected(-[\d.]+)?\.txt$/.test(s) });
    const env = { NOW_PYTHON: interp.python, NOW_TRACER_CORE: interp.core };
    const ran = await run(["run", ...(c.fine ? ["--fine"] : []), "main.py", ...c.args], dir, c.input, env);
    assert.match(ran.stderr, /now: trial \d+ /, `${interp.label}: now run did not record a trial:\n${ran.stderr}`);
    const q = await run(["query", "--json", QUERY], dir, "", {});
    assert.equal(q.status, 0, q.stderr);
    const [row] = JSON.parse(q.stdout);
    return { text: describe(row, dir), core: row.core, stdout: ran.stdout.split(dir).join("<project>"), status: ran.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A script that does not compile runs no code: its trial has no activation.
const NO_ACTIVATIONS = new Set(["syntax_error"]);

/**
 * What 3.13 records differently for a real reason: it closes a generator suspended outside
 * any `try` without running its frame (gen_close skips it since CPython 3.13), so neither
 * core gets an event and the activation stays suspended where 3.11 saw GeneratorExit
 * raised (python-tracer/README.md, "Limits"; test/cases/generators/expected-3.13.txt).
 */
function as313(text: string): string {
  return text.replace(/^(\s*a\d+ generator .*) raised GeneratorExit: (, \d+ yields)?$/gm, "$1 suspended$2");
}

/**
 * The tracer stops asking a type for its repr once one took more than 10 ms and writes
 * `<module.Type object>` from then on (python-tracer/README.md, "Values"): on a loaded
 * machine that can happen in one run and not in another. Where either text has such a
 * placeholder, both texts get it for every repr of that type that starts `<module.Type`.
 */
function slowReprsAlike(expected: string, actual: string): [string, string] {
  const slow = new Set([...`${expected}\n${actual}`.matchAll(/<([\w.]+) object>/g)].map((m) => m[1]));
  for (const type of slow) {
    const escaped = type.replace(/\./g, "\\.");
    const repr = new RegExp(`<${escaped}(?: [^<>]*)?>`, "g");
    expected = expected.replace(repr, `<${type} object>`);
    actual = actual.replace(repr, `<${type} object>`);
  }
  return [expected, actual];
}

const cases = [...readCases(CASES, false), ...readCases(FINE_CASES, true)];

for (const c of cases) {
  test(`${c.fine ? "fine case" : "case"} ${c.name}: same provenance on python3 (${host}) and on 3.13, both cores`, async (t) => {
    if (!requireDebianRoot(t, "trixie")) return;
    const results = await Promise.all(INTERPRETERS.map((i) => record(c, i)));
    const [base] = results;
    if (!NO_ACTIVATIONS.has(c.name)) assert.match(base.text, /\n  a1 /, `${INTERPRETERS[0].label} recorded no activation:\n${base.text}`);
    for (const [k, interp] of INTERPRETERS.entries()) {
      const r = results[k];
      assert.equal(r.core, interp.expectCore, `${interp.label}: core`);
      assert.equal(r.status, base.status, `${interp.label}: exit code`);
      assert.equal(r.stdout, base.stdout, `${interp.label}: stdout`);
      const [expected, actual] = slowReprsAlike(interp.python === PYTHON_313 ? as313(base.text) : base.text, r.text);
      assert.equal(actual, expected, `${interp.label} recorded differently from ${INTERPRETERS[0].label}:\n${firstDifference(expected, actual)}`);
    }
  });
}

/** The first line where two descriptions part, with the two lines before it. */
function firstDifference(expected: string, actual: string): string {
  const e = expected.split("\n");
  const a = actual.split("\n");
  let i = 0;
  while (i < e.length && e[i] === a[i]) i++;
  const context = e.slice(Math.max(0, i - 2), i).map((l) => `  ${l}`);
  return [...context, `- ${e[i] ?? "(end)"}`, `+ ${a[i] ?? "(end)"}`].join("\n");
}
