// What the batch-Emacs tests share: the load path for Debian's ELPA packages (Eglot,
// lsp-mode and their dependencies) and a check that a package loads there.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";

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
