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
import { createTrial, TrialWriter, type TrialEnd } from "../store/writer";
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
  /** Calls `fn` once if the delegate goes away (its connection closes). */
  onLost(fn: () => void): void;
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
  /**
   * Set when the trial could not be finished in the store (a full disk): why. Its log is
   * kept and the next command that opens the store finishes it.
   */
  unfinished?: string;
}

/**
 * The store cannot take a new trial (full disk, read-only `.now/`): `now run` then runs
 * the script untraced rather than not at all.
 */
export class StoreUnwritable extends NowError {
  constructor(readonly reason: string) {
    super(`cannot record a trial: ${reason}`);
  }
}

/** How long a delegate that stopped ingesting may stay silent before we take the job back. */
const DELEGATE_STALL_MS = 10_000;

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
  let db: DB;
  try {
    db = openDatabase(root, { create: true });
  } catch (e) {
    throw unwritable(e) ?? e;
  }
  try {
    const config = readConfig(root);
    const fine = req.fine ?? config.fine;
    const loopKeep = req.loopKeep ?? config.loop_keep;
    const callsKeep = req.callsKeep ?? config.calls_keep;
    recoverOrphanTrials(db, root);
    const uuid = randomUUID();
    const shownArgs = req.args.some(mayHoldSecret) ? ["…"] : req.args;
    const trialId = createTrial(db, {
      // The tracer's header fills in argv with its secrets redacted; until then the row
      // holds the arguments only when none could be one (see mayHoldSecret).
      uuid, script: scriptAbs, argv: [req.script, ...shownArgs],
      command: ["now", "run", req.script, ...shownArgs].map(shellQuote).join(" "),
      python, cwd: req.cwd, root, startedAt: Date.now() / 1000, runnerPid: process.pid, runnerHost: os.hostname(),
      granularity: fine ? "fine" : "coarse",
    });
    try {
      fs.mkdirSync(trialDir(root, uuid), { recursive: true, mode: 0o700 });
    } catch (e) {
      // The row exists but no log can: it ends here, as a trial that never ran.
      const reason = unwritable(e)?.reason ?? (e as Error).message;
      try {
        const w = new TrialWriter(db, trialId, root);
        w.markIncomplete(`not run: ${reason}`);
        w.finish({ status: "interrupted", exitCode: null, signal: null, finishedAt: Date.now() / 1000 });
      } catch {
        // Left running: the next command with space finishes it.
      }
      throw new StoreUnwritable(reason);
    }
    const log = eventLogPath(root, uuid);
    const options = ["--root", root, "--trial", uuid, "--log", log];
    if (!req.redact) options.push("--no-redact");
    if (config.repr_types.length) options.push("--repr-types", config.repr_types.join(","));
    if (fine) options.push("--fine", "--loop-keep", String(loopKeep));
    else options.push("--calls-keep", String(callsKeep));
    return supervise(db, trialId, root, uuid, log, python, options, req);
  } catch (e) {
    db.close();
    throw unwritable(e) ?? e;
  }
}

/**
 * The environment of a traced interpreter: python-tracer/boot first on PYTHONPATH, whose
 * sitecustomize starts the tracer inside `python script args` (CPython runs the script
 * itself) and then puts back what it finds here: the user's PYTHONPATH (`-`: none, `+`
 * and the value), NOW_TRACER_SIGIGN (the signals the user's shell ignored, from
 * bin/now.js), the tracer's options (NOW_TRACER_BOOT; none: an untraced run that only
 * needs the signals back). The same as the tracer's own `python python-tracer`
 * (python-tracer/now_tracer/cli.py, boot_environment).
 */
export function bootEnvironment(base: NodeJS.ProcessEnv, options: string[] | null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  const user = base.PYTHONPATH;
  env.NOW_TRACER_PYTHONPATH = user === undefined ? "-" : "+" + user;
  env.PYTHONPATH = path.join(tracerDir(), "boot") + (user ? path.delimiter + user : "");
  if (options) env.NOW_TRACER_BOOT = JSON.stringify(options);
  else delete env.NOW_TRACER_BOOT;
  return env;
}

/**
 * Whether a command-line argument could carry a secret, by a rule broader than the
 * tracer's (python-tracer/now_tracer/secrets.py decides what is redacted): an option or
 * key named like a credential, or a URL with userinfo or a query. Such arguments are kept
 * out of the trial row until the tracer's redacted argv replaces them.
 */
export function mayHoldSecret(arg: string): boolean {
  return /pass|secret|token|key|cred|auth|jwt|dsn|webhook|session|cookie|private|sig|\bsk\b|_sk\b|@|:\/\/|[?&]\w+=/i.test(arg);
}

/** Errors that mean the store cannot be written (as opposed to bugs or bad input). */
const UNWRITABLE = /SQLITE_FULL|SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_IOERR|ENOSPC|EDQUOT|EROFS|EACCES|EPERM|disk is full|readonly database|read-only|unable to open database/i;

/** A StoreUnwritable for an error that says the store cannot be written; null otherwise. */
export function unwritable(e: unknown): StoreUnwritable | null {
  if (e instanceof StoreUnwritable) return e;
  const err = e as { code?: unknown; message?: unknown };
  const text = `${typeof err?.code === "string" ? err.code : ""} ${typeof err?.message === "string" ? err.message : ""}`;
  if (!UNWRITABLE.test(text)) return null;
  const message = typeof err.message === "string" ? err.message.replace(/^cannot (open|use) the store \S+: /, "") : String(e);
  return new StoreUnwritable(message);
}

function supervise(
  db: DB, trialId: number, root: string, uuid: string, log: string, python: string, options: string[], req: RunRequest,
): RunningTrial {
  const started = Date.now();
  let events = 0;
  let current: string | null = null;
  const names = new Map<number, string>();
  const ingester = new Ingester(db, trialId, root, log, (batch: TraceEvent[]) => {
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
    fds.push(fs.openSync(path.join(dir, "stdout.txt"), "w", 0o600), fs.openSync(path.join(dir, "stderr.txt"), "w", 0o600));
    stdio = ["ignore", fds[0], fds[1]];
  }
  let cancelled = false;
  // The tracer stops recording when this process dies; naming it spares the tracer a
  // guess when we die before it starts (see python-tracer's eventlog.py).
  const env = bootEnvironment({ ...req.env, NOW_TRACER_PARENT: String(process.pid) }, options);
  // `python script args`, as untraced: the tracer comes in through the environment.
  const child: ChildProcess = spawn(python, [req.script, ...req.args], { cwd: req.cwd, env, stdio });
  for (const fd of fds) fs.closeSync(fd);
  // Before anything else: a command recovering this trial must see the tracer alive even
  // if we die before its log's header is ingested (the log's header has it too).
  if (child.pid !== undefined) {
    try {
      ingester.trialWriter.tracerStarted(child.pid);
    } catch {
      // A busy or full store: recovery reads the pid from the log's header instead.
    }
  }
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
  // Each tick ingests for at most a quarter second, then lets the loop breathe (signals,
  // the child's exit); a log written faster than that waits on disk, not in memory.
  let exited = false;
  const pollLocally = () => {
    delegated = false;
    if (!timer && !exited) timer = setInterval(() => safeDrain(ingester, 250), req.pollMs ?? 100);
  };
  if (req.delegate) {
    req.delegate.onLost(pollLocally);
    req.delegate.follow(trialId).then((ok) => {
      if (ok) delegated = true;
      else pollLocally();
    }, pollLocally);
  } else {
    pollLocally();
  }
  const cleanup = () => {
    exited = true;
    if (timer) clearInterval(timer);
    timer = null;
    if (req.foreground) {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
    }
  };
  /** Ingests what is left and finishes the row; a store that cannot take it is reported, not thrown. */
  const finish = (end: Omit<TrialEnd, "finishedAt">): { trial: TrialRow; unfinished?: string } => {
    let unfinished: string | undefined;
    safeDrain(ingester, Infinity); // the last events reach onProgress too
    try {
      finishFromLog(db, getTrial(db, trialId)!, root, end);
    } catch (e) {
      unfinished = unwritable(e)?.reason ?? (e as Error).message;
    }
    const trial = readTrial(db, trialId, end);
    db.close();
    return { trial, unfinished };
  };
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on("error", (err) => {
      cleanup();
      finish({ status: "interrupted", exitCode: null, signal: null });
      const code = (err as NodeJS.ErrnoException).code;
      reject(new NowError(code === "ENOENT" ? `cannot run Python: ${python} not found` : `cannot run ${python}: ${err.message}`));
    });
    child.on("exit", async (code, signal) => {
      cleanup();
      const exitCode = code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0);
      if (delegated && !cancelled && (await endedByDelegate(req.delegate!, db, trialId, code, signal))) {
        try {
          const trial = getTrial(db, trialId)!;
          if (trial.status !== "running") {
            db.close();
            resolve({ trial, exitCode });
            return;
          }
        } catch {
          // Unreadable now: finish it ourselves below, which reports why.
        }
      }
      // Nobody else finished it (no daemon, or it died or stalled): resume from the stored
      // offset; whatever the delegate already stored is not read again.
      const status = cancelled ? "cancelled" : code === 0 ? "finished" : signal ? "interrupted" : "failed";
      resolve({ ...finish({ status, exitCode: code, signal }), exitCode });
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

/**
 * Asks the delegate to finish the trial; false as soon as it cannot be counted on: its
 * connection closed, it failed, or it stored nothing new for DELEGATE_STALL_MS after the
 * script ended. Taking over is safe at any point: ingestion starts from the stored offset
 * under the write lock.
 */
function endedByDelegate(d: IngestDelegate, db: DB, trialId: number, code: number | null, signal: string | null): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(ok);
    };
    let last = storedOffset(db, trialId);
    let lastMoved = Date.now();
    const watch = setInterval(() => {
      const now = storedOffset(db, trialId);
      if (now !== last) {
        last = now;
        lastMoved = Date.now();
      } else if (Date.now() - lastMoved > DELEGATE_STALL_MS) {
        settle(false);
      }
    }, 500);
    d.onLost(() => settle(false));
    d.ended(trialId, code, signal).then(settle, () => settle(false));
  });
}

function storedOffset(db: DB, trialId: number): number {
  try {
    return getTrial(db, trialId)?.ingested_bytes ?? -1;
  } catch {
    return -1;
  }
}

/** The trial's row as stored; when even reading fails, what we know of it. */
function readTrial(db: DB, trialId: number, end: Omit<TrialEnd, "finishedAt">): TrialRow {
  try {
    const t = getTrial(db, trialId);
    if (t) return t;
  } catch {
    // fall through
  }
  return { id: trialId, status: end.status, exit_code: end.exitCode, signal: end.signal, duration: null } as TrialRow;
}

function safeDrain(ingester: Ingester, budgetMs: number): void {
  try {
    ingester.drain(budgetMs);
  } catch (e) {
    // The store is busy or the disk is full: the log is kept and the next poll (or the
    // final one) picks up from the same offset.
    if (process.env.NOW_DEBUG) process.stderr.write(`now: ingest deferred: ${(e as Error).message}\n`);
  }
}
