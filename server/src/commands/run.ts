import { formatDuration } from "../format/text";
import path from "path";
import { Methods } from "../../../protocol/daemon";
import { connectDaemon } from "../daemon/client";
import { findProjectRoot } from "../paths";
import { runTrial, type IngestDelegate } from "../run/runTrial";
import { statusText } from "./list";

export interface RunOptions {
  cwd: string;
  python?: string;
  redact: boolean;
  fine?: boolean;
  loopKeep?: number;
  callsKeep?: number;
}

/** `now run`: the script's own stdio is untouched; nowls speaks on stderr, once, at the end. */
export async function runCommand(script: string, args: string[], opts: RunOptions): Promise<number> {
  // With a daemon running, it ingests (and tells its editors); the script still runs here,
  // on this terminal, so its output and Ctrl-C behave as without nowls.
  const conn = await connectDaemon(findProjectRoot(path.resolve(opts.cwd, script)));
  const delegate: IngestDelegate | undefined = conn ? {
    follow: async (trial) => !!(await conn.sendRequest(Methods.follow, { trial })),
    ended: async (trial, exitCode, signal) => !!(await conn.sendRequest(Methods.ended, { trial, exitCode, signal })),
  } : undefined;
  let result;
  try {
    result = await runTrial({
      script, args, cwd: opts.cwd, python: opts.python, redact: opts.redact, env: process.env,
      fine: opts.fine, loopKeep: opts.loopKeep, callsKeep: opts.callsKeep, foreground: true, delegate,
    });
  } finally {
    conn?.dispose();
  }
  const { trial, exitCode } = result;
  process.stderr.write(
    `now: trial ${trial.id} ${statusText(trial)} in ${formatDuration(trial.duration)} (now show ${trial.id})\n`,
  );
  return exitCode;
}
