#!/usr/bin/env node
// Runs every test suite: the tracer's own Python suite on the host's python3 (or
// NOW_TEST_PYTHON) and on a real Python 3.13 from a Debian trixie root (scripts/python3.13),
// once with its default core (sysmon) and once with NOW_TRACER_CORE=settrace; on every other
// CPython 3.8-3.12 the machine has (pyenv's, or NOW_EXTRA_PYTHONS); then the
// TypeScript suites (compiled to dist/test by `npm run build`). Exits non-zero if any fails.
//
// The Python suites run at the same time (they mostly wait on the interpreters they
// start); each one's output is printed whole when it ends. The trixie root is built on the
// first run (scripts/debian-root trixie, ~20-60 s) and cached; when it cannot be built the 3.13
// suites are skipped with the reason, except under CI=true, where that is a failure.
"use strict";
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const python = process.env.NOW_TEST_PYTHON || "python3";
const python313 = path.join(root, "scripts", "python3.13");
const tracerDir = path.join(root, "python-tracer");
const unittest = ["-m", "unittest", "discover", "-s", "tests"];
const nodeTests = fs.readdirSync(path.join(root, "dist", "test")).filter((f) => f.endsWith(".test.js")).map((f) => path.join("dist", "test", f));

/** The environment with `changes` applied; an undefined value removes the variable. */
function env(changes) {
  const e = { ...process.env, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete e[k];
  return e;
}

const failed = [];

/** Starts a suite with its output collected; resolves to [name, command line, output, ok]. */
function collect(name, cmd, args, cwd, environment) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env: environment, stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    child.stdout.on("data", (d) => chunks.push(d));
    child.stderr.on("data", (d) => chunks.push(d));
    child.on("error", (err) => chunks.push(Buffer.from(`${err.message}\n`)));
    child.on("close", (status) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      resolve({ name, line: [cmd, ...args].join(" "), output: Buffer.concat(chunks), ok: status === 0, seconds });
    });
  });
}

/** scripts/debian-root trixie, its stderr shown as it comes ("building …" the first time) and kept. */
function trixieRoot() {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, "scripts", "debian-root"), ["trixie"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d) => { stderr += d; process.stderr.write(d); });
    child.on("error", (err) => { stderr += `${err.message}\n`; });
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

/** Interpreters other than the host's python3 and the trixie root's, each once per version. */
function extraPythons() {
  const listed = (process.env.NOW_EXTRA_PYTHONS ?? "").split(":").filter(Boolean);
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(process.env.HOME ?? "/root", ".pyenv"), "versions");
  const found = listed.length ? listed : (fs.existsSync(pyenv) ? fs.readdirSync(pyenv) : [])
    .filter((v) => /^3\.(8|9|10|12)\.\d+$/.test(v))
    .map((v) => path.join(pyenv, v, "bin", "python3"));
  const hostVersion = spawnSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).stdout?.trim();
  const seen = new Set([hostVersion, "3.13"]);
  const out = [];
  for (const p of found) {
    const r = spawnSync(p, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
    const version = r.status === 0 ? r.stdout.trim() : null;
    if (!version || seen.has(version)) continue;
    seen.add(version);
    out.push({ python: p, version });
  }
  return out;
}

async function main() {
  const pythonSuites = [collect("tracer (python)", python, unittest, tracerDir, process.env)];

  // Other CPythons this machine has (pyenv's 3.8-3.12, or NOW_EXTRA_PYTHONS, colon-separated):
  // the tracer promises 3.8-3.13, and CI has only 3.11 and 3.13 for certain. Run when present.
  for (const extra of extraPythons()) {
    pythonSuites.push(collect(`tracer (python ${extra.version}, ${extra.python})`, extra.python, unittest, tracerDir, env({ NOW_TEST_PYTHON: extra.python })));
  }

  // Python 3.13: the trixie root, built now if it is not cached.
  const built = await trixieRoot();
  if (built.status === 0) {
    // No NOW_TEST_PYTHON inside: the suite's scripts run on sys.executable, the root's 3.13.
    pythonSuites.push(collect("tracer (python 3.13, default core)", python313, unittest, tracerDir, env({ NOW_TEST_PYTHON: undefined, NOW_TRACER_CORE: undefined })));
    pythonSuites.push(collect("tracer (python 3.13, NOW_TRACER_CORE=settrace)", python313, unittest, tracerDir, env({ NOW_TEST_PYTHON: undefined, NOW_TRACER_CORE: "settrace" })));
  } else {
    const ci = process.env.CI === "true";
    const why = built.stderr.trim().split("\n").pop() || `scripts/debian-root trixie: exit ${built.status}`;
    pythonSuites.push({
      name: "tracer (python 3.13)", line: ci ? "no trixie root (CI=true: a failure)" : "SKIPPED, no trixie root",
      output: Buffer.from(`${why}\n`), ok: !ci,
    });
  }

  for (const suite of await Promise.all(pythonSuites)) {
    process.stdout.write(`\n=== ${suite.name}: ${suite.line}${suite.seconds ? ` (${suite.seconds} s)` : ""}\n`);
    process.stdout.write(suite.output);
    if (!suite.ok) failed.push(suite.name);
  }

  const name = "server and end to end (node)";
  const args = ["--test", "--test-concurrency=2", ...nodeTests];
  process.stdout.write(`\n=== ${name}: ${[process.execPath, ...args].join(" ")}\n`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) failed.push(name);

  if (failed.length) {
    process.stdout.write(`\nFAILED: ${failed.join(", ")}\n`);
    process.exit(1);
  }
  process.stdout.write("\nall test suites passed\n");
}

main();
