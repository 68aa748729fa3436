// The language server in a real editor: headless Neovim (Debian's 0.7 or newer) starts
// `now lsp --stdio`, opens the demo, and hovers a variable and a function.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { matchesExpected, normalize, now, NOW, REPO, requireTool, tempProject } from "./helpers";

test("headless Neovim: hover on a variable and on a function shows the trial's provenance", (t) => {
  if (!requireTool(t, "nvim")) return;
  const dir = path.join(tempProject("nowls-nvim-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  const out = path.join(dir, "nvim-report.txt");
  const r = spawnSync("nvim", ["--headless", "--clean", "-n", "-c", `luafile ${path.join(REPO, "test", "fixtures", "neovim", "hover.lua")}`], {
    cwd: dir, encoding: "utf8", timeout: 60000,
    env: { ...process.env, NOWLS_OUT: out, NOWLS_BIN: NOW, NOW_PYTHON: process.env.NOW_TEST_PYTHON || "python3" },
  });
  assert.equal(r.status, 0, `nvim: ${r.stderr}${r.error ?? ""}`);
  const report = normalize(fs.readFileSync(out, "utf8"), dir).replace(/0x[0-9a-f]+/g, "0x…");
  const { ok, expected } = matchesExpected(report, path.join(REPO, "test", "expected", "neovim-hover.txt"));
  assert.ok(ok, `Neovim's hovers differ:\n--- expected\n${expected}\n--- actual\n${report}`);
});
