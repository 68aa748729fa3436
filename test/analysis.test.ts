// Analysis commands on recorded trials: dataflow (dot, JSON, Mermaid), influence, query.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { json, now, requireTool, tempProject } from "./helpers";


function demo(...extra: string[][]): string {
  const dir = path.join(tempProject("nowls-analysis-"), "demo");
  const r = now(["demo", dir], { cwd: os.tmpdir() });
  assert.equal(r.status, 0, r.stderr);
  for (const args of extra) assert.equal(now(args, { cwd: dir }).status, 0);
  return dir;
}

test("now query: read-only SQL, as a table or JSON; writes refused", () => {
  const dir = demo();
  const r = now(["query", "SELECT id, status, json_array_length(argv) AS n FROM trial ORDER BY id"], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "id  status    n\n1   finished  3\n2   finished  3\n(2 rows)\n");
  const rows = json(now(["query", "--json", "SELECT path, mode FROM file_access WHERE trial_id = 1 ORDER BY id"], { cwd: dir }));
  assert.deepEqual(rows, [
    { path: "data/p2013.dat", mode: "r" }, { path: "data/p2014.dat", mode: "r" }, { path: "out.svg", mode: "w" },
  ]);
  for (const sql of ["DELETE FROM trial", "UPDATE trial SET status = 'failed'", "PRAGMA user_version = 7",
    "CREATE TABLE x (y)", "ATTACH DATABASE '/tmp/x.db' AS x", "DROP TABLE trial"]) {
    const w = now(["query", sql], { cwd: dir });
    assert.equal(w.status, 2, sql);
    assert.match(w.stderr, /^now: query: /, sql);
  }
  assert.equal(json(now(["query", "--json", "SELECT count(*) AS n FROM trial"], { cwd: dir }))[0].n, 2);
  const bad = now(["query", "SELEC nonsense"], { cwd: dir });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^now: query: near "SELEC": syntax error\n$/);
});

test("now influence on a coarse trial: the files read before the output was written", () => {
  const dir = demo();
  const r = now(["influence", "1", "out.svg"], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^out\.svg in trial 1 may have been influenced by:\n  data\/p2013\.dat\n  data\/p2014\.dat\n/);
  assert.deepEqual(json(now(["influence", "out.svg", "--json"], { cwd: dir })).files, ["data/p2013.dat", "data/p2015.dat"]);
  const missing = now(["influence", "1", "data/p2013.dat"], { cwd: dir });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^now: trial 1 did not write data\/p2013\.dat \(it wrote: out\.svg\)\n$/);
});

test("now dataflow: dot renders with Graphviz; JSON and Mermaid; bad options refused", (t) => {
  const dir = demo();
  const dot = now(["dataflow", "1"], { cwd: dir });
  assert.equal(dot.status, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph trial1 \{/);
  const g = json(now(["dataflow", "1", "--format", "json"], { cwd: dir }));
  assert.ok(g.nodes.some((n: any) => n.kind === "file" && n.path === "out.svg" && n.writes));
  assert.ok(g.edges.some((e: any) => g.nodes.find((n: any) => n.key === e.to)?.path === "out.svg"));
  const mermaid = now(["dataflow", "1", "--format", "mermaid", "--activations-only"], { cwd: dir });
  assert.match(mermaid.stdout, /^flowchart LR\n/);
  for (const [args, message] of [
    [["dataflow", "--format", "png"], /^now: unknown format 'png' \(dot, json or mermaid\)\n$/],
    [["dataflow", "--depth", "x"], /^now: --depth must be a whole number\n$/],
    [["dataflow", "--slice", "nothing-here"], /^now: nothing named 'nothing-here' in this trial's dataflow/],
    [["dataflow", "--activations-only", "--files-only"], /exclude each other/],
  ] as [string[], RegExp][]) {
    const r = now(args, { cwd: dir });
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
  if (!requireTool(t, "dot")) return;
  for (const extra of [[], ["--activations-only"], ["--files-only"], ["--slice", "out.svg"], ["--depth", "1"], ["--collapse-loops", "--hide-internals"]]) {
    const out = now(["dataflow", "1", ...extra], { cwd: dir });
    assert.equal(out.status, 0, out.stderr);
    const svg = spawnSync("dot", ["-Tsvg"], { input: out.stdout, encoding: "utf8" });
    assert.equal(svg.status, 0, `dot rejected the output of dataflow ${extra.join(" ")}: ${svg.stderr}`);
    assert.match(svg.stdout, /<svg/);
  }
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

test("a fine trial of the demo: influence names exactly the two input files; slices render", (t) => {
  const dir = demo(["run", "--fine", "experiment.py", "2013", "2014"], ["run", "--fine", "experiment.py", "2013", "2015"]);
  const inf = json(now(["influence", "3", "out.svg", "--json", "-v"], { cwd: dir }));
  assert.equal(inf.precise, true);
  assert.deepEqual(inf.files, ["data/p2013.dat", "data/p2014.dat"]);
  for (const fn of ["read", "sum_by_month", "create_bargraph"]) assert.ok(inf.activations.includes(fn), fn);
  const shown = json(now(["show", "3", "--json", "-V"], { cwd: dir }));
  assert.equal(shown.trial.granularity, "fine");
  // month_of runs 730 times: its loop lines are bounded, the rest counted.
  assert.ok(shown.values.some((v: { kind: string; count: number }) => v.kind === "elided" && v.count > 300));
  const text = now(["show", "3"], { cwd: dir }).stdout;
  assert.match(text, /values +\d+ recorded, \d+ more elided in loops/);
  const slice = json(now(["dataflow", "3", "--slice", "out.svg", "--format", "json"], { cwd: dir }));
  const paths = slice.nodes.filter((n: { kind: string }) => n.kind === "file").map((n: { path: string }) => n.path).sort();
  assert.deepEqual(paths, ["data/p2013.dat", "data/p2014.dat", "out.svg"]);
  const files = json(now(["dataflow", "3", "--files-only", "--format", "json"], { cwd: dir }));
  const edges = files.edges.map((e: { from: string; to: string }) => {
    const name = (k: string) => files.nodes.find((n: { key: string }) => n.key === k).path;
    return `${name(e.from)} -> ${name(e.to)}`;
  }).sort();
  assert.deepEqual(edges, ["data/p2013.dat -> out.svg", "data/p2014.dat -> out.svg"]);
  const diff = now(["diff", "3", "4", "--fine"], { cwd: dir }).stdout;
  assert.match(diff, /~ experiment\.py:16 prec_b: \[110\.5, .* → \[96\.3, /);
  assert.doesNotMatch(diff, / at 0x/, "object addresses are not differences");
  if (!requireTool(t, "dot")) return;
  // Whole fine graphs are for tools; what a person renders is a slice or a collapsed view.
  for (const extra of [["--slice", "out.svg", "--collapse-loops"], ["--collapse-loops"], ["--activations-only", "--collapse-loops"], ["--slice", "prec_b", "--depth", "3"]]) {
    const out = now(["dataflow", "3", ...extra], { cwd: dir });
    assert.equal(out.status, 0, out.stderr);
    const svg = spawnSync("dot", ["-Tsvg"], { input: out.stdout, encoding: "utf8" });
    assert.equal(svg.status, 0, `dot: ${svg.stderr}`);
  }
});
