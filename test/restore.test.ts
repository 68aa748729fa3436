// `now restore` never touches the store, version control or a virtual environment; every
// failure is found before anything is written; names that are not UTF-8 come back under
// their bytes. Cases are data in test/fixtures/restore/ (its README says how they run);
// this file runs them and demands, of every restore, what no transcript can show.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { decodeStoredPath, displayPath, encodeStoredPath, fsBytes, fsName } from "../server/src/paths";
import { matchesExpected, normalize, NOW, PYTHON, REPO, requireTool, rng, assertNobodyCanRunNow } from "./helpers";

const FIXTURES = path.join(REPO, "test", "fixtures", "restore");
const NOBODY = 65534;

interface Project { dir: string; env: NodeJS.ProcessEnv }

/** A fresh project (a `.git` folder marks its root) with `now` and `sql` on the PATH. */
function project(): Project {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-restore-"));
  fs.mkdirSync(path.join(dir, ".git"));
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-restore-bin-"));
  fs.writeFileSync(path.join(bin, "now"), `#!/bin/sh\nexec "${process.execPath}" "${NOW}" "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "sql"), `#!${process.execPath}
const db = new (require(${JSON.stringify(path.join(REPO, "node_modules", "better-sqlite3"))}))(".now/db.sqlite");
const st = db.prepare(process.argv[2]);
if (st.reader) for (const r of st.all()) console.log(Object.values(r).join("\\t")); else st.run();
`, { mode: 0o755 });
  return { dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NOW_PYTHON: PYTHON } };
}

function copyInto(from: string, to: string, leave: string[] = []): void {
  for (const name of fs.readdirSync(from)) {
    if (!leave.includes(name)) fs.cpSync(path.join(from, name), path.join(to, name), { recursive: true });
  }
}

function bash(p: Project, script: string): string {
  const r = spawnSync("bash", ["-e", script], { cwd: p.dir, env: p.env, encoding: "utf8" });
  assert.equal(r.status, 0, `${script}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every entry under the project but `.now/`: kind, mode, and the bytes or link target. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: Buffer, rel: string) => {
    for (const name of fs.readdirSync(abs, { encoding: "buffer" })) {
      const child = Buffer.concat([abs, Buffer.from("/"), name]);
      const key = rel + fsName(name);
      if (key === ".now") continue;
      const st = fs.lstatSync(child);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.set(key, `folder ${mode}`);
        walk(child, key + "/");
      } else if (st.isSymbolicLink()) out.set(key, `link to ${fsName(fs.readlinkSync(child, { encoding: "buffer" }))}`);
      else if (st.isFile()) out.set(key, `file ${mode} ${createHash("sha256").update(fs.readFileSync(child)).digest("hex")}`);
      else out.set(key, `other ${mode}`);
    }
  };
  walk(Buffer.from(dir), "");
  return out;
}

const PROTECTED = /(^|\/)(\.git|\.hg|\.svn|\.jj)(\/|$)/;
function protectedPart(snap: Map<string, string>): string[] {
  const venvs = [...snap.keys()].filter((k) => k.endsWith("/pyvenv.cfg")).map((k) => k.slice(0, -"pyvenv.cfg".length));
  return [...snap].filter(([k]) => PROTECTED.test(k) || venvs.some((v) => k.startsWith(v))).map(([k, v]) => `${k} ${v}`);
}

function trialIds(p: Project): number[] {
  const r = spawnSync(process.execPath, [NOW, "list", "--json"], { cwd: p.dir, env: p.env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).map((t: { id: number }) => t.id);
}

/** How `now restore` is started: as this user, or as an ordinary one when this is root. */
type Runner = (args: string[], p: Project) => ReturnType<typeof spawnSync>;
const asThisUser: Runner = (args, p) => spawnSync(process.execPath, [NOW, "restore", ...args], { cwd: p.dir, env: p.env, encoding: "utf8" });
const asNobody: Runner = (args, p) => {
  assertNobodyCanRunNow(NOBODY);
  spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, p.dir]);
  return spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, NOW, "restore", ...args],
    { cwd: p.dir, env: p.env, encoding: "utf8" });
};

/** Runs one restore, checks what holds of every restore, and returns its transcript. */
function restore(p: Project, args: string[], run: Runner = asThisUser): string {
  const before = snapshot(p.dir);
  const trials = trialIds(p);
  const r = run(args, p);
  const after = snapshot(p.dir);
  const said = `$ now restore ${args.join(" ")}\n${r.stdout}${r.stderr}exit ${r.status}\n`;
  assert.deepEqual(protectedPart(after), protectedPart(before), `${said}changed a protected folder`);
  assert.deepEqual(trialIds(p).filter((id) => trials.includes(id)), trials, `${said}lost a trial`);
  assert.deepEqual([...after.keys()].filter((k) => k.includes(".now-restore-")), [], `${said}left a temporary file`);
  if (r.status !== 0) {
    assert.equal(r.status, 2, said);
    assert.match(String(r.stderr), /^now: [^\n]+\n$/, `${said}one line on stderr`);
    assert.equal(r.stdout, "", said);
    assert.deepEqual(after, before, `${said}wrote something`);
    assert.deepEqual(trialIds(p), trials, `${said}added a trial`);
  }
  return said;
}

function expectTranscript(actual: string, p: Project, file: string): void {
  const { ok, expected } = matchesExpected(normalize(actual, p.dir), file);
  assert.ok(ok, `differs from ${path.relative(REPO, file)}:\n--- expected\n${expected}\n--- actual\n${normalize(actual, p.dir)}`);
}

const casesDir = path.join(FIXTURES, "cases");
for (const name of fs.readdirSync(casesDir).sort()) {
  const dir = path.join(casesDir, name);
  test(`restore case ${name}`, (t) => {
    if (name.startsWith("git") && !requireTool(t, "git")) return;
    const p = project();
    copyInto(dir, p.dir, ["setup.sh", "restore", "check.sh", "expected.txt"]);
    bash(p, path.join(dir, "setup.sh"));
    let transcript = "";
    for (const line of fs.readFileSync(path.join(dir, "restore"), "utf8").trim().split("\n")) {
      transcript += restore(p, line.split(/\s+/));
    }
    if (fs.existsSync(path.join(dir, "check.sh"))) transcript += `$ check.sh\n${bash(p, path.join(dir, "check.sh"))}`;
    expectTranscript(transcript, p, path.join(dir, "expected.txt"));
  });
}

const refusedDir = path.join(FIXTURES, "refused");
for (const fault of fs.readdirSync(refusedDir).filter((f) => f.endsWith(".sh") && f !== "setup.sh").sort()) {
  const script = path.join(refusedDir, fault);
  test(`restore refused: ${fault.slice(0, -3)}`, (t) => {
    let run = asThisUser;
    if (fs.readFileSync(script, "utf8").startsWith("# unprivileged") && process.getuid?.() === 0) {
      if (!requireTool(t, "setpriv")) return;
      run = asNobody;
    }
    const p = project();
    copyInto(path.join(refusedDir, "project"), p.dir);
    bash(p, path.join(refusedDir, "setup.sh"));
    bash(p, script);
    const transcript = restore(p, ["1"], run);
    expectTranscript(transcript, p, script.replace(/\.sh$/, ".txt"));
    assert.match(transcript, /\nexit 2\n$/, "the fault is found");
  });
}

test("stored paths: valid text as is, bytes that are not UTF-8 escaped after a ./ marker", () => {
  const table: [string, string, string][] = [
    // name as the tracer gives it, as stored, as shown
    ["data/p2014.dat", "data/p2014.dat", "data/p2014.dat"],
    ["/usr/lib/python3/x.py", "/usr/lib/python3/x.py", "/usr/lib/python3/x.py"],
    ["caf\u00e9/\u{1f600}.txt", "caf\u00e9/\u{1f600}.txt", "caf\u00e9/\u{1f600}.txt"],
    ["back\\slash", "back\\slash", "back\\slash"],
    ["d\udcfe/data\udcff.txt", "./d\\xfe/data\\xff.txt", "d\\xfe/data\\xff.txt"],
    ["a\\b\udc80", "./a\\\\b\\x80", "a\\\\b\\x80"],
    ["lone\ud800high", "./lone\\ud800high", "lone\\ud800high"],
    ["./pseudo", "././pseudo", "./pseudo"],
    ["\\xff", "\\xff", "\\xff"],
  ];
  for (const [name, stored, shown] of table) {
    assert.equal(encodeStoredPath(name), stored, JSON.stringify(name));
    assert.equal(decodeStoredPath(stored), name, stored);
    assert.equal(displayPath(stored), shown, stored);
  }
  assert.equal(fsBytes("lone\ud800high"), null, "a surrogate that stands for no byte names no file");
});

test("file-system names decode as Python's os.fsdecode does, and encode back to the same bytes", () => {
  const random = rng(14);
  const pick = [0x41, 0x2f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  const samples = Array.from({ length: 500 }, () =>
    Buffer.from(Array.from({ length: 1 + Math.floor(random() * 8) }, () => pick[Math.floor(random() * pick.length)])));
  samples.push(Buffer.from("caf\u00e9 \u{1f600}"), Buffer.from([0xed, 0xb3, 0xbf]), Buffer.from([0xf4, 0x90, 0x80, 0x80]));
  const r = spawnSync(PYTHON, ["-c", "import json, os, sys\nfor h in sys.stdin.read().split():\n    print(json.dumps(os.fsdecode(bytes.fromhex(h))))"],
    { input: samples.map((b) => b.toString("hex")).join("\n"), encoding: "utf8", env: { ...process.env, PYTHONUTF8: "1" } });
  assert.equal(r.status, 0, r.stderr);
  const python = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as string);
  samples.forEach((b, i) => {
    assert.equal(fsName(b), python[i], b.toString("hex"));
    assert.deepEqual(fsBytes(fsName(b)), b, b.toString("hex"));
    assert.equal(decodeStoredPath(encodeStoredPath(fsName(b))), fsName(b), b.toString("hex"));
  });
});
