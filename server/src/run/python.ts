import fs from "fs";
import path from "path";
import { NowError } from "../errors";

/**
 * The interpreter a trial runs on: `--python`, else $NOW_PYTHON, else the project's
 * virtual environment (.venv or venv at the root), else `python3` from PATH.
 */
export function choosePython(root: string, explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  if (explicit !== undefined) return checked(explicit, "--python");
  if (env.NOW_PYTHON) return checked(env.NOW_PYTHON, "NOW_PYTHON");
  for (const venv of [".venv", "venv"]) {
    const candidate = path.join(root, venv, "bin", "python");
    if (fs.existsSync(candidate)) return candidate;
  }
  return "python3";
}

function checked(python: string, source: string): string {
  if (python.includes("/") && !fs.existsSync(python)) {
    throw new NowError(`${source}: no such interpreter: ${python}`);
  }
  return python;
}
