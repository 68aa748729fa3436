// What the batch-Emacs tests share: the load path for Debian's ELPA packages (Eglot,
// lsp-mode and their dependencies), a check that a package loads there, the demo project
// they run in, running a script of clients/emacs/test and checking the report it wrote.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { matchesExpected, normalize, now, NOW, PYTHON, REPO, tempProject } from "./helpers";

const CLIENT = path.join(REPO, "clients", "emacs");

/** Folders to put on Emacs's load-path: $NOWLS_EMACS_LOAD_PATH, then Debian's site-lisp/elpa/*. */
export function elpaLoadPath(): string[] {
  const extra = (process.env.NOWLS_EMACS_LOAD_PATH || "").split(path.delimiter).filter(Boolean);
  const elpa = "/usr/share/emacs/site-lisp/elpa";
  const debian = fs.existsSync(elpa) ? fs.readdirSync(elpa).map((d) => path.join(elpa, d)) : [];
  return [...extra, ...debian];
}

/** `emacs --batch -Q` arguments with every folder of `loadPath` on the load path. */
export function emacsArgs(loadPath: string[]): string[] {
  const args = ["--batch", "-Q"];
  for (const d of loadPath) args.push("-L", d);
  return args;
}

/**
 * Whether `(require FEATURE)` works in batch Emacs with `loadPath`. Missing is a skip on a
 * user's machine and a failure under CI=true (`.ci/setup` installs the Debian packages).
 */
export function requireEmacsPackage(t: { skip: (msg: string) => void }, loadPath: string[], feature: string, debian: string): boolean {
  const r = spawnSync("emacs", [...emacsArgs(loadPath), "--eval", `(kill-emacs (if (require '${feature} nil t) 0 1))`]);
  if (r.status === 0) return true;
  if (process.env.CI === "true") assert.fail(`Emacs package ${feature} is missing (CI=true): install ${debian}`);
  t.skip(`Emacs package ${feature} not found (Debian: apt install ${debian})`);
  return false;
}

/** The demo project with trial 3 fine, and a copy of experiment.py as trial 1 ran it. */
export function emacsDemo(prefix: string): { dir: string; trial1: string } {
  const dir = path.join(tempProject(prefix), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  // The demo never edits experiment.py: the file on disk is the text trial 1 ran.
  const trial1 = path.join(dir, "..", "experiment-trial1.py");
  fs.copyFileSync(path.join(dir, "experiment.py"), trial1);
  return { dir, trial1 };
}

/** Batch Emacs in `dir` with now.el and clients/emacs/test/`script` loaded. */
export function runEmacsScript(loadPath: string[], script: string, dir: string, env: NodeJS.ProcessEnv, timeout = 90000) {
  const args = [...emacsArgs(loadPath), "-L", CLIENT, "-l", path.join(CLIENT, "now.el"), "-l", path.join(CLIENT, "test", script)];
  return spawnSync("emacs", args, {
    cwd: dir, encoding: "utf8", timeout,
    env: { ...process.env, NOWLS_BIN: NOW, NOW_PYTHON: PYTHON, ...env },
  });
}

/** The report at `out` matches test/expected/`expectedName`, and Emacs exited with 0. */
export function checkEmacsReport(out: string, dir: string, expectedName: string, r: ReturnType<typeof spawnSync>): string {
  assert.ok(fs.existsSync(out), `emacs wrote no report: ${r.stderr}${r.error ?? ""}`);
  const report = normalize(fs.readFileSync(out, "utf8"), dir);
  const { ok, expected } = matchesExpected(report, path.join(REPO, "test", "expected", expectedName));
  assert.ok(ok, `the report differs:\n--- expected\n${expected}\n--- actual\n${report}\n--- emacs stderr\n${r.stderr}`);
  assert.equal(r.status, 0, `emacs: ${r.stderr}${r.error ?? ""}`);
  return report;
}
