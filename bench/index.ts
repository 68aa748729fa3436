// The definition index (server/src/index/), timed:
//  1. the initial index of a generated project of 1 000 files (indexProject, one parser),
//     and the process RSS once all those indexes are held in memory (measured first, in a
//     fresh process);
//  2. incremental re-index after a one-line edit in a generated 10 000-line file: the LSP
//     change applied to an AnalysedDocument, the tree reparsed incrementally and the whole
//     FileIndex recomputed (median and 90th percentile of many edits of three kinds: a
//     statement inserted with the indentation of its place, a character typed at the end
//     of a name, an inserted line deleted again).
//   npm run build && node dist/bench/index.js [--edits N] [--files N]
import fs from "fs";
import os from "os";
import path from "path";
import { AnalysedDocument, type ContentChange } from "../server/src/index/document";
import { indexProject } from "../server/src/index/projectIndex";
import { isIndexError } from "../server/src/index/types";
import { rng } from "../test/helpers";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const EDITS = arg("--edits", 300);
const FILES = arg("--files", 1000);


/** Python that looks like a research script: imports, constants, classes, functions, calls. */
function generate(lines: number, seed: number): string {
  const random = rng(seed);
  const out = [
    '"""Generated module for the index benchmark."""',
    "import os",
    "import numpy as np",
    "from collections import defaultdict",
    "from typing import List, Optional",
    "",
  ];
  for (let i = 0; out.length < lines; i++) {
    const kind = random();
    if (kind < 0.15) {
      out.push(`SETTING_${i} = {"rate": ${i}, "name": "s${i}"}`, "");
    } else if (kind < 0.45) {
      out.push(
        `class Model${i}(Base):`,
        `    """Model number ${i}."""`,
        `    scale = ${i}.5`,
        "",
        `    def __init__(self, weights, bias=0.0, *args, **kwargs):`,
        `        self.weights = np.asarray(weights)`,
        `        self.bias = bias`,
        "",
        `    @property`,
        `    def size(self) -> int:`,
        `        return len(self.weights)`,
        "",
        `    def predict(self, x: np.ndarray) -> np.ndarray:`,
        `        # linear model`,
        `        return x @ self.weights + self.bias * self.scale`,
        "",
      );
    } else {
      out.push(
        `def step_${i}(data: List[float], window: int = 5, *, key: Optional[str] = None):`,
        `    counts = defaultdict(int)`,
        `    for j, value in enumerate(data):`,
        `        if value > window:`,
        `            counts[key or "x"] += helper_${i % 7}(value, j)`,
        `    result = [np.mean(data[k:k + window]) for k in range(len(data) - window)]`,
        `    print(f"step ${i}: {len(result)} windows", os.getpid())`,
        `    return result, counts`,
        "",
      );
    }
  }
  return out.slice(0, lines).join("\n") + "\n";
}

/** A full collection when node runs with --expose-gc; otherwise nothing. */
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (n: number) => `${n.toFixed(2)} ms`;

function benchEdits(): void {
  const text = generate(10_000, 1);
  let t0 = performance.now();
  const doc = new AnalysedDocument(text);
  const first = doc.index;
  const initial = performance.now() - t0;
  console.log(`10 000-line file: ${text.length} UTF-16 units, ${first.definitions.length} definitions, ${first.calls.length} calls`);
  console.log(`  initial parse + index                     ${ms(initial)}`);

  // Full reparse + full index, for comparison: what an edit would cost without incrementality.
  t0 = performance.now();
  new AnalysedDocument(doc.text).index;
  console.log(`  full parse + index (warm)                 ${ms(performance.now() - t0)}`);

  const random = rng(2);
  const times: Record<string, number[]> = { "insert a line": [], "rename in a line": [], "delete a line": [] };
  const inserted: number[] = [];
  const keywords = new Set(["def", "class", "return", "for", "in", "if", "else", "import", "from", "as", "not", "and", "or", "is", "None", "True", "False", "lambda", "with", "self"]);
  for (let i = 0; i < EDITS; i++) {
    const lines = doc.text.split("\n");
    const kind = i % 3 === 0 ? "insert a line" : i % 3 === 1 ? "rename in a line" : "delete a line";
    let change: ContentChange;
    if (kind === "insert a line" || inserted.length === 0) {
      // A new statement before a random line, indented like it: what typing a line does.
      const line = 10 + Math.floor(random() * (lines.length - 20));
      const indent = /^\s*/.exec(lines[line])![0];
      change = { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: `${indent}total = compute(total, 1)\n` };
      inserted.push(line);
    } else if (kind === "rename in a line") {
      // A character typed at the end of the first name on a random line that has one.
      let line = 10 + Math.floor(random() * (lines.length - 20));
      let m: RegExpExecArray | null = null;
      for (; line < lines.length; line++) {
        const re = /[A-Za-z_]\w*/g;
        while ((m = re.exec(lines[line])) && keywords.has(m[0]));
        if (m) break;
      }
      const at = { line, character: m!.index + m![0].length };
      change = { range: { start: at, end: at }, text: "x" };
    } else {
      const line = inserted.pop()!;
      change = { range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: "" };
    }
    const start = performance.now();
    doc.applyChanges([change]);
    const index = doc.index;
    times[kind].push(performance.now() - start);
    if (index.definitions.length === 0) throw new Error("lost the definitions");
  }
  const all = Object.values(times).flat();
  console.log(`  one-line edit + incremental reparse + FileIndex, ${all.length} edits:`);
  for (const [kind, xs] of Object.entries(times)) console.log(`    ${kind.padEnd(22)} median ${ms(median(xs))}, p90 ${ms(pct(xs, 0.9))}`);
  console.log(`    all                    median ${ms(median(all))}, p90 ${ms(pct(all, 0.9))}   (goal: median <= 5 ms)`);
}

async function benchProject(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bench-index-"));
  const files: string[] = [];
  let totalLines = 0;
  const random = rng(3);
  for (let i = 0; i < FILES; i++) {
    const lines = 50 + Math.floor(random() * 400);
    totalLines += lines;
    const name = path.join(`pkg${i % 20}`, `module_${i}.py`);
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), generate(lines, 100 + i));
    files.push(name);
  }
  gc();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const results = await indexProject(dir, files);
  const elapsed = performance.now() - t0;
  const errors = results.filter((r) => isIndexError(r.result)).length;
  const defs = results.reduce((n, r) => n + (isIndexError(r.result) ? 0 : r.result.definitions.length), 0);
  const calls = results.reduce((n, r) => n + (isIndexError(r.result) ? 0 : r.result.calls.length), 0);
  gc();
  const mem = process.memoryUsage();
  console.log(`project: ${FILES} files, ${totalLines} lines, ${defs} definitions, ${calls} calls, ${errors} unreadable`);
  console.log(`  initial index (indexProject)              ${(elapsed / 1000).toFixed(2)} s (${ms(elapsed / FILES)} per file)`);
  console.log(`  RSS with every index held                 ${(mem.rss / 2 ** 20).toFixed(0)} MB (heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB; RSS before indexing ${(rssBefore / 2 ** 20).toFixed(0)} MB; goal <= 200 MB)`);
  fs.rmSync(dir, { recursive: true, force: true });
  if (results.length !== FILES) throw new Error("missing results");
}

async function main(): Promise<void> {
  console.log(`definition index benchmark: node ${process.version}, ${os.cpus().length} CPUs`);
  await benchProject();
  benchEdits();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
