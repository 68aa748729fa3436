// `now export`: Prolog (loaded and queried in SWI-Prolog), PROV-JSON (validated against the
// PROV-JSON schemas with ajv) and PROV-N (checked against the PROV-N grammar below), on the
// demo project (a coarse trial) and on a handcrafted fine trial (test/fixtures/logs/
// fine-demo.jsonl, described in fine-demo.md). Outputs a person reads are in
// test/expected/ (UPDATE_EXPECTED=1 rewrites them).
//
// SWI-Prolog: the Prolog tests skip when `swipl` is missing, except under CI=true, where a
// missing swipl fails them (.ci/setup installs swi-prolog-nox).
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test, type TestContext } from "node:test";
import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";
import { exportCommand } from "../server/src/commands/export";
import { NowError } from "../server/src/errors";
import { exportTrial } from "../server/src/export";
import { quoteAtom } from "../server/src/export/prologSyntax";
import { Ingester } from "../server/src/ingest/ingester";
import { openDatabase } from "../server/src/store/database";
import { getTrial } from "../server/src/store/queries";
import { createTrial, TrialWriter } from "../server/src/store/writer";
import { json, matchesExpected, normalize, now, REPO, tempProject } from "./helpers";

const EXPECTED = path.join(REPO, "test", "expected");
const FIXTURES = path.join(REPO, "test", "fixtures");

function expectText(actual: string, name: string): void {
  const { ok, expected } = matchesExpected(actual, path.join(EXPECTED, name));
  assert.ok(ok, `differs from test/expected/${name}:\n--- expected\n${expected}\n--- actual\n${actual}`);
}

// ---------------------------------------------------------------------------
// The two trials
// ---------------------------------------------------------------------------

let demo: string | undefined;

/** The demo project (two coarse trials of the precipitation example), made once. */
function demoProject(): string {
  if (demo === undefined) {
    const dir = path.join(tempProject("nowls-export-"), "demo");
    const r = now(["demo", dir], { cwd: os.tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    demo = dir;
  }
  return demo;
}

/** Trial 1 of the demo in `format`, through the command, written with -o. */
function exportDemo(format: string): { file: string; text: string } {
  const dir = demoProject();
  const file = path.join(dir, `trial1.${format}`);
  exportCommand("1", { cwd: dir, format, output: path.basename(file) });
  return { file, text: fs.readFileSync(file, "utf8") };
}

/**
 * A store holding the fine fixture log as trial 1, ingested as `now run` would. With
 * `granularity: "coarse"` the header is rewritten first: the same events read as a coarse
 * trial (the fine events are then still in the store, but the rules must not use them).
 */
function fineStore(granularity: "fine" | "coarse" = "fine") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-export-fine-"));
  let log = path.join(FIXTURES, "logs", "fine-demo.jsonl");
  if (granularity === "coarse") {
    const text = fs.readFileSync(log, "utf8").replace('"granularity":"fine"', '"granularity":"coarse"');
    log = path.join(dir, "events.jsonl");
    fs.writeFileSync(log, text);
  }
  const db = openDatabase(dir, { create: true });
  const id = createTrial(db, {
    uuid: "00000000-0000-4000-8000-00000000f1e0", script: "/proj/main.py", argv: ["main.py"],
    command: "now run --fine main.py", python: "python3", cwd: "/proj", root: "/proj", startedAt: 1,
    runnerPid: process.pid, runnerHost: "lab1", granularity,
  });
  new Ingester(db, id, "/proj", log).poll();
  new TrialWriter(db, id, "/proj").finish({ status: "finished", exitCode: 0, signal: null, finishedAt: 2 });
  const trial = getTrial(db, id)!;
  return { dir, db, trial, text: (format: "prolog" | "prov-json" | "prov-n") => exportTrial(db, trial, format) };
}

function writeTemp(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nowls-export-out-")), name);
  fs.writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------
// SWI-Prolog
// ---------------------------------------------------------------------------

const SWIPL = spawnSync("swipl", ["--version"], { encoding: "utf8" }).status === 0;

/** False (and the test skipped) when swipl is missing; under CI=true that is a failure. */
function needSwipl(t: TestContext): boolean {
  if (SWIPL) return true;
  if (process.env.CI === "true") assert.fail("swipl is missing (CI=true): .ci/setup installs swi-prolog-nox");
  t.skip("swipl is not installed (apt-get install swi-prolog-nox)");
  return false;
}

/** Loads `file` and runs `goal`; returns what it printed. Fails on any warning or error. */
function prolog(file: string, goal: string): string {
  const r = spawnSync("swipl", ["-q", "-g", `consult(${quoteAtom(file)}), ${goal}, halt.`], { encoding: "utf8" });
  assert.equal(r.stderr, "", `swipl wrote to stderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `swipl exit ${r.status}`);
  return r.stdout;
}

/** The sorted, distinct answers of `Var` in `query`, one per line. */
function answers(file: string, query: string, variable = "F"): string[] {
  const out = prolog(file, `findall(${variable}, (${query}), L0), msort(L0, L), forall(member(X, L), (print(X), nl))`);
  return out.split("\n").filter((l) => l !== "");
}

function assertLoadsCleanly(file: string): void {
  // The brief's check, as a user would type it.
  const r = spawnSync("swipl", ["-q", "-g", `consult(${quoteAtom(file)}), halt.`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "", `loading ${file} warned:\n${r.stderr}`);
  assert.equal(r.stdout, "");
}

// ---------------------------------------------------------------------------
// PROV-JSON: the schemas (see test/fixtures/prov-json/README.md)
// ---------------------------------------------------------------------------

const SCHEMAS = ["prov-json-schema-w3c-submission.json", "prov-json-schema-v4.json"];

function validators() {
  return SCHEMAS.map((name) => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const schema = JSON.parse(fs.readFileSync(path.join(FIXTURES, "prov-json", name), "utf8"));
    return { name, validate: ajv.compile(schema) };
  });
}

function assertValidProvJson(doc: unknown): void {
  for (const { name, validate } of validators()) {
    assert.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 2)}`);
  }
}

// ---------------------------------------------------------------------------
// PROV-N: a checker for the part of the grammar (W3C PROV-N, 2013) the export writes
// ---------------------------------------------------------------------------

const PN_CHARS_BASE = "A-Za-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D" +
  "\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const PN_CHARS_U = `${PN_CHARS_BASE}_`;
const PN_CHARS = `${PN_CHARS_U}\\-0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const OTHERS = "/@~&+*?#$!";
const PERCENT = "%[0-9A-Fa-f]{2}";
const ESC = "\\\\[=',\\-:;\\[\\]().]";
const LOCAL_FIRST = `[${PN_CHARS_U}0-9${OTHERS}]|${PERCENT}|${ESC}`;
const LOCAL_MID = `[${PN_CHARS}.${OTHERS}]|${PERCENT}|${ESC}`;
const LOCAL_LAST = `[${PN_CHARS}${OTHERS}]|${PERCENT}|${ESC}`;
const PN_LOCAL = `(?:${LOCAL_FIRST})(?:(?:${LOCAL_MID})*(?:${LOCAL_LAST}))?`;
const PN_PREFIX = `[${PN_CHARS_BASE}](?:[${PN_CHARS}.]*[${PN_CHARS}])?`;
const QUALIFIED_NAME = new RegExp(`^(?:(${PN_PREFIX}):(${PN_LOCAL})?|(${PN_LOCAL}))`, "u");
const DATETIME = /^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?/;
const INT = /^-?[0-9]+/;
const IRI = /^<([^<>"{}|^`\\\u0000-\u0020]*)>/;
const STRING = /^"((?:\\[tbnrf"'\\]|[^"\\\n\r])*)"/;
const QNAME_LITERAL = /^'([^'\\\n]*)'/;
const SKIP = /^(?:\s+|\/\/[^\n\r]*|\/\*[\s\S]*?\*\/)+/;

type Tok = { kind: "name" | "qnameLit" | "iri" | "string" | "int" | "datetime" | "punct"; text: string; value: string };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let rest = src;
  while (true) {
    const skip = SKIP.exec(rest);
    if (skip) rest = rest.slice(skip[0].length);
    if (rest === "") return toks;
    const at = () => `at ${JSON.stringify(rest.slice(0, 40))}`;
    let m: RegExpExecArray | null;
    if (rest.startsWith("%%")) { toks.push({ kind: "punct", text: "%%", value: "%%" }); rest = rest.slice(2); continue; }
    if ("()[],;=".includes(rest[0])) { toks.push({ kind: "punct", text: rest[0], value: rest[0] }); rest = rest.slice(1); continue; }
    if (rest[0] === "<") {
      if (!(m = IRI.exec(rest))) throw new Error(`bad IRI ${at()}`);
      toks.push({ kind: "iri", text: m[0], value: m[1] });
    } else if (rest[0] === '"') {
      if (!(m = STRING.exec(rest))) throw new Error(`bad string literal ${at()}`);
      const unescaped = m[1].replace(/\\(.)/g, (_, c: string) => ({ t: "\t", b: "\b", n: "\n", r: "\r", f: "\f" } as Record<string, string>)[c] ?? c);
      toks.push({ kind: "string", text: m[0], value: unescaped });
    } else if (rest[0] === "'") {
      if (!(m = QNAME_LITERAL.exec(rest))) throw new Error(`bad qualified name literal ${at()}`);
      if (!new RegExp(`${QUALIFIED_NAME.source}$`, "u").test(m[1])) throw new Error(`bad qualified name in literal ${at()}`);
      toks.push({ kind: "qnameLit", text: m[0], value: m[1] });
    } else if ((m = DATETIME.exec(rest))) {
      toks.push({ kind: "datetime", text: m[0], value: m[0] });
    } else {
      const name = QUALIFIED_NAME.exec(rest);
      const int = INT.exec(rest);
      if (int && (!name || name[0].length <= int[0].length)) {
        toks.push({ kind: "int", text: int[0], value: int[0] });
        rest = rest.slice(int[0].length);
        continue;
      }
      if (name) {
        if (rest[name[0].length] === ":") throw new Error(`':' inside a qualified name ${at()}`);
        toks.push({ kind: "name", text: name[0], value: name[0] });
        rest = rest.slice(name[0].length);
        continue;
      }
      if (rest[0] === "-") { toks.push({ kind: "punct", text: "-", value: "-" }); rest = rest.slice(1); continue; }
      throw new Error(`unexpected character ${at()}`);
    }
    rest = rest.slice(m[0].length);
  }
}

type Kind = "entity" | "activity" | "agent";
interface ProvN {
  prefixes: Map<string, string>;
  elements: Map<string, { kind: Kind; attrs: [string, string][] }>;
  relations: { keyword: string; id?: string; args: (string | undefined)[]; attrs: [string, string][] }[];
}

/**
 * Parses a PROV-N document restricted to the statements `now export` writes, checking
 * the grammar (argument shapes, literals, identifiers), that every qualified name uses a
 * declared prefix, that identifiers are not declared twice, and that each relation's
 * arguments are declared elements of the kinds PROV-DM gives them.
 */
function parseProvN(src: string): ProvN {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const next = () => {
    if (i >= toks.length) throw new Error("unexpected end of document");
    return toks[i++];
  };
  const expect = (text: string) => {
    const t = next();
    if (t.text !== text) throw new Error(`expected ${text}, found ${t.text} (token ${i})`);
  };
  const doc: ProvN = { prefixes: new Map([["prov", "http://www.w3.org/ns/prov#"], ["xsd", "http://www.w3.org/2001/XMLSchema#"]]), elements: new Map(), relations: [] };
  const qname = (t: Tok, what: string): string => {
    if (t.kind !== "name") throw new Error(`expected ${what}, found ${t.text}`);
    const colon = t.value.indexOf(":");
    if (colon < 0) throw new Error(`${t.value}: no prefix and no default namespace`);
    const prefix = t.value.slice(0, colon);
    if (!doc.prefixes.has(prefix)) throw new Error(`${t.value}: undeclared prefix ${prefix}`);
    return t.value;
  };
  const idOrMarker = (what: string): string | undefined => (peek().text === "-" ? (next(), undefined) : qname(next(), what));
  const timeOrMarker = (): string | undefined => {
    const t = next();
    if (t.text === "-") return undefined;
    if (t.kind !== "datetime") throw new Error(`expected a time, found ${t.text}`);
    return t.value;
  };
  const literal = (): string => {
    const t = next();
    if (t.kind === "int") return t.value;
    if (t.kind === "qnameLit") {
      qname({ kind: "name", text: t.value, value: t.value }, "a qualified name");
      return t.value;
    }
    if (t.kind !== "string") throw new Error(`expected a literal, found ${t.text}`);
    if (peek()?.text === "%%") {
      next();
      qname(next(), "a datatype");
    }
    return t.value;
  };
  const attributes = (): [string, string][] => {
    const attrs: [string, string][] = [];
    if (peek().text !== ",") return attrs;
    next();
    expect("[");
    while (true) {
      const name = qname(next(), "an attribute");
      expect("=");
      attrs.push([name, literal()]);
      if (peek().text === "]") break;
      expect(",");
    }
    expect("]");
    return attrs;
  };

  if (next().text !== "document") throw new Error("a PROV-N document starts with 'document'");
  while (peek().text === "prefix" || peek().text === "default") {
    if (next().text === "default") throw new Error("the export declares no default namespace");
    const p = next();
    if (p.kind !== "name" || p.value.includes(":")) throw new Error(`bad prefix ${p.text}`);
    const iri = next();
    if (iri.kind !== "iri") throw new Error(`prefix ${p.value} needs an IRI`);
    doc.prefixes.set(p.value, iri.value);
  }
  const RELATIONS: Record<string, { min: number; optional: ("id" | "time")[]; withId: boolean; attrs: boolean }> = {
    wasGeneratedBy: { min: 1, optional: ["id", "time"], withId: true, attrs: true },
    used: { min: 1, optional: ["id", "time"], withId: true, attrs: true },
    wasInformedBy: { min: 2, optional: [], withId: true, attrs: true },
    wasAssociatedWith: { min: 1, optional: ["id", "id"], withId: true, attrs: true },
    wasDerivedFrom: { min: 2, optional: ["id", "id", "id"], withId: true, attrs: true },
    wasInfluencedBy: { min: 2, optional: [], withId: true, attrs: true },
    hadMember: { min: 2, optional: [], withId: false, attrs: false },
  };
  while (peek()?.text !== "endDocument") {
    const kw = next();
    expect("(");
    if (kw.text === "entity" || kw.text === "agent" || kw.text === "activity") {
      const id = qname(next(), "an identifier");
      if (doc.elements.has(id)) throw new Error(`${id} declared twice`);
      if (kw.text === "activity" && peek().text === "," && toks[i + 1].text !== "[") {
        expect(",");
        timeOrMarker();
        expect(",");
        timeOrMarker();
      }
      doc.elements.set(id, { kind: kw.text, attrs: attributes() });
    } else if (kw.text in RELATIONS) {
      const rule = RELATIONS[kw.text];
      let id: string | undefined;
      if (rule.withId && toks[i + 1]?.text === ";") {
        id = idOrMarker("a relation identifier");
        expect(";");
      }
      const args: (string | undefined)[] = [];
      for (let k = 0; k < rule.min; k++) {
        if (k > 0) expect(",");
        args.push(qname(next(), "an identifier"));
      }
      if (rule.optional.length > 0 && peek().text === "," && toks[i + 1].text !== "[") {
        for (const slot of rule.optional) {
          expect(",");
          args.push(slot === "time" ? timeOrMarker() : idOrMarker("an identifier"));
        }
      }
      const attrs = rule.attrs ? attributes() : [];
      doc.relations.push({ keyword: kw.text, id, args, attrs });
    } else {
      throw new Error(`unknown or unexpected statement '${kw.text}'`);
    }
    expect(")");
  }
  next();
  if (i !== toks.length) throw new Error("content after endDocument");

  // Relation arguments: declared elements of the right kind.
  const KINDS: Record<string, (Kind | "any")[]> = {
    wasGeneratedBy: ["entity", "activity"],
    used: ["activity", "entity"],
    wasInformedBy: ["activity", "activity"],
    wasAssociatedWith: ["activity", "agent", "entity"],
    wasDerivedFrom: ["entity", "entity", "activity", "any", "any"],
    wasInfluencedBy: ["any", "any"],
    hadMember: ["entity", "entity"],
  };
  const ids = new Set<string>();
  for (const r of doc.relations) {
    if (r.id) {
      if (ids.has(r.id) || doc.elements.has(r.id)) throw new Error(`${r.id} declared twice`);
      ids.add(r.id);
    }
    r.args.forEach((a, k) => {
      const want = KINDS[r.keyword][k]; // undefined: the time slot of used/wasGeneratedBy
      if (a === undefined || want === undefined || want === "any") return;
      const e = doc.elements.get(a);
      if (!e) throw new Error(`${r.keyword}: ${a} is not declared`);
      if (e.kind !== want) throw new Error(`${r.keyword}: ${a} is an ${e.kind}, not an ${want}`);
    });
    if (r.keyword === "hadMember") {
      const c = doc.elements.get(r.args[0]!)!;
      if (!c.attrs.some(([n, v]) => n === "prov:type" && v === "prov:Collection")) throw new Error(`${r.args[0]} is not a prov:Collection`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------
// The demo project (a coarse trial)
// ---------------------------------------------------------------------------

test("demo, Prolog: loads in SWI-Prolog without warnings; out.svg was influenced by the two data files", (t) => {
  const { file, text } = exportDemo("prolog");
  assert.match(text, /^:- encoding\(utf8\)\./);
  if (!needSwipl(t)) return;
  assertLoadsCleanly(file);
  assert.deepEqual(answers(file, "access_influence(1, F, 'out.svg')"), ["'data/p2013.dat'", "'data/p2014.dat'"]);
  // The same answer as `now influence` (coarse: files read before out.svg was closed).
  const influence = json(now(["influence", "1", "out.svg", "--json"], { cwd: demoProject() }));
  assert.deepEqual(influence.files, ["data/p2013.dat", "data/p2014.dat"]);

  // A transcript a person can check against `now show -a -f 1`.
  const goal = [
    "trial(1, Script, Status, _, _, Exit), trial_granularity(1, G), trial_argv(1, Argv)",
    "format('trial ~w: ~w ~w, exit code ~w, ~w, argv ~q~n', [1, Script, Status, Exit, G, Argv])",
    "aggregate_all(count, activation(1, _, _, _, _, _, _, _, _), NA)",
    "( module(1, precipitation, _, 'precipitation.py', _, true) -> format('local module: precipitation.py~n') ; true )",
    "forall(access(1, Id, _, P, M, _, _, _, _), (file_access_name(Id, Fn), format('access ~w: ~w ~w by ~w~n', [Id, P, M, Fn])))",
    "last_write(1, 'out.svg', W), access(1, W, A, _, _, _, _, _, _), activation_stack(1, A, S), maplist(act_name, S, Names)",
    "format('out.svg written by ~w, called from ~w~n', [W, Names])",
    "forall(access_influence(1, In, 'out.svg'), format('access_influence(1, ~q, ~q)~n', [In, 'out.svg']))",
    // Counts differ between Python versions (3.12 inlined comprehensions); the relation does not.
    "aggregate_all(count, activation_influence(1, _, A), NI), ( NI =:= NA - 1 -> Every = yes ; Every = no )",
    "format('every other activation may have influenced the writer (coarse): ~w~n', [Every])",
  ].join(", ");
  const helpers = writeTemp("helpers.pl", [
    "file_access_name(Id, Name) :- access(1, Id, A, _, _, _, _, _, _), act_name(A, Name).",
    "act_name(A, Name) :- activation(1, A, _, Name, _, _, _, _, _).",
  ].join("\n") + "\n");
  const out = prolog(file, `consult(${quoteAtom(helpers)}), ${goal}`);
  expectText(normalize(out, demoProject()), "export-demo-prolog.txt");
});

test("demo, PROV-JSON: valid against the W3C submission's schema and ProvToolbox's", () => {
  const { text } = exportDemo("prov-json");
  const doc = JSON.parse(text);
  assertValidProvJson(doc);
  assert.deepEqual(doc.prefix, { prov: "http://www.w3.org/ns/prov#", xsd: "http://www.w3.org/2001/XMLSchema#", now: "urn:nowls:" });
  // The trial, its agent and plan.
  const trial = doc.activity["now:trial/1"];
  assert.equal(trial["now:status"], "finished");
  assert.match(trial["prov:startTime"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const assoc = Object.values(doc.wasAssociatedWith) as Record<string, string>[];
  assert.equal(assoc.length, 1);
  assert.equal(assoc[0]["prov:activity"], "now:trial/1");
  assert.deepEqual(doc.agent[assoc[0]["prov:agent"]]["prov:type"], { $: "prov:SoftwareAgent", type: "prov:QUALIFIED_NAME" });
  assert.match(assoc[0]["prov:plan"], /^now:file\/experiment\.py@[0-9a-f]{64}$/);
  // Every activation is an activity informed by its caller (the first by the trial).
  const activations = Object.keys(doc.activity).filter((k) => k.includes("/activation/"));
  assert.ok(activations.length > 100, `${activations.length} activations`);
  assert.equal(Object.keys(doc.wasInformedBy).length, activations.length);
  assert.equal(doc.wasInformedBy["now:trial/1/activation/1/call"]["prov:informant"], "now:trial/1");
  // Inputs used, output generated, by the functions that opened them.
  const used = Object.values(doc.used) as Record<string, string>[];
  const generated = Object.values(doc.wasGeneratedBy) as Record<string, string>[];
  const label = (id: string) => doc.activity[id]["prov:label"];
  assert.deepEqual(used.filter((u) => u["prov:entity"].startsWith("now:file/data")).map((u) => [u["prov:entity"].replace(/@.*/, ""), label(u["prov:activity"])]),
    [["now:file/data/p2013.dat", "read()"], ["now:file/data/p2014.dat", "read()"]]);
  assert.deepEqual(generated.map((g) => [g["prov:entity"].replace(/@.*/, ""), label(g["prov:activity"])]), [["now:file/out.svg", "create_bargraph()"]]);
  // Modules and environment are collections.
  const members = Object.values(doc.hadMember) as Record<string, string>[];
  assert.equal(members.filter((m) => m["prov:collection"] === "now:trial/1/modules").length,
    Object.keys(doc.entity).filter((k) => k.startsWith("now:trial/1/module/")).length);
  assert.ok(members.some((m) => m["prov:collection"] === "now:trial/1/environment" && m["prov:entity"] === "now:trial/1/platform"));
});

test("the schemas reject what they should (the validation is not vacuous)", () => {
  const doc = JSON.parse(exportDemo("prov-json").text);
  const broken = structuredClone(doc);
  delete broken.wasInformedBy["now:trial/1/activation/1/call"]["prov:informant"];
  const badTime = structuredClone(doc);
  badTime.wasGeneratedBy[Object.keys(badTime.wasGeneratedBy)[0]]["prov:time"] = "yesterday";
  const unknownSection = { ...structuredClone(doc), wasFrobnicatedBy: {} };
  for (const { name, validate } of validators()) {
    assert.equal(validate(broken), false, `${name} accepted a communication without informant`);
    assert.equal(validate(badTime), false, `${name} accepted a generation time "yesterday"`);
    assert.equal(validate(unknownSection), false, `${name} accepted an unknown relation`);
  }
});

test("demo, PROV-N: well-formed, every prefix declared, relations between declared elements", () => {
  const { text } = exportDemo("prov-n");
  const doc = parseProvN(text);
  assert.deepEqual([...doc.prefixes.keys()], ["prov", "xsd", "now"]);
  assert.equal(doc.elements.get("now:trial/1")?.kind, "activity");
  // The same statements as the PROV-JSON export.
  const provJson = JSON.parse(exportDemo("prov-json").text);
  for (const kind of ["entity", "activity", "agent"] as const) {
    assert.deepEqual([...doc.elements].filter(([, e]) => e.kind === kind).map(([id]) => id).sort(), Object.keys(provJson[kind]).sort());
  }
  for (const rel of ["wasGeneratedBy", "used", "wasInformedBy", "wasAssociatedWith", "hadMember"]) {
    assert.equal(doc.relations.filter((r) => r.keyword === rel).length, Object.keys(provJson[rel] ?? {}).length, rel);
  }
  // The checker itself rejects broken documents.
  assert.throws(() => parseProvN(text.replace("prefix now <urn:nowls:>", "")), /undeclared prefix now/);
  assert.throws(() => parseProvN(text.replace("endDocument", "")), /end of document|unexpected/);
  assert.throws(() => parseProvN(text.replace(/wasInformedBy\(([^;]*); ([^,]*), /, "wasInformedBy($1; $2 ")), /expected|identifier/);
  assert.throws(() => parseProvN(text.replace(/activity\(now:trial\/1, /, "activity(now:trial/1., ")), /expected|bad|unexpected/);
});

test("export: unknown format, stdout by default, unwritable output", () => {
  const dir = demoProject();
  assert.throws(() => exportCommand("1", { cwd: dir, format: "xml" }),
    (e: unknown) => e instanceof NowError && e.message === "unknown format 'xml' (formats: prolog, prov-json, prov-n)");
  assert.throws(() => exportCommand("9", { cwd: dir, format: "prolog" }), (e: unknown) => e instanceof NowError && /no trial 9/.test(e.message));
  assert.throws(() => exportCommand("1", { cwd: dir, format: "prolog", output: "no/such/folder/x.pl" }),
    (e: unknown) => e instanceof NowError && /cannot write no\/such\/folder\/x\.pl: no such folder/.test(e.message));
  // No trial given: the last one (trial 2), on stdout.
  const script = `require(${JSON.stringify(path.join(REPO, "dist", "server", "src", "commands", "export.js"))}).exportCommand(undefined, { cwd: process.cwd(), format: "prov-n" })`;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^document\n/);
  assert.match(r.stdout, /activity\(now:trial\/2, /);
});

test("demo recorded with --fine: Prolog agrees with `now influence`; PROV valid", (t) => {
  const dir = path.join(tempProject("nowls-export-finedemo-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  const run = now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir });
  assert.equal(run.status, 0, run.stderr);
  exportCommand("3", { cwd: dir, format: "prolog", output: "trial3.pl" });
  exportCommand("3", { cwd: dir, format: "prov-json", output: "trial3.json" });
  exportCommand("3", { cwd: dir, format: "prov-n", output: "trial3.provn" });
  const doc = JSON.parse(fs.readFileSync(path.join(dir, "trial3.json"), "utf8"));
  assertValidProvJson(doc);
  assert.ok(Object.keys(doc.entity).some((k) => k.startsWith("now:trial/3/value/")), "no values in the fine trial's PROV");
  parseProvN(fs.readFileSync(path.join(dir, "trial3.provn"), "utf8"));
  if (!needSwipl(t)) return;
  const file = path.join(dir, "trial3.pl");
  assertLoadsCleanly(file);
  assert.deepEqual(answers(file, "trial_granularity(3, F)"), ["fine"]);
  const influence = json(now(["influence", "3", "out.svg", "--json"], { cwd: dir }));
  assert.equal(influence.precise, true);
  const prologAnswer = answers(file, "access_influence(3, F, 'out.svg')");
  assert.deepEqual(prologAnswer, influence.files.map(quoteAtom));
  assert.deepEqual(prologAnswer, ["'data/p2013.dat'", "'data/p2014.dat'"]);
});

// ---------------------------------------------------------------------------
// The fine fixture
// ---------------------------------------------------------------------------

test("fine trial: the three exports, as a person reads them", () => {
  const s = fineStore();
  expectText(s.text("prolog"), "export-fine.pl");
  expectText(s.text("prov-n"), "export-fine.provn");
  expectText(s.text("prov-json"), "export-fine.json");
  s.db.close();
});

test("fine trial, Prolog: access_influence follows the dependency graph; cycles terminate", (t) => {
  const s = fineStore();
  const file = writeTemp("fine.pl", s.text("prolog"));
  s.db.close();
  if (!needSwipl(t)) return;
  assertLoadsCleanly(file);
  // c is read but never reaches save(): only a and b influenced out.txt.
  assert.deepEqual(answers(file, "access_influence(1, F, 'out.txt')"), ["'data/a.txt'", "'data/b.txt'"]);
  // The log written by the module's own activation depends on all of its values.
  assert.deepEqual(answers(file, "access_influence(1, F, '/tmp/x y.log')"), ["'data/a.txt'", "'data/b.txt'", "'data/c.txt'"]);
  // Which files were written, and what influenced each (each answer once).
  assert.deepEqual(answers(file, "access_influence(1, I, O), F = I-O"),
    ["'data/a.txt'-'/tmp/x y.log'", "'data/a.txt'-'out.txt'", "'data/b.txt'-'/tmp/x y.log'", "'data/b.txt'-'out.txt'", "'data/c.txt'-'/tmp/x y.log'"]);
  // Activations whose values reached save() (7): the module, read(a), read(b), both totals.
  assert.deepEqual(answers(file, "activation_influence(1, F, 7)"), ["1", "2", "3", "5", "6"]);
  // Through an elided loop value: 35 depended on 33, which the alias moved to 38.
  assert.deepEqual(answers(file, "dependency(1, 35, K, S), F = K-S"), ["value-34", "value-38"]);
  // The graph's own cycle (f(4) -> v42 -> a(7) -> f(4)) and one added by hand terminate.
  assert.deepEqual(answers(file, "influences(1, f(4), f(4)) -> F = yes ; F = no"), ["yes"]);
  const cyclic = prolog(file, [
    "assertz(dependency(1, 4, value, 42))", // read(a)'s path now also depends on save's f
    "findall(F, access_influence(1, F, 'out.txt'), L0), msort(L0, L), print(L), nl",
  ].join(", "));
  assert.equal(cyclic, "['data/a.txt','data/b.txt']\n");
  // A repr with quotes, backslashes, a newline, a tab, non-ASCII text and a control
  // character reads back exactly.
  const codes = prolog(file, "value(1, 43, _, _, _, _, V), atom_codes(V, C), print(C), nl").trim();
  const original = (JSON.parse(fs.readFileSync(path.join(FIXTURES, "logs", "fine-demo.jsonl"), "utf8").split("\n")
    .find((l) => l.includes('"id":43'))!) as { value: string }).value;
  assert.equal(codes, `[${Array.from(original).map((c) => c.codePointAt(0)).join(",")}]`);
});

test("fine events read as a coarse trial: the conservative rule (every file read before out.txt was closed)", (t) => {
  const s = fineStore("coarse");
  const file = writeTemp("coarse.pl", s.text("prolog"));
  s.db.close();
  if (!needSwipl(t)) return;
  assertLoadsCleanly(file);
  assert.deepEqual(answers(file, "access_influence(1, F, 'out.txt')"), ["'data/a.txt'", "'data/b.txt'", "'data/c.txt'"]);
  // Naive temporal rule: every activation that started before save() finished.
  assert.deepEqual(answers(file, "activation_influence(1, F, 7)"), ["1", "2", "3", "4", "5", "6"]);
});

test("fine trial, PROV: values derived from values and file versions; both formats valid", () => {
  const s = fineStore();
  const doc = JSON.parse(s.text("prov-json"));
  const provn = parseProvN(s.text("prov-n"));
  s.db.close();
  assertValidProvJson(doc);
  const V = (id: number) => `now:trial/1/value/${id}`;
  const derivedFrom = (id: number) => (Object.values(doc.wasDerivedFrom) as Record<string, string>[])
    .filter((d) => d["prov:generatedEntity"] === V(id)).map((d) => d["prov:usedEntity"]).sort();
  // f in read(a) came from the file version it opened; a = read(...) from read's return value.
  assert.deepEqual(derivedFrom(5), ["now:file/data/a.txt@18b7cb099a9ea3f50ba899b5ba81e0d377a5f3b16f8f6eeb8b3e58cd4692b993", V(4)].sort());
  assert.deepEqual(derivedFrom(8), [V(1), V(7)].sort());
  assert.deepEqual(derivedFrom(39), [V(13), V(2), V(25), V(36), V(8)].sort());
  assert.equal(doc.entity[V(38)]["now:count"], 2);
  // out.txt was generated by save(), which used its values; the appended log is a revision.
  const gen = (Object.values(doc.wasGeneratedBy) as Record<string, string>[]).find((g) => g["prov:entity"].startsWith("now:file/out.txt@"))!;
  assert.equal(gen["prov:activity"], "now:trial/1/activation/7");
  assert.ok((Object.values(doc.used) as Record<string, string>[]).some((u) => u["prov:activity"] === "now:trial/1/activation/7" && u["prov:entity"] === V(42)));
  const revision = doc.wasDerivedFrom["now:trial/1/access/6/revision"];
  assert.deepEqual(revision["prov:type"], { $: "prov:Revision", type: "prov:QUALIFIED_NAME" });
  assert.match(revision["prov:generatedEntity"], /^now:file\/%2Ftmp%2Fx%20y\.log@69327b02|^now:file\/\/tmp\/x%20y\.log@69327b02/);
  // Awkward paths are percent-encoded into valid names.
  assert.ok(Object.keys(doc.entity).includes("now:file/notes/caf%C3%A9%20%231%20%28draft%29.txt@e39538e7f27a7bf579cd9b85a103c0f0b86b60b788534295538d0301a9c5dce6"));
  // The tricky repr survives both formats.
  const original = (JSON.parse(fs.readFileSync(path.join(FIXTURES, "logs", "fine-demo.jsonl"), "utf8").split("\n")
    .find((l) => l.includes('"id":43'))!) as { value: string }).value;
  assert.equal(doc.entity[V(43)]["prov:value"], original);
  assert.equal(provn.elements.get(V(43))!.attrs.find(([n]) => n === "prov:value")![1], original);
});
