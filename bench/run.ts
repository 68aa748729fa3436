// Overhead of recording a trial, measured in one process: for each script, plain
// `python3 script.py` and `now run script.py` are run alternately, the median of each is
// kept, and their ratio printed. Also the size of the demo trial's .now/.
//   npm run bench            (or: node dist/bench/run.js [--runs N])
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const REPO = path.resolve(__dirname, "..", "..");
const NOW = path.join(REPO, "bin", "now.js");
const PYTHON = process.env.NOW_PYTHON || "python3";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

function time(cmd: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NOW_PYTHON: PYTHON } });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return elapsed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function project(files: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bench-"));
  fs.cpSync(files, dir, { recursive: true });
  fs.mkdirSync(path.join(dir, ".now"));
  return dir;
}

function measure(name: string, dir: string, script: string, args: string[], fine = false) {
  const plain: number[] = [];
  const traced: number[] = [];
  const fined: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(time(PYTHON, [script, ...args], dir));
    traced.push(time(process.execPath, [NOW, "run", script, ...args], dir));
    if (fine) fined.push(time(process.execPath, [NOW, "run", "--fine", script, ...args], dir));
  }
  const p = median(plain);
  const t = median(traced);
  const f = fine ? median(fined) : null;
  return { name, plain: p, traced: t, ratio: t / p, overhead: t - p, fine: f };
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return total;
}

const demo = project(path.join(REPO, "examples", "precipitation"));
const scripts = project(path.join(REPO, "bench", "scripts"));
const rows = [
  measure("trivial", scripts, "trivial.py", []),
  measure("demo (experiment.py 2013 2014)", demo, "experiment.py", ["2013", "2014"], true),
  measure("callheavy", scripts, "callheavy.py", []),
  measure("loopheavy", scripts, "loopheavy.py", [], true),
  measure("libheavy", scripts, "libheavy.py", []),
];
const pyVersion = spawnSync(PYTHON, ["--version"], { encoding: "utf8" }).stdout.trim();
console.log(`now run vs ${PYTHON} (${pyVersion}), median of ${RUNS} alternating runs, ${os.cpus().length} CPUs`);
console.log("script".padEnd(34) + "plain s".padStart(9) + "now run s".padStart(11) + "ratio".padStart(8) + "overhead s".padStart(12));
for (const r of rows) {
  console.log(r.name.padEnd(34) + r.plain.toFixed(3).padStart(9) + r.traced.toFixed(3).padStart(11) +
    (r.ratio.toFixed(2) + "x").padStart(8) + r.overhead.toFixed(3).padStart(12));
}
console.log("\nfine mode (now run --fine):");
console.log("script".padEnd(34) + "fine s".padStart(9) + "vs plain".padStart(10) + "vs coarse".padStart(11));
for (const r of rows) {
  if (r.fine === null) continue;
  console.log(r.name.padEnd(34) + r.fine.toFixed(3).padStart(9) + ((r.fine / r.plain).toFixed(2) + "x").padStart(10) +
    ((r.fine / r.traced).toFixed(2) + "x").padStart(11));
}
// A loop of 10^6 iterations in fine mode: what it adds to .now/ (goal: under 2 MB).
const loop = project(path.join(REPO, "bench", "scripts"));
time(process.execPath, [NOW, "run", "trivial.py"], loop);
const before = dirSize(path.join(loop, ".now"));
const loopTime = time(process.execPath, [NOW, "run", "--fine", "loop1e6.py"], loop);
const added = dirSize(path.join(loop, ".now")) - before;
console.log(`10^6-iteration loop, fine: ${loopTime.toFixed(2)} s, adds ${(added / 1024).toFixed(0)} KiB to .now/ (goal < 2048 KiB)`);
// One demo trial alone, for the size goal.
const single = project(path.join(REPO, "examples", "precipitation"));
time(process.execPath, [NOW, "run", "experiment.py", "2013", "2014"], single);
console.log(`.now/ after one demo trial: ${(dirSize(path.join(single, ".now")) / 1024).toFixed(0)} KiB`);
