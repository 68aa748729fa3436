import { spawn, type ChildProcess } from "child_process";
import { randomUUID } from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import type { TraceEvent } from "../../../protocol/events";
import { readConfig } from "../config";
import { NowError } from "../errors";
import { shellQuote } from "../format/text";
import { Ingester } from "../ingest/ingester";
import { eventLogPath, findProjectRoot, trialDir, tracerDir } from "../paths";
import { openDatabase, type DB } from "../store/database";
import { getTrial, type TrialRow } from "../store/queries";
import { createTrial } from "../store/writer";
import { choosePython } from "./python";
import { finishFromLog, recoverOrphanTrials } from "./recover";

export interface RunRequest {
  script: string;
  args: string[];
  cwd: string;
  python?: string;
  redact: boolean;
  /** Fine granularity; undefined: the project's .now/config decides. */
  fine?: boolean;
  loopKeep?: number;
  /** Coarse mode's bound on recorded activations per function; undefined: .now/config decides. */
  callsKeep?: number;
  env: NodeJS.ProcessEnv;
  /** How often the log is ingested while the script runs. */
  pollMs?: number;
  /**
   * Where the script's stdio goes: the terminal (inherit) for `now run`; files in the
   * trial's folder (stdout.txt, stderr.txt) when a daemon runs it for an editor.
   */
  stdio?: "inherit" | "files";
  /** Whether this process handles Ctrl-C for the script (a terminal `now run`). */
  foreground?: boolean;
  onProgress?: (p: Progress) => void;
  /**
   * Someone else (the project's daemon) ingests the log while the script runs and
   * finishes the trial when told how the process ended; if it cannot, we do it.
   */
  delegate?: IngestDelegate;
}

export interface IngestDelegate {
  /** Takes over ingestion of this trial; false if it cannot. */
  follow(trialId: number): Promise<boolean>;
  /** The process ended; false if the delegate could not finish the trial. */
  ended(trialId: number, exitCode: number | null, signal: string | null): Promise<boolean>;
}

export interface Progress {
  trial: number;
  events: number;
  /** The function the script entered last. */
  current: string | null;
  elapsed: number;
}

export interface RunResult {
  trial: TrialRow;
  /** What `now run` should exit with: the script's exit code, or 128 + signal number. */
  exitCode: number;
}

export interface RunningTrial {
  trialId: number;
  root: string;
  pid: number | undefined;
  done: Promise<RunResult>;
  /** Stops the script; the trial is kept, marked cancelled. */
  cancel(): void;
}

/** Runs one trial to its end (see startTrial). */
export async function runTrial(req: RunRequest): Promise<RunResult> {
  return (await startTrial(req)).done;
}

/**
 * Starts one trial: creates its row, starts the tracer, ingests its event log while it
 * runs and finishes the row when the process ends, however it ends.
 */
export async function startTrial(req: RunRequest): Promise<RunningTrial> {
  const scriptAbs = path.resolve(req.cwd, req.script);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(scriptAbs);
  } catch {
    throw new NowError(`no such script: ${req.script}`);
  }
  if (!stat.isFile()) throw new NowError(`not a file: ${req.script}`);

  const root = findProjectRoot(scriptAbs);
  const python = choosePython(root, req.python, req.env);
  const db = openDatabase(root, { create: true });
  try {
    const config = readConfig(root);
    const fine = req.fine ?? config.fine;
    const loopKeep = req.loopKeep ?? config.loop_keep;
    const callsKeep = req.callsKeep ?? config.calls_keep;
    recoverOrphanTrials(db, root);
    const uuid = randomUUID();
    const trialId = createTrial(db, {
      uuid, script: scriptAbs, argv: [req.script, ...req.args],
      command: ["now", "run", req.script, ...req.args].map(shellQuote).join(" "),
      python, cwd: req.cwd, root, startedAt: Date.now() / 1000, runnerPid: process.pid, runnerHost: os.hostname(),
      granularity: fine ? "fine" : "coarse",
    });
    fs.mkdirSync(trialDir(root, uuid), { recursive: true });
    const log = eventLogPath(root, uuid);
    const tracerArgs = [tracerDir(), "--root", root, "--trial", uuid, "--log", log];
    if (!req.redact) tracerArgs.push("--no-redact");
    if (fine) tracerArgs.push("--fine", "--loop-keep", String(loopKeep));
    else tracerArgs.push("--calls-keep", String(callsKeep));
    tracerArgs.push("--", req.script, ...req.args);
    return supervise(db, trialId, root, uuid, log, python, tracerArgs, req);
  } catch (e) {
    db.close();
    throw e;
  }
}

function supervise(
  db: DB, trialId: number, root: string, uuid: string, log: string, python: string, args: string[], req: RunRequest,
): RunningTrial {
  const started = Date.now();
  let events = 0;
  let current: string | null = null;
  const names = new Map<number, string>();
  const ingester = new Ingester(db, trialId, root, log, 0, (batch: TraceEvent[]) => {
    for (const e of batch) {
      if (e.e === "code") names.set(e.code, e.qualname);
      else if (e.e === "call") current = names.get(e.code) ?? current;
    }
    events += batch.length;
    req.onProgress?.({ trial: trialId, events, current, elapsed: (Date.now() - started) / 1000 });
  });
  let stdio: ("inherit" | "ignore" | number)[] | "inherit" = "inherit";
  const fds: number[] = [];
  if (req.stdio === "files") {
    const dir = trialDir(root, uuid);
    fds.push(fs.openSync(path.join(dir, "stdout.txt"), "w"), fs.openSync(path.join(dir, "stderr.txt"), "w"));
    stdio = ["ignore", fds[0], fds[1]];
  }
  let cancelled = false;
  const child: ChildProcess = spawn(python, args, { cwd: req.cwd, env: req.env, stdio });
  for (const fd of fds) fs.closeSync(fd);
  // Ctrl-C reaches the whole process group: Python turns it into KeyboardInterrupt and
  // ends the trial itself; a terminal `now run` waits for that instead of dying first.
  const ignore = () => {};
  const onTerm = () => child.kill("SIGTERM");
  const onHup = () => child.kill("SIGHUP");
  if (req.foreground) {
    process.on("SIGINT", ignore);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
  }
  let timer: NodeJS.Timeout | null = null;
  let delegated = false;
  const pollLocally = () => {
    if (!timer) timer = setInterval(() => safePoll(ingester), req.pollMs ?? 100);
  };
  if (req.delegate) {
    req.delegate.follow(trialId).then((ok) => {
      delegated = ok;
      if (!ok) pollLocally();
    }, pollLocally);
  } else {
    pollLocally();
  }
  const cleanup = () => {
    if (timer) clearInterval(timer);
    if (req.foreground) {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
    }
  };
  const done = new Promise<RunResult>((resolve, reject) => {
    const finish = (status: "finished" | "failed" | "interrupted" | "cancelled", exitCode: number | null, signal: string | null) => {
      safePoll(ingester); // the last events reach onProgress too
      finishFromLog(db, getTrial(db, trialId)!, root, { status, exitCode, signal });
      const trial = getTrial(db, trialId)!;
      db.close();
      return trial;
    };
    child.on("error", (err) => {
      cleanup();
      finish("interrupted", null, null);
      const code = (err as NodeJS.ErrnoException).code;
      reject(new NowError(code === "ENOENT" ? `cannot run Python: ${python} not found` : `cannot run ${python}: ${err.message}`));
    });
    child.on("exit", async (code, signal) => {
      cleanup();
      const exitCode = code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0);
      if (delegated && !cancelled && (await req.delegate!.ended(trialId, code, signal).catch(() => false))) {
        const trial = getTrial(db, trialId)!;
        db.close();
        resolve({ trial, exitCode });
        return;
      }
      // Nobody else finished it (no daemon, or it died): resume from the stored offset.
      const status = cancelled ? "cancelled" : code === 0 ? "finished" : signal ? "interrupted" : "failed";
      resolve({ trial: finish(status, code, signal), exitCode });
    });
  });
  return {
    trialId, root, pid: child.pid, done,
    cancel() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      cancelled = true;
      // As Ctrl-C would: the script may clean up, and the tracer writes the end of its log.
      child.kill("SIGINT");
      // A script that ignores SIGTERM is stopped for good a moment later.
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 2000).unref();
    },
  };
}

function safePoll(ingester: Ingester): void {
  try {
    ingester.poll();
  } catch (e) {
    // The store is busy or the disk is full: the log is kept and the next poll (or the
    // final one) picks up from the same offset.
    if (process.env.NOW_DEBUG) process.stderr.write(`now: ingest deferred: ${(e as Error).message}\n`);
  }
}
