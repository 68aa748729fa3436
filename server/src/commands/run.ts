import path from "path";
import type { MessageConnection } from "vscode-jsonrpc/node";
import { Methods } from "../../../protocol/daemon";
import { connectDaemon } from "../daemon/client";
import { formatDuration } from "../format/text";
import { findProjectRoot } from "../paths";
import { choosePython } from "../run/python";
import { runTrial, StoreUnwritable, type IngestDelegate, type RunResult } from "../run/runTrial";
import { writeOwnLine } from "../run/ownLine";
import { runUntraced } from "../run/untraced";
import { statusText } from "./list";

export interface RunOptions {
  cwd: string;
  python?: string;
  redact: boolean;
  fine?: boolean;
  loopKeep?: number;
  callsKeep?: number;
}

/** How long the daemon may take to accept a trial before this process ingests it itself. */
const FOLLOW_TIMEOUT_MS = 5000;

/**
 * `now run`: the script's own stdio is untouched; nowls speaks on stderr, once, at the end,
 * on a line of its own (see ownLine.ts), and the exit code is always the script's —
 * whatever happened to the daemon or the store.
 */
export async function runCommand(script: string, args: string[], opts: RunOptions): Promise<number> {
  const root = findProjectRoot(path.resolve(opts.cwd, script));
  // With a daemon running, it ingests (and tells its editors); the script still runs here,
  // on this terminal, so its output and Ctrl-C behave as without nowls.
  const conn = await connectDaemon(root);
  let result: RunResult;
  try {
    result = await runTrial({
      script, args, cwd: opts.cwd, python: opts.python, redact: opts.redact, env: process.env,
      fine: opts.fine, loopKeep: opts.loopKeep, callsKeep: opts.callsKeep, foreground: true,
      delegate: conn ? daemonDelegate(conn) : undefined,
    });
  } catch (e) {
    if (!(e instanceof StoreUnwritable)) throw e;
    // Nothing can be recorded; the script still runs, as it would without nowls.
    const exitCode = await runUntraced(choosePython(root, opts.python, process.env), script, args, opts.cwd, process.env);
    writeOwnLine(`now: not recorded: ${e.reason}; the script ran untraced and exited with ${exitCode}`);
    return exitCode;
  } finally {
    conn?.dispose();
  }
  writeOwnLine(summaryLine(result));
  return result.exitCode;
}

/** The one line `now run` ends with. */
export function summaryLine({ trial, exitCode, unfinished }: RunResult): string {
  if (unfinished) {
    return `now: trial ${trial.id} exited with ${exitCode} but could not be finished in the store (${unfinished}); ` +
      `its log is kept and the next command finishes it`;
  }
  const incomplete = trial.incomplete ? `, record incomplete: ${trial.incomplete}` : "";
  return `now: trial ${trial.id} ${statusText(trial)} in ${formatDuration(trial.duration)}${incomplete} (now show ${trial.id})`;
}

/** The daemon as the trial's ingester, given up on as soon as it fails, stalls or goes. */
function daemonDelegate(conn: MessageConnection): IngestDelegate {
  return {
    // async: a connection that closed meanwhile makes sendRequest throw, not reject.
    follow: async (trial) => withTimeout((async () => !!(await conn.sendRequest(Methods.follow, { trial })))(), FOLLOW_TIMEOUT_MS, false),
    ended: async (trial, exitCode, signal) => !!(await conn.sendRequest(Methods.ended, { trial, exitCode, signal })),
    onLost: (fn) => {
      conn.onClose(fn);
      conn.onError(fn);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
