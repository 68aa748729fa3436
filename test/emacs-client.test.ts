// The Emacs client (clients/emacs/now.el): batch Emacs loads now.el and Debian's Eglot,
// and clients/emacs/test/e2e.el drives it in the demo project — now-mode starts nowls
// through Eglot, now-run (fine) and now/trialFinished, a hover of the new trial,
// now-trials, now-select-trial, now-diff, now-graph, now-restore 1 after an edit, and
// the diagnostic of a failing trial.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { elpaLoadPath, emacsArgs, requireEmacsPackage } from "./emacsHelpers";
import { matchesExpected, normalize, now, NOW, REPO, requireTool, tempProject } from "./helpers";

test("Emacs client: now-mode, now-run, trialFinished, hover, graph, restore and diagnostics in batch Emacs", (t) => {
  if (!requireTool(t, "emacs")) return;
  const loadPath = elpaLoadPath();
  if (!requireEmacsPackage(t, loadPath, "eglot", "elpa-eglot (or Emacs 29+)")) return;
  const dir = path.join(tempProject("nowls-emacs-client-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  // The demo never edits experiment.py: the file on disk is the text trial 1 ran.
  const trial1 = path.join(dir, "..", "experiment-trial1.py");
  fs.copyFileSync(path.join(dir, "experiment.py"), trial1);

  const client = path.join(REPO, "clients", "emacs");
  const out = path.join(dir, "..", "emacs-client-report.txt");
  const args = emacsArgs(loadPath);
  args.push("-L", client, "-l", path.join(client, "now.el"), "-l", path.join(client, "test", "e2e.el"));
  const r = spawnSync("emacs", args, {
    cwd: dir, encoding: "utf8", timeout: 180000,
    env: { ...process.env, NOWLS_OUT: out, NOWLS_BIN: NOW, NOWLS_TRIAL1_TEXT: trial1, NOW_PYTHON: process.env.NOW_TEST_PYTHON || "python3" },
  });
  assert.ok(fs.existsSync(out), `emacs wrote no report: ${r.stderr}${r.error ?? ""}`);
  const report = normalize(fs.readFileSync(out, "utf8"), dir);
  const { ok, expected } = matchesExpected(report, path.join(REPO, "test", "expected", "emacs-client-report.txt"));
  assert.ok(ok, `the Emacs client's report differs:\n--- expected\n${expected}\n--- actual\n${report}\n--- emacs stderr\n${r.stderr}`);
  assert.equal(r.status, 0, `emacs: ${r.stderr}${r.error ?? ""}`);

  const dot = fs.readFileSync(`${out}.dot`, "utf8");
  assert.match(dot, /^digraph/);
});
