// Plays the scenarios of scenarios.ts: one function per kind, each returning the Tally
// that faults.test.ts and faults/heavy.test.ts print and assert on.
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { NOW, rng, REPO } from "../helpers";
import {
  allTrials, completeProblems, daemonLogProblems, excerpt, finish, integrityCheck, killPid, killStarted, makeProject,
  namespaceProblem, partialProblems, peakRssKiB, roundSeed, runReaders, sleep, stackIn, startDaemon, startNow, stopDaemon,
  summaryTrial, Tally, tracersOf, bootOptions, trialByTag, alive, childrenOf, workloadArgs, expectedActivations, endedProblems, type DaemonHandle, type Proc, type TrialFacts,
  type Workload, RUN_TIMEOUT_MS, startProc,
} from "./harness";
import type { BigTrialScenario, ConcurrentScenario, DiskFullScenario, KillScenario, Scenario } from "./scenarios";

/** How the suite is started, for the "reproduce:" lines. */
export interface Suite { name: "light" | "heavy"; command: string }

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function runScenario(s: Scenario, suite: Suite): Promise<Tally> {
  const tally = new Tally(s.name, s.seed, (round) =>
    `FAULTS_ONLY=${s.name} FAULTS_SEED=${s.seed}${round === null ? "" : ` FAULTS_ROUND=${round}`} ${suite.command}`);
  log(`faults: ${s.name} (${suite.name}, ${s.kind}, seed ${s.seed}) …`);
  try {
    if (s.kind === "kill") await playKill(s, tally);
    else if (s.kind === "concurrent") await playConcurrent(s, tally);
    else if (s.kind === "diskfull") await playDiskFull(s, tally);
    else await playBigTrial(s, tally);
  } catch (e) {
    tally.check(false, null, "the harness itself failed", (e as Error).stack ?? String(e));
  } finally {
    const n = killStarted();
    if (n) tally.note(`${n} process(es) the harness started were still running at the end and were killed`);
  }
  log(tally.report());
  return tally;
}

/** The rounds to play: all, or the one FAULTS_ROUND names. */
function rounds(n: number): number[] {
  if (process.env.FAULTS_ROUND !== undefined && process.env.FAULTS_ROUND !== "") return [Number(process.env.FAULTS_ROUND)];
  return Array.from({ length: n }, (_, i) => i);
}

const describe = (w: Workload) => `${w.calls} calls, --calls-keep ${w.keep}`;
const runArgs = (w: Workload, code: number, tag: string, script = "workload.py") =>
  ["run", "--calls-keep", String(w.keep), script, ...workloadArgs(w, code, tag)];

/** The project folder is removed when everything held (FAULTS_KEEP=1 keeps it). */
function cleanup(root: string, tally: Tally): void {
  if (tally.failures.length || process.env.FAULTS_KEEP === "1") tally.note(`project kept for inspection: ${root}`);
  else fs.rmSync(root, { recursive: true, force: true });
}

/** Waits until no tracer of the root runs, at most `ms`; returns the ones still running. */
async function tracersGone(root: string, ms: number): Promise<{ pid: number; cmdline: string }[]> {
  const until = Date.now() + ms;
  let left = tracersOf(root);
  while (left.length && Date.now() < until) {
    await sleep(50);
    left = tracersOf(root);
  }
  return left;
}

/** What is wrong with a `now run` that was not killed and should have run its script to its end. */
function unkilledRunProblems(p: Proc, exit: { code: number | null; signal: string | null }, hung: boolean, expectedExit: number, t: TrialFacts | null): string[] {
  const problems: string[] = [];
  if (hung) problems.push(`\`now run\` hung (killed by the harness after ${RUN_TIMEOUT_MS / 1000} s): ${p.hangDiag}`);
  if (exit.code !== expectedExit) problems.push(`\`now run\` exited ${exit.code ?? exit.signal}, its script ${expectedExit}`);
  const n = summaryTrial(p.stderr);
  if (n === null) problems.push("no one-line summary `now: trial N … (now show N)` on stderr");
  else if (t && n !== t.id) problems.push(`the summary names trial ${n}, the trial is ${t.id}`);
  const stack = stackIn(p.stderr);
  if (stack) problems.push(`stack on stderr: ${stack}`);
  if (!t) problems.push("no trial carries its tag");
  return problems;
}

function context(cmd: string, extra: string, p?: Proc): string {
  const lines = [`command: (cd <project> && ${cmd})`];
  if (extra) lines.push(extra);
  if (p) lines.push(`stderr: ${excerpt(p.stderr, 800) || "(empty)"}`);
  return lines.join("\n");
}

/** The checks every scenario ends with. `verified`: complete trials seen earlier, with their activation counts. */
async function endChecks(
  root: string, tally: Tally, verified: Map<number, number>, daemons: DaemonHandle[],
  seen: Map<number, { status: string; activations: number; round: number | null }> = new Map(),
): Promise<void> {
  const list = startNow(["list", "--json"], root);
  const { exit } = await finish(list, 60_000);
  tally.check(exit.code === 0 && !stackIn(list.stderr), null, "`now list` at the end failed", `exit ${exit.code}: ${excerpt(list.stderr)}`);
  const trials = allTrials(root);
  const byId = new Map(trials.map((t) => [t.id, t]));
  const running = trials.filter((t) => t.status === "running");
  tally.check(running.length === 0, null, "trials still marked running at the end", running.map((t) => `trial ${t.id}`).join(", "));
  for (const [id, activations] of verified) {
    const t = byId.get(id);
    tally.check(!!t && t.activations === activations, null, "a trial verified complete earlier was lost or changed",
      t ? `trial ${id}: ${t.activations} activations now, ${activations} when it ended (status ${t.status})` : `trial ${id} is gone`);
  }
  // A trial checked when its round ended must not change afterwards (someone still writing to an ended trial).
  for (const [id, was] of seen) {
    const t = byId.get(id);
    if (!t || verified.has(id)) continue;
    tally.check(t.status === was.status && t.activations === was.activations, was.round, "a trial changed after its round had ended",
      `trial ${id}: ${was.status} with ${was.activations} activations when its round ended, ${t.status} with ${t.activations} at the end of the scenario`);
  }
  const logsLeft = trials.filter((t) => t.status !== "running" && fs.existsSync(path.join(root, ".now", "trials", t.uuid, "events.jsonl")));
  tally.check(logsLeft.length === 0, null, "event logs left for ended trials",
    logsLeft.map((t) => `trial ${t.id} (${t.status}): .now/trials/${t.uuid}/events.jsonl`).join("\n"));
  // `now gc` (removes event logs whose every line is in the store): it must run; what it leaves is noted.
  const gc = startNow(["gc", "--json"], root);
  const gcEnd = await finish(gc, 120_000);
  tally.check(gcEnd.exit.code === 0 && !stackIn(gc.stderr), null, "`now gc` at the end failed", `exit ${gcEnd.exit.code}: ${excerpt(gc.stderr)}`);
  if (logsLeft.length) {
    const still = logsLeft.filter((t) => fs.existsSync(path.join(root, ".now", "trials", t.uuid, "events.jsonl")));
    tally.note(`after \`now gc\`: ${still.length} of the ${logsLeft.length} event logs left for ended trials remain${still.length ? ` (trials ${still.map((t) => t.id).join(", ")})` : ""}`);
  }
  const integrity = integrityCheck(root);
  tally.check(integrity === "ok", null, "PRAGMA integrity_check is not ok", integrity.slice(0, 2000));
  const logProblems = daemonLogProblems(root);
  tally.check(logProblems.length === 0, null, ".now/daemon.log reports uncaught errors or stacks", logProblems.slice(0, 5).join("\n"));
  for (const d of daemons) {
    const stack = stackIn(d.proc.stderr);
    tally.check(!stack, null, "a daemon printed a stack on stderr", `daemon #${d.generation} (pid ${d.proc.pid}): ${stack}`);
  }
  const orphans = tracersOf(root);
  tally.check(orphans.length === 0, null, "tracer processes left running at the end", orphans.map((o) => `${o.pid}: ${o.cmdline}`).join("\n"));
  for (const o of orphans) killPid(o.pid);
  tally.count("trials in store", trials.length);
}

// ---------------------------------------------------------------- kill -9

async function playKill(s: KillScenario, tally: Tally): Promise<void> {
  const root = makeProject(`nowls-faults-${s.name}-`);
  const daemons: DaemonHandle[] = [];
  const st: { daemon: DaemonHandle | null } = { daemon: null };
  const verified = new Map<number, number>();
  const seen = new Map<number, { status: string; activations: number; round: number | null }>();
  const ensureDaemon = async (round: number | null) => {
    if (!s.daemon) return;
    if (st.daemon && !st.daemon.proc.exit) return;
    st.daemon = await startDaemon(root, daemons.length + 1);
    daemons.push(st.daemon);
    if (round !== null && daemons.length > 1) tally.count("daemon restarts");
  };
  try {
    await ensureDaemon(null);
    // Calibration: one untouched run of each workload, timed; each is a trial that must hold.
    // The tracer's lifetime (from the start of `now run`) is timed too: kill points for the
    // tracer are drawn over it, the others over the whole run.
    const durations = new Map<Workload, number>();
    const tracerSpans = new Map<Workload, [number, number]>();
    for (const [i, w] of s.workloads.entries()) {
      const tag = `${s.name}-cal${i}`;
      const code = (i + 1) % 6;
      const t0 = Date.now();
      const p = startNow(runArgs(w, code, tag), root);
      let tracerFrom = 0;
      let tracerTo = 0;
      const watch = setInterval(() => {
        const up = childrenOf(p.pid).some(isTracer);
        if (up && !tracerFrom) tracerFrom = Date.now() - t0;
        if (up) tracerTo = Date.now() - t0;
      }, 2);
      const { exit, hung } = await finish(p, RUN_TIMEOUT_MS);
      clearInterval(watch);
      durations.set(w, Date.now() - t0);
      tracerSpans.set(w, tracerFrom ? [tracerFrom, Math.max(tracerTo, tracerFrom + 1)] : [0, Date.now() - t0]);
      const t = trialByTag(root, tag);
      const problems = [...unkilledRunProblems(p, exit, hung, code, t), ...(t ? completeProblems(t, w, code, tag) : [])];
      if (!p.stdout.includes(`done ${tag} `)) problems.push("the script's last line is not on stdout");
      if (tally.trial(null, `calibration, ${describe(w)}`, problems, context(p.argv.join(" "), "", p)) && t) verified.set(t.id, t.activations);
    }
    log(`  calibrated: ${[...durations].map(([w, ms]) => `${describe(w)}: ${ms} ms (tracer ${tracerSpans.get(w)!.join("–")} ms)`).join("; ")}`);

    for (const round of rounds(s.rounds)) {
      const rand = rng(roundSeed(s.seed, round));
      const w = s.workloads[Math.floor(rand() * s.workloads.length)];
      const code = Math.floor(rand() * 6);
      const frac = 0.03 + 0.94 * rand();
      const [from, to] = s.target === "tracer" ? tracerSpans.get(w)! : [0, durations.get(w)!];
      const delay = s.at ? Math.round(rand() * s.at.windowMs) : Math.round(from + frac * (to - from));
      const tag = `${s.name}-r${round}`;
      if (s.daemon && st.daemon && st.daemon.proc.exit) {
        const d: DaemonHandle = st.daemon;
        tally.check(false, round, "the daemon died by itself (not killed by the harness)",
          `daemon #${d.generation} pid ${d.proc.pid} exit ${JSON.stringify(d.proc.exit)}; stderr: ${excerpt(d.proc.stderr, 600)}\ndaemon.log: ${tail(root)}`);
      }
      await ensureDaemon(round);
      const cmd = runArgs(w, code, tag);
      const p = startNow(cmd, root);
      if (s.at) {
        // Aimed: from the moment the tracer process (or the trial's folder) appears.
        const until = Date.now() + 20_000;
        const trialsDir = path.join(root, ".now", "trials");
        const before = new Set(fs.existsSync(trialsDir) ? fs.readdirSync(trialsDir) : []);
        const appeared = () => s.at!.after === "tracer-start"
          ? childrenOf(p.pid).some(isTracer)
          : fs.existsSync(trialsDir) && fs.readdirSync(trialsDir).some((d) => !before.has(d));
        while (!p.exit && Date.now() < until && !appeared()) await sleep(1);
      }
      await sleep(delay);
      let landed = false;
      let what = "";
      let tracerStarted = true;
      if (s.target === "tracer") {
        // The tracer: the child of `now run` whose command line is the tracer's (waited for if not started yet).
        let pid: number | undefined;
        const until = Date.now() + 10_000;
        while (!p.exit && Date.now() < until) {
          pid = childrenOf(p.pid).find((c) => alive(c) && isTracer(c));
          if (pid) break;
          await sleep(5);
        }
        if (pid && alive(pid)) {
          landed = killPid(pid);
          what = `tracer pid ${pid}`;
        }
      } else if (s.target === "runner") {
        tracerStarted = childrenOf(p.pid).some(isTracer);
        if (!p.exit && alive(p.pid)) {
          landed = killPid(p.pid);
          what = `now run pid ${p.pid}`;
        }
      } else if (st.daemon && !p.exit && alive(st.daemon.proc.pid)) {
        landed = killPid(st.daemon.proc.pid);
        what = `daemon pid ${st.daemon.proc.pid}`;
      }
      const at = Date.now() - p.startedAt;
      tally.count(landed ? `${s.target} kills landed` : "kills missed (process already gone)");
      const how = `round ${round}: seed ${roundSeed(s.seed, round)}, ${describe(w)}, exit code ${code}, kill -9 of the ${s.target} drawn at ${delay} ms${s.at ? ` after the ${s.at.after === "tracer-start" ? "tracer started" : "trial's folder appeared"}` : ""}, ${landed ? `landed at ${at} ms (${what})` : `missed (at ${at} ms)`}`;

      // Four readers at once, while the orphan (if any) waits to be recovered.
      const readers = await runReaders(root);
      tally.count("readers run", readers.ran);
      tally.check(readers.problems.length === 0, round, "a reader failed after the kill", `${readers.problems.join("\n")}\n${how}`);

      const runnerKilled = s.target === "runner" && landed;
      let exit = { code: null as number | null, signal: null as string | null };
      let hung = false;
      if (runnerKilled) {
        await p.exited;
        // The tracer may go on with the script (traced or not) but must not outlive it for long.
        const left = await tracersGone(root, Math.max(20_000, 5 * durations.get(w)!));
        tally.check(left.length === 0, round, "a tracer outlived its killed `now run`",
          `${left.map((o) => `${o.pid}: ${o.cmdline}`).join("\n")}\n${how}`);
        for (const o of left) killPid(o.pid);
      } else {
        ({ exit, hung } = await finish(p, RUN_TIMEOUT_MS));
      }
      if (landed && s.target === "daemon") st.daemon = null;
      // A last reader recovers what is left to recover.
      const last = startNow(["list", "--json"], root);
      const lastExit = await finish(last, 60_000);
      tally.check(lastExit.exit.code === 0 && !stackIn(last.stderr), round, "`now list` after the round failed", `exit ${lastExit.exit.code}: ${excerpt(last.stderr)}\n${how}`);

      const t = trialByTag(root, tag);
      const problems: string[] = [];
      if (runnerKilled && !t && !tracerStarted) {
        // Killed while starting, before its trial row existed: nothing was recorded, nothing is lost.
        tally.count("runner kills before its trial existed");
        tally.checks++;
        log(`  r${round}: ${describe(w)}, code ${code}, runner killed at ${at} ms, before its trial existed (no tracer started) → nothing to recover`);
        continue;
      }
      if (runnerKilled) {
        if (!t) problems.push("no trial carries its tag although its tracer had started");
        else problems.push(...endedProblems(t, w, code, tag));
        if (t) tally.count(`killed runs recovered as ${t.status}${t.incomplete !== null ? " (marked incomplete)" : ""}`);
      } else if (s.target === "tracer" && landed) {
        // Killed after it wrote its log's end (the script had ended): the trial may say how
        // the script ended, with every row; `now run` then says the script's code or 137.
        const ended = !!t && (t.status === "finished" || t.status === "failed") && t.incomplete === null;
        problems.push(...unkilledRunProblems(p, exit, hung, ended && exit.code === code ? code : 137, t));
        if (t && ended) {
          problems.push(...completeProblems(t, w, code, tag));
          tally.count("tracer kills after its log's end");
        } else if (t) {
          if (t.status !== "interrupted") problems.push(`status ${t.status}${t.incomplete !== null ? " (incomplete)" : ""}, expected interrupted (its tracer was killed)`);
          problems.push(...partialProblems(t, w));
        }
      } else {
        problems.push(...unkilledRunProblems(p, exit, hung, code, t));
        if (t) problems.push(...completeProblems(t, w, code, tag));
        if (!p.stdout.includes(`done ${tag} `)) problems.push("the script's last line is not on stdout");
      }
      const orphans = tracersOf(root);
      if (orphans.length) {
        problems.push(`tracer(s) still running after the round: ${orphans.map((o) => `${o.pid}: ${o.cmdline}`).join("; ")}`);
        for (const o of orphans) killPid(o.pid);
      }
      if (t) seen.set(t.id, { status: t.status, activations: t.activations, round });
      const held = tally.trial(round, `${s.target} killed`, problems, context(cmd.map((a) => a).join(" ").replace(/^/, "now "), how, p));
      if (held && t && (t.status === "finished" || t.status === "failed")) verified.set(t.id, t.activations);
      log(`  r${round}: ${describe(w)}, code ${code}, ${s.target} ${landed ? `killed at ${at} ms` : "kill missed"}` +
        ` → trial ${t ? `${t.id} ${t.status}${t.incomplete !== null ? " (incomplete)" : ""}, ${t.activations}/${expectedActivations(w)} activations` : "none"}` +
        `${runnerKilled ? "" : `, now run exited ${exit.code ?? exit.signal}`}${held ? "" : ` — FAILED: ${problems.join("; ")}`}`);
    }
    if (s.daemon && st.daemon && st.daemon.proc.exit) {
      tally.check(false, null, "the daemon died by itself (not killed by the harness)", tail(root));
    }
    const stopProblem = await stopDaemon(st.daemon);
    tally.check(stopProblem === null, null, "the daemon did not stop cleanly", stopProblem ?? "");
    await endChecks(root, tally, verified, daemons, seen);
  } finally {
    for (const d of daemons) if (!d.proc.exit) killPid(d.proc.pid);
    cleanup(root, tally);
  }
}

function isTracer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("python-tracer") || bootOptions(pid) !== null;
  } catch {
    return false;
  }
}

function tail(root: string, n = 1500): string {
  try {
    return excerpt(fs.readFileSync(path.join(root, ".now", "daemon.log"), "utf8"), n);
  } catch {
    return "(no daemon.log)";
  }
}

// ---------------------------------------------------------------- concurrent runs with a daemon

async function playConcurrent(s: ConcurrentScenario, tally: Tally): Promise<void> {
  const root = makeProject(`nowls-faults-${s.name}-`);
  const daemons: DaemonHandle[] = [];
  const verified = new Map<number, number>();
  try {
    // The store exists before the daemon starts (as in a project with history).
    const first = startNow(runArgs(s.workloads[0], 0, `${s.name}-first`), root);
    await finish(first, 120_000);
    let daemon = await startDaemon(root, 1);
    daemons.push(daemon);
    for (const round of rounds(s.rounds)) {
      const rand = rng(roundSeed(s.seed, round));
      const runs = Array.from({ length: s.runs }, (_, i) => {
        const w = s.workloads[Math.floor(rand() * s.workloads.length)];
        const code = (i + round) % 6;
        const tag = `${s.name}-r${round}-${i}`;
        const cmd = runArgs(w, code, tag);
        return { w, code, tag, cmd, p: startNow(cmd, root) };
      });
      const ends = await Promise.all(runs.map((r) => finish(r.p, Math.min(RUN_TIMEOUT_MS, 90_000))));
      for (const [i, r] of runs.entries()) {
        const t = trialByTag(root, r.tag);
        const problems = unkilledRunProblems(r.p, ends[i].exit, ends[i].hung, r.code, t);
        if (t) problems.push(...completeProblems(t, r.w, r.code, r.tag));
        if (!r.p.stdout.includes(`done ${r.tag} `)) problems.push("the script's last line is not on stdout");
        const how = `round ${round} (seed ${roundSeed(s.seed, round)}), run ${i} of ${s.runs} at once: ${describe(r.w)}, exit code ${r.code}`;
        if (tally.trial(round, "concurrent run", problems, context(`now ${r.cmd.join(" ")}`, how, r.p)) && t) verified.set(t.id, t.activations);
        else if (problems.length) log(`  round ${round} run ${i} FAILED: ${problems.join("; ")}`);
      }
      const orphans = tracersOf(root);
      tally.check(orphans.length === 0, round, "tracers left running after a round", orphans.map((o) => o.cmdline).join("\n"));
      await sleep(100);
      if (daemon.proc.exit || !alive(daemon.proc.pid)) {
        tally.check(false, round, "the daemon died during a round of concurrent runs",
          `daemon #${daemon.generation} pid ${daemon.proc.pid} exit ${JSON.stringify(daemon.proc.exit)}; stderr: ${excerpt(daemon.proc.stderr, 1500)}\ndaemon.log: ${tail(root, 800)}`);
        daemon = await startDaemon(root, daemons.length + 1);
        daemons.push(daemon);
        tally.count("daemon restarts");
      } else tally.checks++;
    }
    const stopProblem = await stopDaemon(daemon);
    tally.check(stopProblem === null, null, "the daemon did not stop cleanly", stopProblem ?? "");
    await endChecks(root, tally, verified, daemons);
  } finally {
    for (const d of daemons) if (!d.proc.exit) killPid(d.proc.pid);
    cleanup(root, tally);
  }
}

// ---------------------------------------------------------------- the full disk

/**
 * Runs the disk-full scenario in a user and mount namespace (`unshare -rm`): the driver
 * (diskfull.js) mounts nothing itself; the shell mounts the tmpfs, then runs it and it
 * writes its tally to a file outside the tmpfs.
 */
async function playDiskFull(s: DiskFullScenario, tally: Tally): Promise<void> {
  const problem = namespaceProblem();
  if (problem) {
    const msg = `SKIPPED: the kernel refuses a user and mount namespace here (${problem})`;
    if (process.env.CI === "true") tally.check(false, null, "disk-full scenario cannot run (CI=true: a failure)", problem);
    else tally.note(msg);
    log(`  ${msg}`);
    return;
  }
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-faults-disk-"));
  const result = path.join(os.tmpdir(), `nowls-faults-disk-result-${process.pid}-${Date.now()}.json`);
  const driver = path.join(REPO, "dist", "test", "faults", "diskfull.js");
  const script = 'mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@"';
  const child = spawn("unshare", ["-rm", "sh", "-c", script, "sh", `${s.sizeMiB}m`, mnt, process.execPath, driver, mnt, JSON.stringify(s), result],
    { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => process.stdout.write(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const status = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  try {
    const r = JSON.parse(fs.readFileSync(result, "utf8")) as {
      tried: number; held: number; checks: number; failures: Tally["failures"]; notes: string[]; counts: Record<string, number>;
    };
    tally.tried += r.tried;
    tally.held += r.held;
    tally.checks += r.checks;
    tally.failures.push(...r.failures);
    tally.notes.push(...r.notes);
    for (const [k, v] of Object.entries(r.counts)) tally.count(k, v);
  } catch (e) {
    tally.check(false, null, "the disk-full driver did not report", `exit ${status}: ${(e as Error).message}\n${excerpt(stderr, 3000)}`);
  } finally {
    fs.rmSync(result, { force: true });
    fs.rmSync(mnt, { recursive: true, force: true });
  }
  if (stderr.trim()) tally.check(!stackIn(stderr), null, "the disk-full driver printed a stack", excerpt(stderr, 3000));
}

// ---------------------------------------------------------------- one large trial

async function playBigTrial(s: BigTrialScenario, tally: Tally): Promise<void> {
  const root = makeProject(`nowls-faults-${s.name}-`);
  try {
    const code = s.seed % 5;
    const tag = `${s.name}-t`;
    const cmd = runArgs(s.workload, code, tag);
    // Under /usr/bin/time when there is one: its maximum RSS is the kernel's count at exit,
    // beside the VmHWM polled from /proc (the larger is reported).
    const timeFile = path.join(root, "time-rss.txt");
    const timed = fs.existsSync("/usr/bin/time");
    const p = timed
      ? startProc("/usr/bin/time", ["-f", "%M", "-o", timeFile, process.execPath, NOW, ...cmd], root)
      : startNow(cmd, root);
    let nodePid = timed ? 0 : p.pid;
    let peakKiB = 0;
    let peakLog = 0;
    let tracerPeakKiB = 0;
    const timer = setInterval(() => {
      if (!nodePid) nodePid = childrenOf(p.pid)[0] ?? 0;
      if (!nodePid) return;
      const hwm = peakRssKiB(nodePid);
      if (hwm !== null) peakKiB = Math.max(peakKiB, hwm);
      for (const c of childrenOf(nodePid)) tracerPeakKiB = Math.max(tracerPeakKiB, peakRssKiB(c) ?? 0);
      try {
        for (const d of fs.readdirSync(path.join(root, ".now", "trials"))) {
          peakLog = Math.max(peakLog, fs.statSync(path.join(root, ".now", "trials", d, "events.jsonl")).size);
        }
      } catch {
        // not there yet, or gone
      }
    }, 100);
    const t0 = Date.now();
    let end;
    try {
      end = await finish(p, s.timeoutS * 1000);
    } finally {
      clearInterval(timer);
      if (nodePid && alive(nodePid)) killPid(nodePid);
    }
    const secs = (Date.now() - t0) / 1000;
    let timeKiB: number | null = null;
    try {
      timeKiB = Number(fs.readFileSync(timeFile, "utf8").trim().split("\n").pop());
      if (Number.isFinite(timeKiB)) peakKiB = Math.max(peakKiB, timeKiB);
    } catch {
      // no /usr/bin/time, or it was killed
    }
    const t = trialByTag(root, tag);
    const mib = (k: number) => (k / 1024).toFixed(1);
    const dbBytes = fs.statSync(path.join(root, ".now", "db.sqlite")).size;
    const line = `peak RSS of \`now run\`: ${mib(peakKiB)} MiB (goal < ${s.rssGoalMiB} MiB; ${timeKiB !== null ? `/usr/bin/time ${mib(timeKiB)} MiB, ` : ""}VmHWM polled); tracer ${mib(tracerPeakKiB)} MiB; ` +
      `${t?.activations ?? 0} activations stored in ${secs.toFixed(1)} s; event log peak ${(peakLog / 2 ** 20).toFixed(0)} MiB; db ${(dbBytes / 2 ** 20).toFixed(0)} MiB`;
    log(`  ${line}`);
    tally.note(line);
    tally.count("peak RSS MiB", Math.round(peakKiB / 1024));
    const problems = unkilledRunProblems(p, end.exit, end.hung, code, t);
    if (t) problems.push(...completeProblems(t, s.workload, code, tag));
    tally.trial(null, `${s.workload.calls} calls, every activation recorded`, problems, context(`now ${cmd.join(" ")}`, line, p));
    tally.check(peakKiB > 0 && peakKiB / 1024 < s.rssGoalMiB, null, `peak RSS of \`now run\` over ${s.rssGoalMiB} MiB`, line);
    const integrity = integrityCheck(root);
    tally.check(integrity === "ok", null, "PRAGMA integrity_check is not ok", integrity.slice(0, 2000));
    const orphans = tracersOf(root);
    tally.check(orphans.length === 0, null, "tracer processes left running at the end", orphans.map((o) => o.cmdline).join("\n"));
    for (const o of orphans) killPid(o.pid);
  } finally {
    cleanup(root, tally);
  }
}

/** Total line over every scenario. */
export function total(tallies: Tally[]): { line: string; failures: number } {
  const tried = tallies.reduce((s, t) => s + t.tried, 0);
  const held = tallies.reduce((s, t) => s + t.held, 0);
  const failures = tallies.reduce((s, t) => s + t.failures.length, 0);
  const kills = tallies.reduce((s, t) => s + Object.entries(t.counts).filter(([k]) => k.endsWith("kills landed")).reduce((a, [, v]) => a + v, 0), 0);
  return { line: `faults total: tried ${tried}, held ${held}, lost ${tried - held}; ${kills} kills landed; ${failures} failed checks`, failures };
}
