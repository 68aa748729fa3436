// Hover and inlay-hint latency of `now lsp` over a big store: N trials of M activations
// each (default 100 × 100 000, what issue 6 asks), generated straight into SQLite, plus the
// demo's real fine trial as the one hovers read. Prints p50/p99 of many requests.
//   npm run build && node dist/bench/lsp.js [--trials N] [--activations M]
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { pathToFileURL } from "url";
import Database from "better-sqlite3";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const REPO = path.resolve(__dirname, "..", "..");
const NOW = path.join(REPO, "bin", "now.js");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRIALS = arg("--trials", 100);
const ACTIVATIONS = arg("--activations", 100_000);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bench-lsp-")), "demo");
  spawnSync(process.execPath, [NOW, "demo", dir], { stdio: "ignore" });
  const t0 = Date.now();
  // Bulk trials, generated inside SQLite: copies of trial 1's shape with many activations.
  const db = new Database(path.join(dir, ".now", "db.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insertTrial = db.prepare(
    `INSERT INTO trial (uuid, script, script_hash, argv, command, python, cwd, root, status, exit_code, started_at, finished_at)
     SELECT lower(hex(randomblob(16))), script, script_hash, argv, command, python, cwd, root, 'finished', 0, started_at - 86400, finished_at - 86400
       FROM trial WHERE id = 1`,
  );
  const copyCode = db.prepare(`INSERT INTO code (trial_id, id, file, name, qualname, line, kind) SELECT ?, id, file, name, qualname, line, kind FROM code WHERE trial_id = 1`);
  const bulk = db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO activation (trial_id, id, code_id, parent_id, start, finish, status, args, return_value)
     SELECT ?, i, (SELECT id FROM code WHERE trial_id = 1 AND name = 'month_of'), CASE WHEN i = 1 THEN NULL ELSE 1 END,
            i * 1e-6, i * 1e-6 + 2e-6, 'returned', '[["date","''2013-01-01''"]]', '1' FROM n`,
  );
  // What the store's writer does when a trial ends: counts per code object.
  const counts = db.prepare(
    `UPDATE code SET calls = s.n, total = s.t
       FROM (SELECT code_id, count(*) AS n, coalesce(sum(finish - start), 0) AS t FROM activation WHERE trial_id = ? GROUP BY code_id) AS s
      WHERE code.trial_id = ? AND code.id = s.code_id`,
  );
  const zero = db.prepare(`UPDATE code SET calls = 0, total = 0 WHERE trial_id = ?`);
  db.transaction(() => {
    for (let k = 0; k < TRIALS; k++) {
      const id = Number(insertTrial.run().lastInsertRowid);
      copyCode.run(id);
      bulk.run(ACTIVATIONS, id);
      zero.run(id);
      counts.run(id, id);
    }
  })();
  db.close();
  const genSeconds = (Date.now() - t0) / 1000;
  // The trial hovers read: a real fine trial, the newest.
  spawnSync(process.execPath, [NOW, "run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir, stdio: "ignore" });
  const size = fs.statSync(path.join(dir, ".now", "db.sqlite")).size;

  const child = spawn(process.execPath, [NOW, "lsp", "--stdio"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
  const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.listen();
  await conn.sendRequest("initialize", {
    processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {}, initializationOptions: { inlayHints: true },
  });
  await conn.sendNotification("initialized", {});
  const files = ["experiment.py", "precipitation.py"];
  for (const f of files) {
    await conn.sendNotification("textDocument/didOpen", {
      textDocument: { uri: pathToFileURL(path.join(dir, f)).href, languageId: "python", version: 1, text: fs.readFileSync(path.join(dir, f), "utf8") },
    });
  }
  const hoverTimes: number[] = [];
  const slow: [number, string][] = [];
  const hintTimes: number[] = [];
  for (let round = 0; round < 20; round++) {
    for (const f of files) {
      const uri = pathToFileURL(path.join(dir, f)).href;
      const lines = fs.readFileSync(path.join(dir, f), "utf8").split("\n");
      for (let line = 0; line < lines.length; line++) {
        const col = lines[line].search(/[A-Za-z_]/);
        if (col < 0) continue;
        const s = process.hrtime.bigint();
        await conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line, character: col } });
        hoverTimes.push(Number(process.hrtime.bigint() - s) / 1e6);
        slow.push([hoverTimes[hoverTimes.length - 1], `${f}:${line + 1}:${col}`]);
      }
      const s = process.hrtime.bigint();
      await conn.sendRequest("textDocument/inlayHint", { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } } });
      hintTimes.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }
  await conn.sendRequest("shutdown");
  await conn.sendNotification("exit");
  conn.dispose();
  slow.sort((a, b) => b[0] - a[0]);
  console.log(`store: ${TRIALS} trials × ${ACTIVATIONS} activations (+ the demo's 3), ${(size / 1e6).toFixed(0)} MB, generated in ${genSeconds.toFixed(1)} s`);
  console.log(`hover:       ${hoverTimes.length} requests, p50 ${pct(hoverTimes, 50).toFixed(2)} ms, p99 ${pct(hoverTimes, 99).toFixed(2)} ms (goal p99 <= 10 ms)`);
  console.log(`slowest hovers at: ${[...new Set(slow.slice(0, 40).map(([, w]) => w))].slice(0, 4).join(", ")}`);
  console.log(`inlay hints: ${hintTimes.length} requests (whole file), p50 ${pct(hintTimes, 50).toFixed(2)} ms, p99 ${pct(hintTimes, 99).toFixed(2)} ms (goal p99 <= 10 ms)`);
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
