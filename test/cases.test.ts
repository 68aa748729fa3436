// Tests as data: each folder of test/cases holds a Python script (main.py, with args.json
// and stdin.txt when it needs them) and expected.txt, what `now show -a -f` says about its
// trial. Every case is also run without nowls: exit code, stdout and stderr must be the same.
import assert from "node:assert/strict";
import fs from "fs";
import path from "path";
import { test } from "node:test";
import { CASES, matchesExpected, normalize, now, python, PYTHON, tempProject } from "./helpers";
import { spawnSync } from "child_process";

// A case may hold expected-3.13.txt where that Python records differently (3.13 closes a
// suspended generator without running its frame, so no event reports it).
const PY_VERSION = spawnSync(PYTHON, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).stdout.trim();

function expectedFile(name: string): string {
  const specific = path.join(CASES, name, `expected-${PY_VERSION}.txt`);
  return fs.existsSync(specific) ? specific : path.join(CASES, name, "expected.txt");
}

const cases = fs.readdirSync(CASES).filter((d) => fs.existsSync(path.join(CASES, d, "main.py"))).sort();

function copyCase(name: string): string {
  const dir = tempProject(`nowls-case-${name}-`);
  fs.cpSync(path.join(CASES, name), dir, { recursive: true, filter: (s) => !/expected(-[\d.]+)?\.txt$/.test(s) });
  return dir;
}

function caseInput(name: string): { args: string[]; input?: string } {
  const argsFile = path.join(CASES, name, "args.json");
  const stdinFile = path.join(CASES, name, "stdin.txt");
  return {
    args: fs.existsSync(argsFile) ? JSON.parse(fs.readFileSync(argsFile, "utf8")) : [],
    input: fs.existsSync(stdinFile) ? fs.readFileSync(stdinFile, "utf8") : "",
  };
}

for (const name of cases) {
  test(`case ${name}: same behaviour as plain python, provenance as expected`, () => {
    const { args, input } = caseInput(name);
    const plainDir = copyCase(name);
    const tracedDir = copyCase(name);
    const plain = python(["main.py", ...args], { cwd: plainDir, input });
    const traced = now(["run", "main.py", ...args], { cwd: tracedDir, input });

    assert.equal(traced.status, plain.status, `exit code; stderr:\n${traced.stderr}`);
    assert.equal(traced.stdout.split(tracedDir).join("<dir>"), plain.stdout.split(plainDir).join("<dir>"));
    const nowLine = /now: trial \d+ [^\n]*\n$/;
    assert.match(traced.stderr, nowLine);
    assert.equal(traced.stderr.replace(nowLine, "").split(tracedDir).join("<dir>"), plain.stderr.split(plainDir).join("<dir>"));

    const shown = now(["show", "-a", "-f"], { cwd: tracedDir });
    assert.equal(shown.status, 0, shown.stderr);
    const actual = machineNeutral(normalize(shown.stdout, tracedDir));
    const file = expectedFile(name);
    const { ok, expected } = matchesExpected(actual, file);
    assert.ok(ok, `now show -a -f differs from ${path.relative(CASES, file)}:\n--- expected\n${expected}\n--- actual\n${actual}`);
  });
}

/** Drops what depends on the machine rather than on the script. */
function machineNeutral(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^  (uuid|cwd|python|system|tracer) /.test(l))
    .join("\n")
    .replace(/\d+ modules \(-m\), \d+ environment variables/, "<n> modules (-m), <n> environment variables")
    // Tracebacks are worded differently across Python versions (3.11+ adds ^^^ markers).
    .replace(/, \d+ on stderr/, ", <n> on stderr");
}

// Fine granularity, as data: each folder of test/cases-fine is run with `now run --fine`
// and `now show -V` (every value, what it was computed from) is compared with expected.txt.
const FINE = path.join(path.dirname(CASES), "cases-fine");
for (const name of fs.readdirSync(FINE).sort()) {
  test(`fine case ${name}: values and dependencies as expected`, () => {
    const dir = tempProject(`nowls-fine-${name}-`);
    fs.cpSync(path.join(FINE, name), dir, { recursive: true, filter: (s) => !/expected(-[\d.]+)?\.txt$/.test(s) });
    const plain = python(["main.py"], { cwd: dir });
    const traced = now(["run", "--fine", "main.py"], { cwd: dir });
    assert.equal(traced.status, plain.status, traced.stderr);
    assert.equal(traced.stdout, plain.stdout);
    const shown = now(["show", "-V"], { cwd: dir });
    assert.equal(shown.status, 0, shown.stderr);
    const values = shown.stdout.slice(shown.stdout.indexOf("Values ("));
    // Values are data: only the folder and object addresses vary between runs.
    const actual = values.split(dir).join("<project>").replace(/ at 0x[0-9a-f]+/g, " at 0x…");
    const specific = path.join(FINE, name, `expected-${PY_VERSION}.txt`);
    const file = fs.existsSync(specific) ? specific : path.join(FINE, name, "expected.txt");
    const { ok, expected } = matchesExpected(actual, file);
    assert.ok(ok, `now show -V differs from cases-fine/${name}/${path.basename(file)}:\n--- expected\n${expected}\n--- actual\n${actual}`);
  });
}
