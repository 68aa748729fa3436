import { spawn } from "child_process";
import os from "os";
import { NowError } from "../errors";
import { bootEnvironment } from "./runTrial";

/**
 * Runs the script as plain `python script.py args` would, for when nothing can be recorded
 * (a full disk, a read-only store): the user's work goes on, only its record is missing.
 * Resolves to the exit code `now run` should give: the script's, or 128 + signal number.
 */
export function runUntraced(python: string, script: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    // Through the tracer's boot only when there are ignored signals to give back (see
    // bin/now.js); it starts no trial without NOW_TRACER_BOOT.
    const childEnv = env.NOW_TRACER_SIGIGN ? bootEnvironment(env, null) : env;
    const child = spawn(python, [script, ...args], { cwd, env: childEnv, stdio: "inherit" });
    // As for a traced run: Ctrl-C reaches the script through the process group.
    const ignore = () => {};
    const onTerm = () => child.kill("SIGTERM");
    const onHup = () => child.kill("SIGHUP");
    process.on("SIGINT", ignore);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
    const cleanup = () => {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
    };
    child.on("error", (err) => {
      cleanup();
      const code = (err as NodeJS.ErrnoException).code;
      reject(new NowError(code === "ENOENT" ? `cannot run Python: ${python} not found` : `cannot run ${python}: ${err.message}`));
    });
    child.on("exit", (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0));
    });
  });
}
