// Peak memory of a traced script against plain Python (issue 15, item 2: nothing kept
// alive). bench/scripts/bigarray.py frees a 400 MB numpy array before making another,
// in a function (`del` of a parameter, a rebound parameter, a local) and at module
// level; untraced its peak RSS is one array plus Python and numpy. Each run is the
// tracer alone (`python python-tracer --log … [--fine] -- bigarray.py`), its peak RSS
// read by a small host-Python wrapper (ru_maxrss of its child); median of RUNS.
// Target: traced / plain within 1.05 in coarse and in fine mode.
//   npm run build && node dist/bench/memory.js [--python PATH] [--runs N] [--n LENGTH]
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const REPO = path.resolve(__dirname, "..", "..");
const TRACER = path.join(REPO, "python-tracer");
const SCRIPT = path.join(REPO, "bench", "scripts", "bigarray.py");
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const PYTHON = flag("--python") || process.env.NOW_PYTHON || "python3";
const RUNS = Number(flag("--runs") || 3);
const N = flag("--n") || "50000000";

const WRAPPER = [
  "import resource, subprocess, sys",
  "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)",
  "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
].join("\n");

function peakKb(args: string[], cwd: string): number {
  const r = spawnSync("python3", ["-c", WRAPPER, PYTHON, ...args], { cwd, encoding: "utf8" });
  const [code, kb] = (r.stdout || "").trim().split(" ").map(Number);
  if (r.status !== 0 || code !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return kb;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bench-mem-"));
fs.copyFileSync(SCRIPT, path.join(dir, "bigarray.py"));
fs.mkdirSync(path.join(dir, ".now"));
const modes: [string, string[]][] = [["plain", []], ["coarse", [TRACER, "--root", dir, "--log", path.join(dir, "log.jsonl"), "--"]],
  ["fine", [TRACER, "--root", dir, "--log", path.join(dir, "log.jsonl"), "--fine", "--"]]];
const peaks = new Map<string, number[]>(modes.map(([m]) => [m, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [m, pre] of modes) peaks.get(m)!.push(peakKb([...pre, "bigarray.py", N], dir));
}
const version = spawnSync(PYTHON, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).stdout.trim();
const plain = median(peaks.get("plain")!);
console.log(`peak RSS of bigarray.py (${(Number(N) * 8 / 1e6).toFixed(0)} MB arrays), Python ${version}, median of ${RUNS}`);
for (const [m] of modes) {
  const p = median(peaks.get(m)!);
  console.log(`${m.padEnd(8)} ${(p / 1024).toFixed(0).padStart(6)} MB   ratio ${(p / plain).toFixed(3)}`);
}
fs.rmSync(dir, { recursive: true, force: true });
