// The Emacs client (clients/emacs/now.el): batch Emacs loads now.el and Debian's Eglot,
// and clients/emacs/test/e2e.el drives it in the demo project — now-mode starts nowls
// through Eglot, now-run (fine) and now/trialFinished, a hover of the new trial,
// now-trials, now-select-trial, now-diff, now-graph, now-restore 1 after an edit, and
// the diagnostic of a failing trial, then the "Run trial" code actions from Eglot's menu and
// M-x now-run asking for the arguments (the last trial's as the default; left, edited, cancelled).
import assert from "node:assert/strict";
import fs from "fs";
import path from "path";
import { test } from "node:test";
import { checkEmacsReport, elpaLoadPath, emacsDemo, requireEmacsPackage, runEmacsScript } from "./emacsHelpers";
import { requireTool } from "./helpers";

test("Emacs client: now-mode, now-run, trialFinished, hover, graph, restore and diagnostics in batch Emacs", (t) => {
  if (!requireTool(t, "emacs")) return;
  const loadPath = elpaLoadPath();
  if (!requireEmacsPackage(t, loadPath, "eglot", "elpa-eglot (or Emacs 29+)")) return;
  const { dir, trial1 } = emacsDemo("nowls-emacs-client-");
  const out = path.join(dir, "..", "emacs-client-report.txt");
  const r = runEmacsScript(loadPath, "e2e.el", dir, { NOWLS_OUT: out, NOWLS_TRIAL1_TEXT: trial1 }, 180000);
  checkEmacsReport(out, dir, "emacs-client-report.txt", r);

  const dot = fs.readFileSync(`${out}.dot`, "utf8");
  assert.match(dot, /^digraph/);
});
