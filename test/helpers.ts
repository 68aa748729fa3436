import { spawn, spawnSync, type SpawnSyncReturns } from "child_process";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import fs from "fs";
import os from "os";
import path from "path";

export const REPO = path.resolve(__dirname, "..", "..");
export const NOW = path.join(REPO, "bin", "now.js");
export const CASES = path.join(REPO, "test", "cases");
export const PYTHON = process.env.NOW_TEST_PYTHON || "python3";

/** A fresh project folder (with a .git marker so it is its own root). */
export function tempProject(prefix = "nowls-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, ".git"));
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

export function now(args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [NOW, ...args], {
    cwd: opts.cwd, input: opts.input, encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, NOW_PYTHON: PYTHON, ...opts.env },
  });
}

export function nowAsync(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return spawn(process.execPath, [NOW, ...args], {
    cwd: opts.cwd, env: { ...process.env, NOW_PYTHON: PYTHON, ...opts.env }, stdio: ["ignore", "pipe", "pipe"],
  });
}

export function python(args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, args, { cwd: opts.cwd, input: opts.input, encoding: "utf8", env: { ...process.env, ...opts.env } });
}

export function json<T = any>(r: SpawnSyncReturns<string>): T {
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * Makes command output comparable across runs and machines: durations, hashes, dates,
 * UUIDs and the temporary folder become placeholders a reader can still follow.
 */
export function normalize(text: string, dir: string): string {
  return text
    .split(dir).join("<project>")
    .replace(/\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b/g, "<time>")
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "<uuid>")
    .replace(/\b[0-9a-f]{10}\b/g, "<hash>")
    .replace(/\b\d+(\.\d+)? (µs|ms|s)\b/g, "<t>")
    .replace(/\b\d+ min \d+ s\b/g, "<t>")
    .replace(/ at 0x[0-9a-f]+/g, " at 0x…")
    .replace(/\([+-]?\d+%\)/g, "(<change>)");
}

/**
 * Compares `actual` with the expected file; with UPDATE_EXPECTED=1 rewrites the file
 * instead, so a person reviews the change in the diff.
 */
export function matchesExpected(actual: string, expectedFile: string): { ok: boolean; expected: string } {
  if (process.env.UPDATE_EXPECTED === "1") fs.writeFileSync(expectedFile, actual);
  if (!fs.existsSync(expectedFile)) return { ok: false, expected: `(missing ${expectedFile}; UPDATE_EXPECTED=1 writes it)` };
  const expected = fs.readFileSync(expectedFile, "utf8");
  return { ok: expected === actual, expected };
}

/** PRAGMA integrity_check of a project's store ("ok" when sound). */
export function integrity(dir: string): string {
  const db = new Database(path.join(dir, ".now", "db.sqlite"), { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** A system tool a test needs: missing is a skip on a user's machine, a failure in CI. */
export function requireTool(t: { skip: (msg: string) => void }, cmd: string): boolean {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0) return true;
  if (process.env.CI === "true") assert.fail(`${cmd} is missing (CI=true): .ci/setup installs it`);
  t.skip(`${cmd} not installed`);
  return false;
}

const rootProblems = new Map<string, string | null>();
/** A Debian root of scripts/debian-root (`trixie`: Python 3.13, Neovim 0.10; `forky`: Neovim
 *  0.12), built on first use and cached; like requireTool, a skip without it, a failure
 *  under CI=true. */
export function requireDebianRoot(t: { skip: (msg: string) => void }, suite: string): boolean {
  if (!rootProblems.has(suite)) {
    const r = spawnSync(path.join(REPO, "scripts", "debian-root"), [suite], { encoding: "utf8" });
    rootProblems.set(suite, r.status === 0 ? null : (r.stderr.trim().split("\n").pop() || `scripts/debian-root ${suite}: exit ${r.status}`));
  }
  const problem = rootProblems.get(suite)!;
  if (problem === null) return true;
  if (process.env.CI === "true") assert.fail(`no ${suite} root (CI=true): ${problem}`);
  t.skip(`no ${suite} root: ${problem}`);
  return false;
}

/** Polls `cond` (which may be async) until it holds; rejects after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A deterministic PRNG (mulberry32): the same seed gives the same edits, so a run can be replayed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let nobodyProblem: string | null | undefined;
/**
 * The permission tests run `now` as uid 65534 when the suite runs as root (root ignores
 * permissions); that user must be able to read the checkout. Fails with the reason when
 * it cannot (a checkout inside a private folder), instead of a bare MODULE_NOT_FOUND.
 */
export function assertNobodyCanRunNow(uid: number): void {
  if (nobodyProblem === undefined) {
    const r = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(NOW)}, require("fs").constants.R_OK)`],
      { uid, gid: uid, encoding: "utf8" });
    nobodyProblem = r.status === 0 ? null
      : `the permission tests run now as uid ${uid}, who cannot read ${NOW} (is the checkout inside a private folder?)`;
  }
  if (nobodyProblem) assert.fail(nobodyProblem);
}
