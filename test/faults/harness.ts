// The fault-injection harness (issue 14): processes, kills, the invariants a round must
// keep, and the tally each scenario prints ("tried N, held N, lost 0"). The scenarios
// themselves are data (scenarios.ts); run.ts plays them; faults.test.ts (light, in
// `npm test`) and faults/heavy.test.ts (`npm run test:faults`) are the entry points.
//
// Everything random comes from one seeded PRNG per round (helpers.rng, seeded with
// roundSeed(scenario seed, round)), so a failing round is replayed alone with
// FAULTS_ONLY=<scenario> FAULTS_SEED=<seed> FAULTS_ROUND=<round>.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import Database from "better-sqlite3";
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import { NOW, PYTHON, REPO } from "../helpers";

export const FIXTURE_DIR = path.join(REPO, "test", "fixtures", "faults");
export const WORKLOAD = path.join(FIXTURE_DIR, "workload.py");
export const TRACER_DIR = path.join(REPO, "python-tracer");

// ---------------------------------------------------------------- the fixture's figures

/** A run of test/fixtures/faults/workload.py: CALLS activations of leaf, recorded with --calls-keep KEEP (0: all). */
export interface Workload { calls: number; keep: number }

/** Activations per function of one complete run (see workload.py). */
export function expectedCalls(calls: number): Record<string, number> {
  const chunks = Math.floor(calls / 100);
  return { "<module>": 1, write_read: 3, chunk: chunks, step: chunks * 10, leaf: chunks * 100 };
}

/** Activation rows a complete run stores: the first KEEP of each function (all with KEEP 0). */
export function expectedActivations(w: Workload): number {
  return Object.values(expectedCalls(w.calls)).reduce((s, n) => s + (w.keep > 0 ? Math.min(n, w.keep) : n), 0);
}

/** The file accesses of a complete run: input.txt read, three writes each read back. */
export const EXPECTED_FILE_ACCESSES = 7;

/** The argv of the workload: calls, exit code, tag (the tag finds the trial again). */
export function workloadArgs(w: Workload, code: number, tag: string): string[] {
  return [String(w.calls), String(code), tag];
}

/** A fresh project: a .git marker, the workload and its input file. */
export function makeProject(prefix: string, base = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(base, prefix));
  fs.mkdirSync(path.join(dir, ".git"));
  fs.copyFileSync(WORKLOAD, path.join(dir, "workload.py"));
  fs.writeFileSync(path.join(dir, "input.txt"), "fault injection input\n");
  return dir;
}

// ---------------------------------------------------------------- processes

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

/** A command we started, its output collected. */
export interface Proc {
  argv: string[];
  cwd: string;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  stdout: string;
  stderr: string;
  /** The process ended (it may still have children holding its pipes). */
  exited: Promise<Exit>;
  /** The process ended and its pipes closed (everything it wrote is in stdout/stderr). */
  closed: Promise<Exit>;
  exit: Exit | null;
  /** Set when the harness had to kill it: what it was doing (from /proc). */
  hangDiag?: string;
}

/** What a stuck process is doing: its state, wait channel, threads, children and open files. */
export function procDiag(pid: number): string {
  const read = (f: string) => { try { return fs.readFileSync(f, "utf8"); } catch { return ""; } };
  const state = /^State:\s+(.*)$/m.exec(read(`/proc/${pid}/status`))?.[1] ?? "gone";
  const threads = /^Threads:\s+(.*)$/m.exec(read(`/proc/${pid}/status`))?.[1] ?? "?";
  const kids = childrenOf(pid).map((c) => `${c} ${read(`/proc/${c}/cmdline`).split("\0").join(" ").trim()}`);
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return `${fd}→${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return fd; } });
  } catch {
    // gone
  }
  return `pid ${pid} state ${state}, wchan ${read(`/proc/${pid}/wchan`) || "?"}, ${threads} threads; children: ${kids.join("; ") || "none"}; fds: ${fds.join(" ")}`;
}

/** Every process this harness started, so a failing test still ends them (by pid). */
const started = new Set<number>();

export function nowEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NOW_PYTHON: PYTHON, ...extra };
}

/** Starts `now ARGS` in cwd (stdin closed, stdout and stderr collected). */
export function startNow(args: string[], cwd: string, env: NodeJS.ProcessEnv = nowEnv()): Proc {
  return startProc(process.execPath, [NOW, ...args], cwd, env);
}

export function startProc(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = nowEnv()): Proc {
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = {
    argv: [cmd === process.execPath ? "now" : cmd, ...(cmd === process.execPath ? args.slice(1) : args)], cwd, child,
    pid: child.pid ?? -1, startedAt: Date.now(), stdout: "", stderr: "", exit: null,
    exited: null as unknown as Promise<Exit>, closed: null as unknown as Promise<Exit>,
  };
  if (child.pid) started.add(child.pid);
  child.stdout!.setEncoding("utf8").on("data", (d: string) => { if (p.stdout.length < 1 << 24) p.stdout += d; });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => { if (p.stderr.length < 1 << 24) p.stderr += d; });
  p.exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => {
      p.exit = { code, signal };
      if (child.pid) started.delete(child.pid);
      resolve(p.exit);
    });
    child.on("error", (e) => {
      p.stderr += `spawn error: ${e.message}\n`;
      p.exit = { code: null, signal: null };
      resolve(p.exit);
    });
  });
  p.closed = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal }));
    child.on("error", () => resolve({ code: null, signal: null }));
  });
  return p;
}

/** How long a `now run` may take before the harness calls it hung (FAULTS_RUN_TIMEOUT_S, default 180 s). */
export const RUN_TIMEOUT_MS = Number(process.env.FAULTS_RUN_TIMEOUT_S || 180) * 1000;

/** Waits for a process to end and its pipes to close; after `ms` it is killed and reported as hung. */
export async function finish(p: Proc, ms: number): Promise<{ exit: Exit; hung: boolean }> {
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref());
  const got = await Promise.race([p.closed, timer]);
  if (got !== "timeout") return { exit: got, hung: false };
  p.hangDiag = p.exit ? `exited ${JSON.stringify(p.exit)} but its pipes stayed open` : procDiag(p.pid);
  killPid(p.pid);
  const exit = await Promise.race([p.exited, new Promise<Exit>((r) => setTimeout(() => r({ code: null, signal: null }), 5000).unref())]);
  return { exit, hung: true };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** kill -9, quietly: false when the process was already gone. */
export function killPid(pid: number): boolean {
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/** Alive and not a zombie (from /proc). */
export function alive(pid: number | null | undefined): boolean {
  if (!pid || pid < 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/** The children of a process (every thread's /proc children list). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (text) out.push(...text.split(/\s+/).map(Number));
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/**
 * The tracer options a traced interpreter was started with (`python script`, the tracer
 * booted through PYTHONPATH: NOW_TRACER_BOOT in its initial environment, which
 * /proc/PID/environ keeps after the boot removed the variable); null for other processes.
 */
export function bootOptions(pid: number): string[] | null {
  try {
    const entry = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((e) => e.startsWith("NOW_TRACER_BOOT="));
    return entry ? JSON.parse(entry.slice("NOW_TRACER_BOOT=".length)) : null;
  } catch {
    return null;
  }
}

/** Live Python tracers started for a project root (their command line, or their boot options, name the root). */
export function tracersOf(root: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("--root");
    const byArgv = i >= 0 && argv[i + 1] === root && argv.some((a) => a === TRACER_DIR || a.endsWith("python-tracer"));
    const boot = bootOptions(Number(name));
    const j = boot ? boot.indexOf("--root") : -1;
    if (!byArgv && !(boot && j >= 0 && boot[j + 1] === root)) continue;
    if (!alive(Number(name))) continue;
    out.push({ pid: Number(name), cmdline: argv.filter(Boolean).join(" ") });
  }
  return out;
}

/** Peak resident set (VmHWM, KiB) of a live process, or null. */
export function peakRssKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Ends every process the harness started that is still running (by pid; used in `finally`). */
export function killStarted(): number {
  let n = 0;
  for (const pid of started) if (killPid(pid)) n++;
  started.clear();
  return n;
}

// ---------------------------------------------------------------- the daemon

export interface DaemonHandle { proc: Proc; root: string; generation: number }

/** `now daemon start` in the background; resolves once its socket answers. */
export async function startDaemon(root: string, generation = 1): Promise<DaemonHandle> {
  const proc = startNow(["daemon", "start", "--idle", "300"], root);
  const sock = path.join(root, ".now", "daemon.sock");
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (proc.exit) break;
    if (fs.existsSync(sock) && (await connects(sock))) return { proc, root, generation };
    await sleep(25);
  }
  throw new Error(`now daemon start did not come up in ${root} (exit ${JSON.stringify(proc.exit)}): ${proc.stderr.slice(-2000)}`);
}

function connects(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** `now daemon stop`, then kill -9 if it has not left within 10 s. Returns what went wrong, if anything. */
export async function stopDaemon(d: DaemonHandle | null): Promise<string | null> {
  if (!d || d.proc.exit) return null;
  const stop = startNow(["daemon", "stop"], d.root);
  const r = await finish(stop, 20_000);
  const left = await Promise.race([d.proc.exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!left) {
    killPid(d.proc.pid);
    await d.proc.exited;
    return `now daemon stop: the daemon (pid ${d.proc.pid}) was still running 10 s later (stop exited ${JSON.stringify(r.exit)}: ${excerpt(stop.stderr + stop.stdout)})`;
  }
  return r.exit.code === 0 ? null : `now daemon stop exited ${JSON.stringify(r.exit)}: ${excerpt(stop.stderr)}`;
}

// ---------------------------------------------------------------- what output may hold

/** A stack trace, an uncaught error or a Python traceback in a command's stderr (or a log). */
export function stackIn(text: string): string | null {
  const patterns = [
    /^\s+at .*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))\s*$/m, // a V8 stack frame on its own line
    /\bat (?:async )?[\w$.<>\[\] ]+ \((?:node:|file:|\/)[^)]*:\d+:\d+\)/, // a frame folded into one line (daemon.log)
    /uncaught|unhandled/i,
    /FATAL ERROR|JavaScript heap out of memory/,
    /^Traceback \(most recent call last\)/m,
    /^Exception ignored in/m,
  ];
  for (const p of patterns) {
    const m = p.exec(text);
    if (m) return excerptAround(text, m.index);
  }
  return null;
}

/** The lines of .now/daemon.log that report an uncaught error or carry a stack. */
export function daemonLogProblems(root: string): string[] {
  const file = path.join(root, ".now", "daemon.log");
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => /uncaught|unhandled/i.test(l) || /Error:.*\bat\s/.test(l) || stackIn(l) !== null);
}

/** The last `n` characters of a text, for a report. */
export function excerpt(text: string, n = 1200): string {
  const t = text.trim();
  return t.length <= n ? t : `…${t.slice(t.length - n)}`;
}

function excerptAround(text: string, at: number, n = 1200): string {
  const from = Math.max(0, text.lastIndexOf("\n", Math.max(0, at - 300)) + 1);
  return text.slice(from, from + n).trim();
}

/** The one-line summary `now run` ends with: its trial number, or null. */
export function summaryTrial(stderr: string): number | null {
  const m = /^now: trial (\d+) .*\(now show (\d+)\)\s*$/m.exec(stderr);
  return m && m[1] === m[2] ? Number(m[1]) : null;
}

// ---------------------------------------------------------------- the store

export interface TrialFacts {
  id: number;
  uuid: string;
  status: string;
  exit_code: number | null;
  signal: string | null;
  /** trial.incomplete (schema 3): why the record is not whole; null when it is (or the column does not exist yet). */
  incomplete: string | null;
  activations: number;
  fileAccesses: { path: string; mode: string }[];
  calls: Record<string, number | null>;
  logLeft: boolean;
  /** When the log is left: its size and whether its last line is the tracer's `end` event. */
  logBytes: number;
  logHasEnd: boolean;
}

/** The last complete line of a file is an `end` event (the tracer finished its log). */
function endsWithEnd(file: string): boolean {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const n = Math.min(size, 4096);
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      const lines = buf.toString("utf8").split("\n").filter(Boolean);
      return lines.length > 0 && lines[lines.length - 1].startsWith('{"e":"end"');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Opens the project's store read-only (waits out a writer). */
export function openStore(root: string): Database.Database {
  const db = new Database(path.join(root, ".now", "db.sqlite"), { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 10000");
  return db;
}

/** What the store holds of the trial whose argv carries `tag`, or null. */
export function trialByTag(root: string, tag: string): TrialFacts | null {
  const db = openStore(root);
  try {
    const rows = db.prepare("SELECT id FROM trial WHERE json_extract(argv, '$[3]') = ?").all(tag) as { id: number }[];
    if (rows.length > 1) throw new Error(`${rows.length} trials carry the tag ${tag}: ${rows.map((r) => r.id).join(", ")}`);
    return rows.length ? trialFacts(db, root, rows[0].id) : null;
  } finally {
    db.close();
  }
}

export function trialFacts(db: Database.Database, root: string, id: number): TrialFacts {
  const row = db.prepare("SELECT * FROM trial WHERE id = ?").get(id) as Record<string, unknown>;
  const t = {
    id: row.id as number, uuid: row.uuid as string, status: row.status as string, exit_code: row.exit_code as number | null,
    signal: row.signal as string | null, incomplete: (row.incomplete as string | null | undefined) ?? null,
  };
  const activations = (db.prepare("SELECT count(*) AS n FROM activation WHERE trial_id = ?").get(id) as { n: number }).n;
  const fileAccesses = db.prepare("SELECT path, mode FROM file_access WHERE trial_id = ? ORDER BY id").all(id) as { path: string; mode: string }[];
  const calls: Record<string, number | null> = {};
  for (const c of db.prepare("SELECT qualname, calls FROM code WHERE trial_id = ?").all(id) as { qualname: string; calls: number | null }[]) {
    calls[c.qualname] = c.calls;
  }
  const log = path.join(root, ".now", "trials", t.uuid, "events.jsonl");
  const logLeft = fs.existsSync(log);
  const logBytes = logLeft ? fs.statSync(log).size : 0;
  return { ...t, activations, fileAccesses, calls, logLeft, logBytes, logHasEnd: logLeft && endsWithEnd(log) };
}

/** Every trial's id, status and activation count. */
export function allTrials(root: string): { id: number; uuid: string; status: string; activations: number }[] {
  const db = openStore(root);
  try {
    return db.prepare(
      "SELECT t.id, t.uuid, t.status, (SELECT count(*) FROM activation a WHERE a.trial_id = t.id) AS activations FROM trial t ORDER BY t.id",
    ).all() as { id: number; uuid: string; status: string; activations: number }[];
  } finally {
    db.close();
  }
}

/** PRAGMA integrity_check: "ok" when sound. */
export function integrityCheck(root: string): string {
  const db = openStore(root);
  try {
    const rows = db.pragma("integrity_check") as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** Why a trial is not the complete record of the workload ending with `code` ([] when it is). */
export function completeProblems(t: TrialFacts, w: Workload, code: number, tag: string): string[] {
  const p: string[] = [];
  const status = code === 0 ? "finished" : "failed";
  if (t.status !== status) p.push(`status ${t.status}, expected ${status}`);
  if (t.exit_code !== code) p.push(`exit_code ${t.exit_code}, expected ${code}`);
  if (t.incomplete !== null) p.push(`marked incomplete: ${t.incomplete}`);
  const acts = expectedActivations(w);
  if (t.activations !== acts) p.push(`${t.activations} activations stored, expected ${acts}`);
  for (const [name, n] of Object.entries(expectedCalls(w.calls))) {
    if (t.calls[name] !== n) p.push(`${name}: calls ${t.calls[name] ?? "missing"}, expected ${n}`);
  }
  if (t.fileAccesses.length !== EXPECTED_FILE_ACCESSES) p.push(`${t.fileAccesses.length} file accesses, expected ${EXPECTED_FILE_ACCESSES}`);
  if (!t.fileAccesses.some((f) => f.path.endsWith("input.txt") && f.mode.startsWith("r"))) p.push("no read of input.txt recorded");
  if (!t.fileAccesses.some((f) => f.path.endsWith(`${tag}-a.txt`) && f.mode.startsWith("w"))) p.push(`no write of out/${tag}-a.txt recorded`);
  if (t.logLeft) p.push(`its event log is still there (.now/trials/${t.uuid}/events.jsonl, ${t.logBytes} bytes) although it is ${t.status}`);
  return p;
}

/**
 * A trial whose run was cut short (its `now run` killed, a full disk): it may end finished
 * or failed only with every row, or marked incomplete, or interrupted, with at most the
 * workload's rows.
 */
export function endedProblems(t: TrialFacts, w: Workload, code: number, tag: string): string[] {
  if ((t.status === "finished" || t.status === "failed") && t.incomplete === null) return completeProblems(t, w, code, tag);
  const p = partialProblems(t, w);
  if ((t.status === "finished" || t.status === "failed") && t.exit_code !== code) p.push(`${t.status} with exit_code ${t.exit_code}, the script's was ${code}`);
  if (!["finished", "failed", "interrupted"].includes(t.status)) p.push(`status ${t.status}`);
  return p;
}

/** Why a trial cut short (killed) is not a sound part of the workload ([] when it is). */
export function partialProblems(t: TrialFacts, w: Workload): string[] {
  const p: string[] = [];
  if (t.status === "running") p.push("still marked running after every process of its round ended and `now list` ran");
  const acts = expectedActivations(w);
  if (t.activations > acts) p.push(`${t.activations} activations stored, more than the ${acts} the workload makes (replayed twice?)`);
  if (t.fileAccesses.length > EXPECTED_FILE_ACCESSES) p.push(`${t.fileAccesses.length} file accesses, more than ${EXPECTED_FILE_ACCESSES}`);
  if (t.status !== "running" && t.logLeft) {
    p.push(t.logHasEnd
      ? `LOST: its event log (.now/trials/${t.uuid}/events.jsonl, ${t.logBytes} bytes) holds the whole run, up to its end event, ` +
        `but the trial was marked ${t.status} with ${t.activations} activations (recovered while its tracer was still writing?)`
      : `its event log is still there (.now/trials/${t.uuid}/events.jsonl, ${t.logBytes} bytes) although it is ${t.status}`);
  }
  return p;
}

// ---------------------------------------------------------------- readers

export const READERS: string[][] = [
  ["list", "--json"],
  ["show", "--json"],
  ["query", "--json", "SELECT id, status, exit_code FROM trial ORDER BY id"],
  ["history", "--format", "json"],
];

/**
 * Starts the readers at once; returns what is wrong with each ([] when all exit 0 with JSON
 * and no stack). `lenient` (a full disk): a reader may also refuse with one `now: …` line
 * and a non-zero exit; those are counted in `refused` with the line.
 */
export async function runReaders(cwd: string, readers = READERS, lenient = false): Promise<{ problems: string[]; ran: number; refused: string[] }> {
  const procs = readers.map((args) => startNow(args, cwd));
  const problems: string[] = [];
  const refused: string[] = [];
  for (const p of procs) {
    const { exit, hung } = await finish(p, 60_000);
    const line = p.argv.join(" ");
    const oneLine = /^now: [^\n]*\n?$/.test(p.stderr);
    if (hung) problems.push(`\`${line}\` hung (killed after 60 s): ${p.hangDiag}`);
    else if (exit.code !== 0 && lenient && oneLine) refused.push(`\`${line}\` exited ${exit.code}: ${p.stderr.trim()}`);
    else if (exit.code !== 0) problems.push(`\`${line}\` exited ${exit.code ?? exit.signal}: ${excerpt(p.stderr, 800)}`);
    else {
      try {
        JSON.parse(p.stdout);
      } catch (e) {
        problems.push(`\`${line}\` printed unparseable JSON (${(e as Error).message}): ${excerpt(p.stdout, 300)}`);
      }
    }
    const stack = stackIn(p.stderr);
    if (stack) problems.push(`\`${line}\` printed a stack on stderr: ${stack}`);
  }
  return { problems, ran: procs.length, refused };
}

// ---------------------------------------------------------------- the tally

export interface Failure { round: number | null; what: string; detail: string }

/** What a scenario tried and what held; failures keep what is needed to replay them. */
export class Tally {
  tried = 0;
  held = 0;
  checks = 0;
  readonly failures: Failure[] = [];
  readonly notes: string[] = [];
  readonly counts: Record<string, number> = {};
  readonly started = Date.now();

  constructor(readonly scenario: string, readonly seed: number, readonly reproduce: (round: number | null) => string) {}

  count(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** One check of the scenario (not a trial): false is a failure. */
  check(ok: boolean, round: number | null, what: string, detail = ""): boolean {
    this.checks++;
    if (!ok) this.failures.push({ round, what, detail });
    return ok;
  }

  /** One trial and what is wrong with it: held when nothing is. */
  trial(round: number | null, label: string, problems: string[], context: string): boolean {
    this.tried++;
    this.checks++;
    if (problems.length === 0) {
      this.held++;
      return true;
    }
    this.failures.push({ round, what: `trial lost or wrong (${label})`, detail: `${problems.join("; ")}\n${context}` });
    return false;
  }

  note(s: string): void {
    this.notes.push(s);
  }

  get lost(): number {
    return this.tried - this.held;
  }

  line(): string {
    return `tried ${this.tried}, held ${this.held}, lost ${this.lost}`;
  }

  /** The scenario's report: counts, notes, failures grouped by kind with rounds, seeds and how to replay. */
  report(): string {
    const out: string[] = [];
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    const counts = Object.entries(this.counts).map(([k, v]) => `${k} ${v}`).join(", ");
    out.push(`faults: ${this.scenario} (seed ${this.seed}, ${secs} s): ${this.line()}; checks ${this.checks - this.failures.length}/${this.checks} passed${counts ? `; ${counts}` : ""}`);
    for (const n of this.notes) out.push(`  note: ${n}`);
    const groups = new Map<string, Failure[]>();
    for (const f of this.failures) {
      const key = f.what;
      groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    for (const [what, fs_] of groups) {
      const rounds = fs_.map((f) => f.round).filter((r) => r !== null);
      out.push(`  FAILED ${fs_.length}×: ${what}${rounds.length ? ` (rounds ${rounds.join(", ")})` : ""}`);
      for (const f of fs_.slice(0, 3)) {
        out.push(`    round ${f.round ?? "-"}: ${f.detail.split("\n").join("\n      ")}`);
        out.push(`    reproduce: ${this.reproduce(f.round)}`);
      }
      if (fs_.length > 3) out.push(`    … and ${fs_.length - 3} more like it`);
    }
    return out.join("\n");
  }
}

/** The seed of one round: the scenario's seed and the round number, mixed. */
export function roundSeed(seed: number, round: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b)) >>> 0;
}

/** Whether a user namespace with its own mounts can be made here (`unshare -rm`, tmpfs). */
export function namespaceProblem(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-faults-ns-"));
  try {
    const r = spawnSync("unshare", ["-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && touch "$1/x"', "sh", dir], { encoding: "utf8" });
    if (r.error) return `unshare: ${r.error.message}`;
    return r.status === 0 ? null : `unshare -rm + mount -t tmpfs refused (exit ${r.status}): ${r.stderr.trim()}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
