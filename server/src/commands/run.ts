import { formatDuration } from "../format/text";
import { runTrial } from "../run/runTrial";
import { statusText } from "./list";

export interface RunOptions {
  cwd: string;
  python?: string;
  redact: boolean;
  fine?: boolean;
  loopKeep?: number;
}

/** `now run`: the script's own stdio is untouched; nowls speaks on stderr, once, at the end. */
export async function runCommand(script: string, args: string[], opts: RunOptions): Promise<number> {
  const { trial, exitCode } = await runTrial({
    script, args, cwd: opts.cwd, python: opts.python, redact: opts.redact, env: process.env,
    fine: opts.fine, loopKeep: opts.loopKeep, foreground: true,
  });
  process.stderr.write(
    `now: trial ${trial.id} ${statusText(trial)} in ${formatDuration(trial.duration)} (now show ${trial.id})\n`,
  );
  return exitCode;
}
