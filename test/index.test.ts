// The definition index (server/src/index/), tests as data: every `<name>.py` in
// test/fixtures/index with a `<name>.expected.txt` beside it is indexed and rendered one
// line per definition, call, global and import (format.ts); `history.before.py` and
// `history.after.py` give the definition changes in `history.expected.txt`.
// `UPDATE_EXPECTED=1 npm test` rewrites the expected files for review.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { indexTree } from "../server/src/index/definitions";
import { AnalysedDocument, type ContentChange } from "../server/src/index/document";
import { formatChanges, formatIndex } from "../server/src/index/format";
import { diffDefinitions } from "../server/src/index/history";
import { createParser } from "../server/src/index/parser";
import { indexFile, indexProject } from "../server/src/index/projectIndex";
import { LineIndex } from "../server/src/index/syntax";
import { isIndexError, type FileIndex, type IndexResult } from "../server/src/index/types";
import { matchesExpected, PYTHON, REPO, rng } from "./helpers";

const FIXTURES = path.join(REPO, "test", "fixtures", "index");
const parser = createParser();

function fresh(text: string): FileIndex {
  return indexTree(parser.parse(text), text);
}

function read(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), "utf8");
}

function asIndex(r: IndexResult): FileIndex {
  if (isIndexError(r)) throw new Error(r.error);
  return r;
}

// history.*.py are the two versions of the diff test.
const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".py") && !f.startsWith("history.")).sort();

test("there are index fixtures", () => {
  assert.ok(fixtures.includes("demo.py") && fixtures.includes("syntax_errors.py"), fixtures.join(", "));
});

for (const name of fixtures) {
  test(`index of ${name} as expected`, async () => {
    const index = asIndex(await indexFile(path.join(FIXTURES, name)));
    const actual = formatIndex(index);
    const file = path.join(FIXTURES, name.replace(/\.py$/, ".expected.txt"));
    const { ok, expected } = matchesExpected(actual, file);
    assert.ok(ok, `index of ${name} differs from ${path.basename(file)}:\n--- expected\n${expected}\n--- actual\n${actual}`);
    // The same text from an editor buffer gives the same index.
    assert.deepEqual(new AnalysedDocument(read(name)).index, index);
  });

  test(`spans of ${name} point at what they name (UTF-16 columns)`, () => {
    const text = read(name);
    const lines = LineIndex.of(text);
    const at = (line: number, col: number) => lines.offset(text, { line, character: col });
    const index = fresh(text);
    for (const c of index.calls) {
      const src = text.slice(at(c.span.startLine, c.span.startColumn), at(c.span.endLine, c.span.endColumn));
      assert.ok(src.replace(/\s+/g, "").startsWith(c.callee.replace(/\s+/g, "")), `call ${c.callee} at ${JSON.stringify(c.span)}: ${src}`);
      assert.ok(src.endsWith(")"), src);
    }
    for (const g of index.globals) {
      assert.equal(text.slice(at(g.span.startLine, g.span.startColumn), at(g.span.endLine, g.span.endColumn)), g.name);
    }
    for (const d of index.definitions) {
      const src = text.slice(at(d.span.startLine, d.span.startColumn), at(d.span.endLine, d.span.endColumn));
      assert.match(src, new RegExp(`^(async\\s+)?(def|class)\\s+${d.name}(?=[\\s(:\\[])`, "u"), d.qualname);
    }
  });
}

test("a call after non-ASCII text on its line: columns count UTF-16 units (😀 is two)", () => {
  const text = read("demo.py");
  const call = fresh(text).calls.find((c) => c.callee === "str")!;
  const line = text.split("\n")[call.span.startLine];
  assert.equal(line, '    label = "😀😀" + str(länge)');
  assert.equal(call.span.startColumn, 21);
  assert.equal(call.span.endColumn, 31);
  assert.equal(call.in, "größe");
});

// CPython itself is the reference for qualnames: compile each fixture (nothing runs) and
// list the co_qualname of every function and class body code object.
const PY_QUALNAMES = `
import sys
code = compile(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1], "exec")
def walk(c):
    for k in c.co_consts:
        if hasattr(k, "co_qualname"):
            if not k.co_qualname.split(".")[-1].startswith("<"):
                print(k.co_qualname)
            walk(k)
walk(code)
`;

const pythonHasQualname = spawnSync(PYTHON, ["-c", "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"]).status === 0;

for (const name of [...fixtures.filter((f) => f !== "syntax_errors.py"), "history.before.py", "history.after.py"]) {
  test(`qualnames of ${name} are CPython's`, { skip: pythonHasQualname ? false : "needs Python 3.11+ (co_qualname)" }, () => {
    const r = spawnSync(PYTHON, ["-c", PY_QUALNAMES, path.join(FIXTURES, name)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const expected = r.stdout.split("\n").filter(Boolean).sort();
    const actual = fresh(read(name)).definitions.map((d) => d.qualname).sort();
    assert.deepEqual(actual, expected);
  });
}

test("demo: the cases that matter for joining with the runtime", () => {
  const index = fresh(read("demo.py"));
  const def = (q: string) => index.definitions.find((d) => d.qualname === q)!;
  assert.ok(def("outer.<locals>.inner.<locals>.innermost"));
  assert.equal(def("outer.<locals>.Local.method").method, true);
  // Declared global in its enclosing function: CPython gives no prefix.
  assert.equal(def("made_global").parent, "declares");
  assert.equal(def("Model.save").async, true);
  assert.equal(index.definitions.filter((d) => d.qualname === "Model.size").length, 2);
  // Lambdas are not definitions; calls inside them belong to the definition around them.
  assert.ok(!index.definitions.some((d) => d.name.includes("lambda")));
  assert.equal(index.calls.find((c) => c.callee === "square")!.in, "outer");
  // A default's call runs where the def is, not inside the function.
  assert.equal(index.calls.find((c) => c.callee === "compute")!.in, null);
  assert.equal(index.calls.find((c) => c.callee === "np.zeros")!.in, "Model");
  assert.deepEqual(def("positional").params.map((p) => `${p.kind} ${p.name}`), [
    "positional-only x", "positional-only y", "separator /", "positional-or-keyword z", "separator *", "keyword-only key", "keyword-only flag",
  ]);
  assert.deepEqual(def("plain").params.map((p) => p.kind), [
    "positional-or-keyword", "positional-or-keyword", "var-positional", "keyword-only", "keyword-only", "var-keyword",
  ]);
});

test("a file with syntax errors: what tree-sitter recovers, and how many errors", () => {
  const index = fresh(read("syntax_errors.py"));
  assert.ok(index.errors > 0);
  assert.ok(index.definitions.some((d) => d.qualname === "complete"));
  assert.ok(index.imports.some((i) => i.module === "os"));
  // Nothing breaks on text that is nothing but errors.
  for (const text of [")))", "def", "class (:", "\"\"\"unterminated", "(((((", "@\n@\n", "\t\t x", ""]) {
    const i = fresh(text);
    assert.equal(typeof i.errors, "number");
    assert.deepEqual(new AnalysedDocument(text).index, i);
  }
});

test("signature and body hashes: what changes them and what does not", () => {
  const one = (text: string) => fresh(text).definitions[0];
  const base = one("def f(a, b=1):\n    return a + b\n");
  const relaid = one("def f(a,\n      b = 1):  # comment\n    return a + b\n");
  assert.equal(relaid.signatureHash, base.signatureHash);
  assert.notEqual(one("def f(a, b=2):\n    return a + b\n").signatureHash, base.signatureHash);
  assert.notEqual(one("@d\ndef f(a, b=1):\n    return a + b\n").signatureHash, base.signatureHash);
  assert.notEqual(one('def f(a, b="x y"):\n    return a + b\n').signatureHash, one('def f(a, b="x  y"):\n    return a + b\n').signatureHash);
  assert.equal(one("def f(a, b=1):\n    return a - b\n").signatureHash, base.signatureHash);
  assert.notEqual(one("def f(a, b=1):\n    return a - b\n").bodyHash, base.bodyHash);
  // Re-indenting a whole definition or a one-line body is layout, not a body change.
  assert.equal(fresh("if True:\n    def f(a, b=1):\n        return a + b\n").definitions[0].bodyHash, base.bodyHash);
  assert.equal(one("def f(a, b=1): return a + b\n").bodyHash, base.bodyHash);
});

test("diffDefinitions between two versions of a file, as expected", () => {
  const before = fresh(read("history.before.py"));
  const after = fresh(read("history.after.py"));
  const actual = formatChanges(diffDefinitions(before, after));
  const file = path.join(FIXTURES, "history.expected.txt");
  const { ok, expected } = matchesExpected(actual, file);
  assert.ok(ok, `--- expected\n${expected}\n--- actual\n${actual}`);
  assert.deepEqual(diffDefinitions(after, after), []);
  assert.deepEqual(diffDefinitions(null, before).map((c) => c.change), before.definitions.map(() => "added"));
  const gone = diffDefinitions(before, fresh(""));
  assert.equal(gone.length, before.definitions.length);
  assert.ok(gone.every((c) => c.change === "removed" && c.after === null));
});

// ---------------------------------------------------------------------------------------
// Incremental edits: an AnalysedDocument fed LSP changes gives exactly the index of its
// final text indexed from scratch, after every step.

/** The LSP range of the first occurrence of `needle` (after `from`), in UTF-16 units. */
function rangeOf(text: string, needle: string, from = 0): { start: { line: number; character: number }; end: { line: number; character: number } } {
  const at = text.indexOf(needle, from);
  assert.ok(at >= 0, `${needle} not in text`);
  const lines = LineIndex.of(text);
  return { start: lines.position(at), end: lines.position(at + needle.length) };
}

function insertBefore(text: string, needle: string, inserted: string): ContentChange[] {
  const { start } = rangeOf(text, needle);
  return [{ range: { start, end: start }, text: inserted }];
}

type Step = { name: string; change: (text: string) => ContentChange[] };

const STEPS: Step[] = [
  { name: "insert a line in a function body", change: (t) => insertBefore(t, "    return helper(a) + b", "    extra = compute(a)\n") },
  { name: "append to the end of a line", change: (t) => { const r = rangeOf(t, "THRESHOLD = 0.5"); return [{ range: { start: r.end, end: r.end }, text: " * scale(2)" }]; } },
  { name: "delete a range spanning two definitions", change: (t) => { const a = rangeOf(t, "    return {\"x\": x}"); const b = rangeOf(t, "async def fetch"); return [{ range: { start: a.start, end: b.end }, text: "" }]; } },
  { name: "edit inside a non-ASCII line", change: (t) => [{ range: rangeOf(t, "länge)"), text: "größe_neu)" }] },
  { name: "insert an emoji before a call on its line", change: (t) => { const r = rangeOf(t, "übersetzen(text"); return [{ range: { start: r.start, end: r.start }, text: "(\"😀\", \"é\")[0] and " }]; } },
  { name: "open a string that swallows what follows", change: (t) => { const r = rangeOf(t, "class Base:"); return [{ range: { start: r.start, end: r.start }, text: "x = '''\n" }]; } },
  { name: "close it again", change: (t) => [{ range: rangeOf(t, "x = '''\n"), text: "" }] },
  { name: "break a definition (unclosed parenthesis)", change: (t) => [{ range: rangeOf(t, "def outer(n):"), text: "def outer(n:" }] },
  { name: "repair it", change: (t) => [{ range: rangeOf(t, "def outer(n:"), text: "def outer(n):" }] },
  { name: "indent a top-level function into a class", change: (t) => { const r = rangeOf(t, "def decorated(value):\n    return value"); return [{ range: r, text: "class Wrapper:\n    def decorated(value):\n        return value" }]; } },
  { name: "several changes in one notification", change: (t) => {
    const a = rangeOf(t, "import json\n");
    return [
      { range: { start: a.start, end: a.start }, text: "import yaml  # ü\n" },
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: "# first line\n" },
      { range: { start: { line: 9999, character: 0 }, end: { line: 9999, character: 0 } }, text: "\ndef appended():\n    return last()\n" },
    ];
  } },
  { name: "replace the whole text", change: () => [{ text: read("history.before.py") }] },
  { name: "then edit the new text", change: (t) => [{ range: rangeOf(t, "def dropped():\n    pass"), text: "async def dropped(*a, **k):\n    await pass_on(a)" }] },
  { name: "delete everything", change: (t) => [{ range: { start: { line: 0, character: 0 }, end: LineIndex.of(t).position(t.length) }, text: "" }] },
  { name: "type into an empty file", change: () => [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: "def f(" }] },
  { name: "keep typing", change: () => [{ range: { start: { line: 0, character: 6 }, end: { line: 0, character: 6 } }, text: "x):\n    return g(x)\n" }] },
];

test("incremental edits give the index of the final text indexed from scratch", () => {
  const doc = new AnalysedDocument(read("demo.py"));
  assert.deepEqual(doc.index, fresh(doc.text));
  for (const step of STEPS) {
    const before = doc.text;
    doc.applyChanges(step.change(before));
    assert.notEqual(doc.text, before, step.name);
    assert.deepEqual(doc.index, fresh(doc.text), step.name);
  }
  assert.equal(formatIndex(doc.index, { hash: false }), "errors 0\ndef f(x) 0:0-1:15 in <module>\ncall g 1:11-1:15 in f\n");
});

test("incremental edits with CRLF line endings", () => {
  const text = read("history.before.py").replace(/\n/g, "\r\n");
  const doc = new AnalysedDocument(text);
  assert.deepEqual(doc.index, fresh(text));
  // A character past the end of a line means its end, before "\r\n".
  doc.applyChanges([{ range: { start: { line: 4, character: 500 }, end: { line: 4, character: 500 } }, text: ".T" }]);
  assert.ok(doc.text.includes("np.loadtxt(path).T\r\n"));
  doc.applyChanges([{ range: { start: { line: 8, character: 0 }, end: { line: 9, character: 0 } }, text: "def unchanged(x, y):\r\n" }]);
  assert.deepEqual(doc.index, fresh(doc.text));
});


const SNIPPETS = [
  "x", "\n", "    ", "def g(a, *b):\n    return h(a)\n", "class K(object):\n    pass\n", "(", ")", ":", "\"", "'''",
  "é", "😀", "größe = 1\n", "f(g(1), k=2)", "import os, sys as s\n", "@dec\n", "lambda q: q()", "# comment\n", "\r\n",
  "async def a():\n    await b()\n", "global G\n", "for i in range(3): print(i)\n",
];

test("random edits (seeded): the incremental index always equals the fresh one", () => {
  const random = rng(20261126);
  const doc = new AnalysedDocument(read("demo.py"));
  doc.index;
  for (let step = 0; step < 300; step++) {
    const text = doc.text;
    const lines = LineIndex.of(text);
    const a = Math.floor(random() * (text.length + 1));
    const b = Math.min(text.length, a + (random() < 0.5 ? 0 : Math.floor(random() * 40)));
    const inserted = random() < 0.3 ? "" : SNIPPETS[Math.floor(random() * SNIPPETS.length)];
    // Never split a surrogate pair or a "\r\n": LSP clients do not.
    const safe = (o: number) => (o > 0 && o < text.length && /[\uDC00-\uDFFF]/.test(text[o])) || (text[o - 1] === "\r" && text[o] === "\n") ? o - 1 : o;
    const change: ContentChange = { range: { start: lines.position(safe(a)), end: lines.position(safe(b)) }, text: inserted };
    doc.applyChanges([change]);
    // Read the index only now and then, so that some edits pile up between two reads.
    if (step % 3 === 0 || step > 290) {
      const index = doc.index;
      // The statements kept from before equal a full walk of the same tree …
      assert.deepEqual(index, indexTree(doc.syntaxTree!, doc.text), `step ${step}: ${JSON.stringify(change)}`);
      // … and the incremental tree is the one a fresh parse gives. (Tree-sitter does not
      // promise this after error recovery; with other seeds, one in a few thousand random
      // edits of broken code gives a slightly different tree.)
      assert.deepEqual(index, fresh(doc.text), `step ${step}: ${JSON.stringify(change)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------
// What is not parsed, and what cannot be read

test("binary, too large, deleted, a folder: skipped or an error, never a throw", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-index-"));
  const binary = path.join(dir, "binary.py");
  fs.writeFileSync(binary, Buffer.from([0x64, 0x65, 0x66, 0x00, 0xff, 0xfe, 0x0a]));
  const large = path.join(dir, "large.py");
  const line = "value = compute(1, 2, 3)  # padding padding padding padding padding\n";
  fs.writeFileSync(large, line.repeat(Math.ceil((5 * 1024 * 1024) / line.length)));
  const deleted = path.join(dir, "deleted.py");
  fs.writeFileSync(deleted, "x = 1\n");
  fs.rmSync(deleted);

  const b = asIndex(await indexFile(binary));
  assert.equal(b.skipped, "binary");
  assert.equal(b.definitions.length, 0);
  assert.match(b.hash, /^[0-9a-f]{64}$/);
  const l = asIndex(await indexFile(large));
  assert.equal(l.skipped, "too large");
  assert.equal(l.hash, (await import("crypto")).createHash("sha256").update(fs.readFileSync(large)).digest("hex"));
  const d = await indexFile(deleted);
  assert.ok(isIndexError(d) && /no such file/.test(d.error), JSON.stringify(d));
  const folder = await indexFile(dir);
  assert.ok(isIndexError(folder) && /not a regular file/.test(folder.error));
  // The limit is configurable.
  assert.equal(asIndex(await indexFile(large, { maxBytes: 10 * 1024 * 1024 })).skipped, undefined);

  const project = await indexProject(dir, ["binary.py", "large.py", "deleted.py", path.join(FIXTURES, "demo.py")]);
  assert.deepEqual(project.map((p) => p.path), ["binary.py", "large.py", "deleted.py", path.join(FIXTURES, "demo.py")]);
  assert.deepEqual(project.map((p) => (isIndexError(p.result) ? "error" : p.result.skipped ?? "indexed")), ["binary", "too large", "error", "indexed"]);
  assert.deepEqual(project[3].result, fresh(read("demo.py")));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a document that becomes binary or too large, and back", () => {
  const doc = new AnalysedDocument("def f():\n    return 1\n", { maxBytes: 64 });
  assert.equal(doc.index.definitions.length, 1);
  doc.applyChanges([{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: "\0" }]);
  assert.equal(doc.index.skipped, "binary");
  doc.applyChanges([{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, text: "" }]);
  assert.deepEqual(doc.index, fresh(doc.text));
  doc.applyChanges([{ range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: "# é".repeat(20) }]);
  assert.equal(doc.index.skipped, "too large");
  assert.equal(doc.syntaxTree, null);
  doc.applyChanges([{ text: "class C: pass\n" }]);
  assert.deepEqual(doc.index, fresh("class C: pass\n"));
});

test("the hash is the content store's: SHA-256 of the UTF-8 bytes", async () => {
  const text = read("demo.py");
  const expected = (await import("crypto")).createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");
  assert.equal(new AnalysedDocument(text).index.hash, expected);
  assert.equal(asIndex(await indexFile(path.join(FIXTURES, "demo.py"))).hash, expected);
});
