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
import path from "path";
import { test } from "node:test";
import { checkEmacsReport, elpaLoadPath, emacsDemo, requireEmacsPackage, runEmacsScript } from "./emacsHelpers";
import { REPO, requireTool } from "./helpers";

const FAKE = path.join(REPO, "test", "fixtures", "fake-python-lsp.py");

test("Emacs: Eglot keeps the user's Python server and now-mode adds nowls beside it", (t) => {
  if (!requireTool(t, "emacs")) return;
  const loadPath = elpaLoadPath();
  if (!requireEmacsPackage(t, loadPath, "eglot", "elpa-eglot (or Emacs 29+)")) return;
  const { dir, trial1 } = emacsDemo("nowls-emacs-coexist-");
  const out = path.join(dir, "..", "emacs-coexist-report.txt");
  const fakeLog = path.join(dir, "..", "fake-lsp.log");
  const r = runEmacsScript(loadPath, "coexist.el", dir, { NOWLS_FAKE_LSP: FAKE, NOWLS_OUT: out, NOWLS_TRIAL1_TEXT: trial1, FAKE_LSP_LOG: fakeLog });
  checkEmacsReport(out, dir, "emacs-coexist-report.txt", r);

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
  const { dir, trial1 } = emacsDemo("nowls-emacs-lsp-mode-");
  const out = path.join(dir, "..", "emacs-lsp-mode-report.txt");
  const fakeLog = path.join(dir, "..", "fake-lsp.log");
  // HOME is the temporary folder: lsp-mode keeps state under ~/.emacs.d.
  const r = runEmacsScript(loadPath, "lsp-mode.el", dir, { NOWLS_FAKE_LSP: FAKE, NOWLS_OUT: out, NOWLS_TRIAL1_TEXT: trial1, FAKE_LSP_LOG: fakeLog, HOME: path.dirname(dir) });
  checkEmacsReport(out, dir, "emacs-lsp-mode-report.txt", r);
  const methods = fs.readFileSync(fakeLog, "utf8").split("\n").filter(Boolean);
  assert.ok(methods.includes("textDocument/didOpen") && methods.includes("textDocument/hover"), methods.join(" "));
  assert.deepEqual(methods.filter((m) => m.startsWith("now/")), []);
});
