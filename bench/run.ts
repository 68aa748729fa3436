// Overhead of recording a trial, measured in one process.
//
// Default (issues 2 and 3): for each script, plain `python3 script.py` and `now run
// script.py` are run alternately, the median of each is kept, and their ratio printed.
// Also the size of the demo trial's .now/.
//   npm run bench            (or: node dist/bench/run.js [--runs N])
//
// Tracer cores (issue 8): `--cores settrace,sysmon` times the tracer alone (`python
// python-tracer --log … -- script.py`, no node, no ingestion) in coarse and fine mode
// with NOW_TRACER_CORE set, against plain Python, on callheavy, loopheavy, libheavy
// and trivial (the fixed start-up), runs alternating, medians of wall and of CPU
// (user+sys of the child, read by a small host-Python wrapper), and prints the ratios;
// with two cores, also the second against the first.
// `--calls-keep K` is passed to the tracer (default 1000, as the server passes it; 0: every
// activation recorded, as before issue 8's bounded activation storage; fine mode ignores it).
//   node dist/bench/run.js --cores settrace,sysmon [--python PATH] [--runs N] [--scripts a,b] [--calls-keep K]
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const REPO = path.resolve(__dirname, "..", "..");
const NOW = path.join(REPO, "bin", "now.js");
const TRACER = path.join(REPO, "python-tracer");
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const PYTHON = flag("--python") || process.env.NOW_PYTHON || "python3";
const RUNS = Number(flag("--runs") || 7);
const CORES = flag("--cores");
const CALLS_KEEP = flag("--calls-keep") || "1000";

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

function main() {
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
}

// -- tracer cores (issue 8) ---------------------------------------------------------------
// The wrapper runs one command and prints its wall time and its CPU time (user+sys of the
// process tree it waited for), so a loaded machine shows less in the CPU column.
const WRAP = [
  "import resource, subprocess, sys, time",
  "t = time.perf_counter()",
  "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)",
  "w = time.perf_counter() - t",
  "u = resource.getrusage(resource.RUSAGE_CHILDREN)",
  "sys.stderr.buffer.write(r.stderr)",
  "print('%.6f %.6f' % (w, u.ru_utime + u.ru_stime))",
  "sys.exit(r.returncode)",
].join("\n");
const HOST_PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

function timed(cmd: string[], cwd: string, env: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const r = spawnSync(HOST_PYTHON, ["-c", WRAP, ...cmd], { cwd, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${r.stderr}`);
  const [wall, cpu] = r.stdout.trim().split(/\s+/).map(Number);
  return { wall, cpu };
}

type Cell = { wall: number; cpu: number };
const med = (xs: Cell[]): Cell => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });

function benchCores(cores: string[]) {
  const dir = project(path.join(REPO, "bench", "scripts"));
  fs.mkdirSync(path.join(dir, ".git"), { recursive: true });
  const log = path.join(dir, "bench-events.jsonl");
  const env = { ...process.env };
  delete env.NOW_TRACER_CORE;
  const names = (flag("--scripts") || "trivial,callheavy,loopheavy,libheavy").split(",");
  const version = spawnSync(PYTHON, ["--version"], { encoding: "utf8" }).stdout.trim();
  const traced = (script: string, core: string, fine: boolean): Cell => {
    if (fs.existsSync(log)) fs.unlinkSync(log);
    const args = [PYTHON, TRACER, "--root", dir, "--log", log, "--calls-keep", CALLS_KEEP, ...(fine ? ["--fine"] : []), "--", script];
    const cell = timed(args, dir, { ...env, NOW_TRACER_CORE: core });
    const header = JSON.parse(fs.readFileSync(log, "utf8").split("\n", 1)[0]);
    if (header.core !== core) throw new Error(`asked for ${core}, the tracer ran ${header.core} (${header.core_reason})`);
    fs.unlinkSync(log);
    return cell;
  };
  console.log(`tracer alone vs plain ${PYTHON} (${version}), median of ${RUNS} alternating runs, ${os.cpus().length} CPUs`);
  console.log(`wall seconds (CPU seconds, user+sys); ratio = traced / plain; --calls-keep ${CALLS_KEEP}`);
  const rows: Record<string, Record<string, Cell>> = {};
  for (const name of names) {
    const script = `${name}.py`;
    const cells: Record<string, Cell[]> = { plain: [] };
    for (let i = 0; i < RUNS; i++) {
      cells.plain.push(timed([PYTHON, script], dir, env));
      for (const core of cores) {
        for (const fine of [false, true]) {
          const key = `${core} ${fine ? "fine" : "coarse"}`;
          (cells[key] ||= []).push(traced(script, core, fine));
        }
      }
    }
    rows[name] = Object.fromEntries(Object.entries(cells).map(([k, v]) => [k, med(v)]));
  }
  const fmt = (c: Cell, p: Cell) =>
    `${c.wall.toFixed(3)} (${c.cpu.toFixed(3)}) ${(c.wall / p.wall).toFixed(2)}x (${(c.cpu / p.cpu).toFixed(2)}x)`;
  for (const name of names) {
    const r = rows[name];
    console.log(`\n${name}: plain ${r.plain.wall.toFixed(3)} (${r.plain.cpu.toFixed(3)})`);
    for (const core of cores) {
      for (const mode of ["coarse", "fine"]) {
        const key = `${core} ${mode}`;
        console.log(`  ${key.padEnd(16)} ${fmt(r[key], r.plain)}`);
      }
    }
    if (cores.length === 2) {
      for (const mode of ["coarse", "fine"]) {
        const a = r[`${cores[0]} ${mode}`];
        const b = r[`${cores[1]} ${mode}`];
        const over = (x: Cell, k: "wall" | "cpu") => x[k] - r.plain[k];
        console.log(
          `  ${`${cores[1]}/${cores[0]} ${mode}`.padEnd(16)} ${cores[1]} is ${(a.wall / b.wall).toFixed(2)}x faster ` +
            `(CPU ${(a.cpu / b.cpu).toFixed(2)}x; overhead over plain ${(over(a, "wall") / over(b, "wall")).toFixed(2)}x, ` +
            `CPU ${(over(a, "cpu") / over(b, "cpu")).toFixed(2)}x)`,
        );
      }
    }
  }
}

if (CORES) benchCores(CORES.split(","));
else main();
