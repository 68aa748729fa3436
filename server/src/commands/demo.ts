import fs from "fs";
import os from "os";
import path from "path";
import { NowError } from "../errors";
import { nowDir, packageRoot } from "../paths";
import { runTrial } from "../run/runTrial";
import { listCommand } from "./list";
import { showCommand } from "./show";

/**
 * `now demo`: the precipitation example of the noWorkflow talk, recorded twice in a fresh
 * folder — 2013 against 2014, then 2013 against the drier 2015 — and read back.
 */
export async function demoCommand(dir: string | undefined, opts: { python?: string }): Promise<number> {
  const target = dir ? path.resolve(dir) : fs.mkdtempSync(path.join(os.tmpdir(), "nowls-demo-"));
  if (dir && fs.existsSync(target) && fs.readdirSync(target).length > 0) {
    throw new NowError(`${target} exists and is not empty; give a new folder`);
  }
  const source = path.join(packageRoot(), "examples", "precipitation");
  fs.cpSync(source, target, {
    recursive: true,
    filter: (src) => !/(__pycache__|\.pyc$|out\.svg$|\.now$)/.test(src),
  });
  // The project root is the demo folder itself, even if a parent has a .git.
  fs.mkdirSync(nowDir(target), { recursive: true });
  say(`# the demo project is in ${target}`);
  let status = 0;
  for (const args of [["2013", "2014"], ["2013", "2015"]]) {
    say(`\n$ now run experiment.py ${args.join(" ")}`);
    const { trial, exitCode } = await runTrial({
      script: "experiment.py", args, cwd: target, python: opts.python, redact: true, env: process.env, foreground: true,
    });
    say(`now: trial ${trial.id} ${trial.status}`);
    status ||= exitCode;
  }
  say("\n$ now list");
  listCommand({ cwd: target });
  say("\n$ now show -f 2");
  showCommand("2", { cwd: target, files: true });
  say(`\nTry: cd ${target} && now show -a 1 && now show -m 2`);
  return status;
}

function say(line: string): void {
  process.stdout.write(line + "\n");
}
