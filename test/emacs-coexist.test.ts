// nowls beside "the user's Python server" in batch Emacs. The user's server is
// test/fixtures/fake-python-lsp.py (stdlib only: a fixed hover, one diagnostic, one code
// action).
//  - Eglot manages the fake server and `now-mode` adds nowls on its own jsonrpc.el
//    connection (clients/emacs/test/coexist.el): both hovers reach Eldoc, both servers'
//    diagnostics reach Flymake, the merged code-action menu applies an action of each,
//    now-restore 1, custom requests, now-run and now/trialFinished, Eglot's server still
//    connected afterwards.
//  - lsp-mode with the fake server as the main client and nowls as the add-on now.el
//    registers (clients/emacs/test/lsp-mode.el).
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { elpaLoadPath, emacsArgs, requireEmacsPackage } from "./emacsHelpers";
import { matchesExpected, normalize, now, NOW, PYTHON, REPO, requireTool, tempProject } from "./helpers";

const CLIENT = path.join(REPO, "clients", "emacs");
const FAKE = path.join(REPO, "test", "fixtures", "fake-python-lsp.py");

/** The demo project with trial 3 fine, and a copy of experiment.py as trial 1 ran it. */
function demo(prefix: string): { dir: string; trial1: string } {
  const dir = path.join(tempProject(prefix), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  const trial1 = path.join(dir, "..", "experiment-trial1.py");
  fs.copyFileSync(path.join(dir, "experiment.py"), trial1);
  return { dir, trial1 };
}

function runEmacs(loadPath: string[], script: string, dir: string, env: NodeJS.ProcessEnv) {
  const args = [...emacsArgs(loadPath), "-L", CLIENT, "-l", path.join(CLIENT, "now.el"), "-l", path.join(CLIENT, "test", script)];
  return spawnSync("emacs", args, {
    cwd: dir, encoding: "utf8", timeout: 90000,
    env: { ...process.env, NOWLS_BIN: NOW, NOWLS_FAKE_LSP: FAKE, NOW_PYTHON: PYTHON, ...env },
  });
}

function checkReport(out: string, dir: string, expectedName: string, r: ReturnType<typeof spawnSync>): string {
  assert.ok(fs.existsSync(out), `emacs wrote no report: ${r.stderr}${r.error ?? ""}`);
  const report = normalize(fs.readFileSync(out, "utf8"), dir);
  const { ok, expected } = matchesExpected(report, path.join(REPO, "test", "expected", expectedName));
  assert.ok(ok, `the report differs:\n--- expected\n${expected}\n--- actual\n${report}\n--- emacs stderr\n${r.stderr}`);
  assert.equal(r.status, 0, `emacs: ${r.stderr}${r.error ?? ""}`);
  return report;
}

test("Emacs: Eglot keeps the user's Python server and now-mode adds nowls beside it", (t) => {
  if (!requireTool(t, "emacs")) return;
  const loadPath = elpaLoadPath();
  if (!requireEmacsPackage(t, loadPath, "eglot", "elpa-eglot (or Emacs 29+)")) return;
  const { dir, trial1 } = demo("nowls-emacs-coexist-");
  const out = path.join(dir, "..", "emacs-coexist-report.txt");
  const fakeLog = path.join(dir, "..", "fake-lsp.log");
  const r = runEmacs(loadPath, "coexist.el", dir, { NOWLS_OUT: out, NOWLS_TRIAL1_TEXT: trial1, FAKE_LSP_LOG: fakeLog });
  checkReport(out, dir, "emacs-coexist-report.txt", r);

  // nowls's requests went to nowls only: the user's server never saw a now/… method.
  const methods = fs.readFileSync(fakeLog, "utf8").split("\n").filter(Boolean);
  assert.ok(methods.includes("textDocument/hover") && methods.includes("textDocument/codeAction"), methods.join(" "));
  assert.deepEqual(methods.filter((m) => m.startsWith("now/")), []);

  const dot = fs.readFileSync(`${out}.dot`, "utf8");
  assert.match(dot, /^digraph/);
  if (spawnSync("sh", ["-c", "command -v dot"]).status === 0) {
    const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" });
    assert.equal(svg.status, 0, svg.stderr);
    assert.match(svg.stdout, /<svg/);
  }
});

test("Emacs: lsp-mode runs nowls as an add-on server beside the user's Python server", (t) => {
  if (!requireTool(t, "emacs")) return;
  const loadPath = elpaLoadPath();
  if (!requireEmacsPackage(t, loadPath, "eglot", "elpa-eglot (or Emacs 29+)")) return;
  if (!requireEmacsPackage(t, loadPath, "lsp-mode", "elpa-lsp-mode")) return;
  const { dir, trial1 } = demo("nowls-emacs-lsp-mode-");
  const out = path.join(dir, "..", "emacs-lsp-mode-report.txt");
  const fakeLog = path.join(dir, "..", "fake-lsp.log");
  // HOME is the temporary folder: lsp-mode keeps state under ~/.emacs.d.
  const r = runEmacs(loadPath, "lsp-mode.el", dir, { NOWLS_OUT: out, NOWLS_TRIAL1_TEXT: trial1, FAKE_LSP_LOG: fakeLog, HOME: path.dirname(dir) });
  checkReport(out, dir, "emacs-lsp-mode-report.txt", r);
  const methods = fs.readFileSync(fakeLog, "utf8").split("\n").filter(Boolean);
  assert.ok(methods.includes("textDocument/didOpen") && methods.includes("textDocument/hover"), methods.join(" "));
  assert.deepEqual(methods.filter((m) => m.startsWith("now/")), []);
});
