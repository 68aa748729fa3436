#!/usr/bin/env node
// Runs every test suite: the TypeScript ones (compiled to dist/test by `npm run build`)
// and the tracer's own Python suite. Exits non-zero if any fails.
"use strict";
const { spawnSync } = require("child_process");
const path = require("path");

const root = path.join(__dirname, "..");
const python = process.env.NOW_TEST_PYTHON || "python3";
const fs = require("fs");
const nodeTests = fs.readdirSync(path.join(root, "dist", "test")).filter((f) => f.endsWith(".test.js")).map((f) => path.join("dist", "test", f));
const suites = [
  ["tracer (python)", python, ["-m", "unittest", "discover", "-s", "tests"], path.join(root, "python-tracer")],
  ["server and end to end (node)", process.execPath, ["--test", "--test-concurrency=2", ...nodeTests], root],
];
let failed = [];
for (const [name, cmd, args, cwd] of suites) {
  process.stdout.write(`\n=== ${name}: ${[cmd, ...args].join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit" });
  if (r.status !== 0) failed.push(name);
}
if (failed.length) {
  process.stdout.write(`\nFAILED: ${failed.join(", ")}\n`);
  process.exit(1);
}
process.stdout.write("\nall test suites passed\n");
