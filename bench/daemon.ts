// The daemon's latency from a file save to its definitions being queryable, and its
// memory with a project of 1 000 files indexed.
//   npm run build && node dist/bench/daemon.js
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import type { MessageConnection } from "vscode-jsonrpc/node";
import { Methods, type DaemonStatus } from "../protocol/daemon";
import { connectDaemon } from "../server/src/daemon/client";

const NOW = path.resolve(__dirname, "..", "..", "bin", "now.js");
const FILES = 1000;

function module(i: number, variant = 0): string {
  const lines = [`"""Module ${i}."""`, "import math", ""];
  for (let f = 0; f < 10; f++) {
    lines.push(`def f${f}_${i}(x, y=${f + variant}):`, `    z = math.sqrt(x * x + y * y)`, `    return z + ${f}`, "");
  }
  lines.push(`class C${i}:`, "    def run(self):", `        return f0_${i}(1)`, "");
  return lines.join("\n");
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bench-daemon-"));
  fs.mkdirSync(path.join(root, ".git"));
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(root, `pkg${i % 20}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `m${i}.py`), module(i));
  }
  const started = Date.now();
  const daemon = spawn(process.execPath, [NOW, "daemon", "start", "--idle", "0", "--root", root], { stdio: "ignore" });
  let conn: MessageConnection | null = null;
  while (!conn) {
    await new Promise((r) => setTimeout(r, 20));
    conn = await connectDaemon(root);
  }
  let status = (await conn.sendRequest(Methods.status)) as DaemonStatus;
  while (!status.ready) {
    await new Promise((r) => setTimeout(r, 10));
    status = (await conn.sendRequest(Methods.status)) as DaemonStatus;
  }
  const ready = (Date.now() - started) / 1000;
  const rss = Number(fs.readFileSync(`/proc/${daemon.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)![1]) / 1024;

  const latencies: number[] = [];
  const target = path.join(root, "pkg0", "m0.py");
  for (let k = 1; k <= 20; k++) {
    const t0 = process.hrtime.bigint();
    fs.writeFileSync(target, module(0, k));
    for (;;) {
      const idx = (await conn.sendRequest(Methods.definitions, { path: "pkg0/m0.py" })) as { definitions: { qualname: string }[]; hash: string };
      const def = idx.definitions.find((d) => d.qualname === "f0_0") as unknown as { params: { default: string | null }[] };
      if (def && def.params[1]?.default === String(k)) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  console.log(`daemon on a project of ${status.watchedFiles} Python files (${status.indexedFiles} indexed)`);
  console.log(`daemon start to the project watched and indexed (initial index): ${ready.toFixed(2)} s`);
  console.log(`daemon RSS with the project indexed: ${rss.toFixed(0)} MB (goal <= 200 MB)`);
  console.log(`save -> definitions queryable: median ${latencies[10].toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms (goal <= 100 ms)`);
  await conn.sendRequest(Methods.stop);
  conn.dispose();
  fs.rmSync(root, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
