// The Neovim client (clients/neovim): headless Neovim loads the plugin from its folder,
// and clients/neovim/test/e2e.lua drives it in the demo project — :NowRun! and
// now/trialFinished, a hover of the new trial, :NowTrials, :NowDiff, :NowInlay,
// :NowGraph, the dataflow graph as dot, :NowRestore 1 after an edit, and the "Run trial"
// code actions and :NowRun asking for the arguments (the last trial's as the default).
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { matchesExpected, normalize, now, NOW, REPO, requireDebianRoot, requireTool, tempProject } from "./helpers";

/** The Neovims the e2e runs in: the host's (Debian 12: 0.7), and the ones of the Debian roots
 *  (scripts/debian-root: trixie 0.10, forky 0.12), where the server's trials run on the
 *  root's Python 3.13. A root that cannot be built skips its test, or fails it under CI. */
const EDITORS: { name: string; suite?: string; version?: string }[] = [
  { name: "the host's Neovim" },
  { name: "Neovim 0.10 (Debian trixie)", suite: "trixie", version: "0.10" },
  { name: "Neovim 0.12 (Debian forky)", suite: "forky", version: "0.12" },
];

for (const editor of EDITORS) {
  test(`Neovim client: commands, trialFinished, hover, graph and restore in headless ${editor.name}`, (t) => {
    if (editor.suite === undefined) {
      if (!requireTool(t, "nvim")) return;
      e2e(["nvim"], process.env.NOW_TEST_PYTHON || "python3");
      return;
    }
    if (!requireDebianRoot(t, editor.suite)) return;
    const nvim = [path.join(REPO, "scripts", "in-debian"), editor.suite, "nvim"];
    const v = spawnSync(nvim[0], [...nvim.slice(1), "--version"], { encoding: "utf8" });
    assert.match(v.stdout, new RegExp(`^NVIM v${editor.version!.replace(".", "\\.")}\\.`), v.stderr);
    e2e(nvim, "python3.13");
  });
}

/** Runs clients/neovim/test/e2e.lua in the demo project under `nvim` (a command line), the
 *  server's trials on `python`, and compares its report with the expected one. */
function e2e(nvim: string[], python: string): void {
  const dir = path.join(tempProject("nowls-nvim-client-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  // The demo never edits experiment.py: the file on disk is the text trial 1 ran.
  const diff = now(["diff", "1", "3"], { cwd: dir });
  assert.equal(diff.status, 0, diff.stderr);
  assert.match(diff.stdout, /Code: the same/);
  const trial1 = path.join(dir, "..", "experiment-trial1.py");
  fs.copyFileSync(path.join(dir, "experiment.py"), trial1);

  const client = path.join(REPO, "clients", "neovim");
  const out = path.join(dir, "..", "nvim-client-report.txt");
  const r = spawnSync(nvim[0], [...nvim.slice(1),
    "--headless", "--clean", "-n", "--cmd", `set rtp^=${client}`, "-c", `luafile ${path.join(client, "test", "e2e.lua")}`,
  ], {
    cwd: dir, encoding: "utf8", timeout: 120000,
    env: { ...process.env, NOWLS_OUT: out, NOWLS_BIN: NOW, NOWLS_TRIAL1_TEXT: trial1, NOWLS_FAKE_PY_LSP: path.join(REPO, "test", "fixtures", "fake-python-lsp.py"), NOW_PYTHON: python },
  });
  assert.equal(r.status, 0, `${nvim.join(" ")}: ${r.stderr}${r.error ?? ""}`);
  // Whether Graphviz is there decides how :NowGraph shows the graph; either way is right
  // only when it matches.
  const report = normalize(fs.readFileSync(out, "utf8"), dir).replace(
    /^graph as: (svg file|dot in a scratch buffer) \(Graphviz: (true|false)\)$/m,
    (line, how, dot) => ((how === "svg file") === (dot === "true") ? "graph as: an svg file with Graphviz, else dot in a scratch buffer" : line),
  );
  const { ok, expected } = matchesExpected(report, path.join(REPO, "test", "expected", "neovim-client-report.txt"));
  assert.ok(ok, `the Neovim client's report differs:\n--- expected\n${expected}\n--- actual\n${report}`);

  const dot = fs.readFileSync(`${out}.dot`, "utf8");
  assert.match(dot, /^digraph/);
  if (spawnSync("sh", ["-c", "command -v dot"]).status === 0) {
    const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" });
    assert.equal(svg.status, 0, `dot: ${svg.stderr}`);
    assert.match(svg.stdout, /<svg/);
  }
}
