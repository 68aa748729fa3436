import { spawn } from "child_process";
import { randomUUID } from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import { NowError } from "../errors";
import { shellQuote } from "../format/text";
import { Ingester } from "../ingest/ingester";
import { eventLogPath, findProjectRoot, trialDir, tracerDir } from "../paths";
import { openDatabase, type DB } from "../store/database";
import { getTrial, type TrialRow } from "../store/queries";
import { createTrial } from "../store/writer";
import { choosePython } from "./python";
import { readConfig } from "../config";
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
  env: NodeJS.ProcessEnv;
  /** How often the log is ingested while the script runs. */
  pollMs?: number;
  /** Where the script's stdio goes; the terminal by default. */
  stdio?: "inherit" | "ignore" | "pipe";
  onSpawn?: (pid: number, trialId: number) => void;
}

export interface RunResult {
  trial: TrialRow;
  /** What `now run` should exit with: the script's exit code, or 128 + signal number. */
  exitCode: number;
}

/**
 * Runs one trial: creates its row, starts the tracer, ingests its event log while it runs
 * and finishes the row when the process ends, however it ends.
 */
export async function runTrial(req: RunRequest): Promise<RunResult> {
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
    recoverOrphanTrials(db, root);
    const uuid = randomUUID();
    const startedAt = Date.now() / 1000;
    const trialId = createTrial(db, {
      uuid, script: scriptAbs, argv: [req.script, ...req.args],
      command: ["now", "run", req.script, ...req.args].map(shellQuote).join(" "),
      python, cwd: req.cwd, root, startedAt, runnerPid: process.pid, runnerHost: os.hostname(),
      granularity: fine ? "fine" : "coarse",
    });
    fs.mkdirSync(trialDir(root, uuid), { recursive: true });
    const log = eventLogPath(root, uuid);
    const tracerArgs = [tracerDir(), "--root", root, "--trial", uuid, "--log", log];
    if (!req.redact) tracerArgs.push("--no-redact");
    if (fine) tracerArgs.push("--fine", "--loop-keep", String(loopKeep));
    tracerArgs.push("--", req.script, ...req.args);
    const outcome = await supervise(db, trialId, root, log, python, tracerArgs, req);
    return { trial: getTrial(db, trialId)!, exitCode: outcome };
  } finally {
    db.close();
  }
}

function supervise(
  db: DB, trialId: number, root: string, log: string, python: string, args: string[], req: RunRequest,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ingester = new Ingester(db, trialId, root, log, 0);
    const child = spawn(python, args, { cwd: req.cwd, env: req.env, stdio: req.stdio ?? "inherit" });
    // Ctrl-C reaches the whole process group: Python turns it into KeyboardInterrupt and
    // ends the trial itself; `now run` waits for that instead of dying first.
    const ignore = () => {};
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onTerm = forward("SIGTERM");
    const onHup = forward("SIGHUP");
    process.on("SIGINT", ignore);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
    const timer = setInterval(() => safePoll(ingester), req.pollMs ?? 100);
    const cleanup = () => {
      clearInterval(timer);
      process.off("SIGINT", ignore);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
    };
    child.on("spawn", () => req.onSpawn?.(child.pid!, trialId));
    child.on("error", (err) => {
      cleanup();
      const t = getTrial(db, trialId)!;
      finishFromLog(db, t, root, { status: "interrupted", exitCode: null, signal: null });
      const code = (err as NodeJS.ErrnoException).code;
      reject(new NowError(code === "ENOENT" ? `cannot run Python: ${python} not found` : `cannot run ${python}: ${err.message}`));
    });
    child.on("exit", (code, signal) => {
      cleanup();
      const t = getTrial(db, trialId)!;
      finishFromLog(db, t, root, {
        status: code === 0 ? "finished" : signal ? "interrupted" : "failed",
        exitCode: code,
        signal,
      });
      resolve(code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0));
    });
  });
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
