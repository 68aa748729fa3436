import { Command, CommanderError } from "commander";
import { NowError } from "./errors";
import { demoCommand } from "./commands/demo";
import { listCommand } from "./commands/list";
import { runCommand } from "./commands/run";
import { showCommand } from "./commands/show";
import { diffCommand } from "./commands/diff";
import { gcCommand } from "./commands/gc";
import { historyCommand } from "./commands/history";
import { restoreCommand } from "./commands/restore";
import { noteCommand, tagCommand } from "./commands/tag";

const VERSION = "0.1.0";

function program(): Command {
  const p = new Command("now")
    .description("nowls: provenance of Python scripts (noWorkflow's commands, faster, in your editor)")
    .version(VERSION)
    .enablePositionalOptions()
    .showHelpAfterError("(now --help lists the commands)")
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, "now: ")) })
    .exitOverride();

  p.command("run")
    .description("run a Python script as a new trial and record its provenance")
    .argument("<script>", "the Python script")
    .argument("[args...]", "arguments passed to the script unchanged")
    .option("--python <path>", "interpreter (default: $NOW_PYTHON, the project's .venv/venv, python3)")
    .option("--no-redact", "keep secret-looking environment variables in the record")
    .passThroughOptions()
    .action(async (script: string, args: string[], o: { python?: string; redact: boolean }) => {
      process.exitCode = await runCommand(script, args, { cwd: process.cwd(), python: o.python, redact: o.redact });
    });

  p.command("list")
    .description("list the trials of this project")
    .option("--json", "machine-readable output")
    .action((o: { json?: boolean }) => listCommand({ ...o, cwd: process.cwd() }));

  p.command("show")
    .description("show a trial (the last one by default)")
    .argument("[trial]", "trial number or UUID")
    .option("-m, --modules", "imported modules with versions and hashes")
    .option("-e, --environment", "environment variables (secrets redacted)")
    .option("-a, --activations", "the activation tree")
    .option("-f, --files", "file accesses")
    .option("--all", "with -a: do not collapse long runs of calls")
    .option("--json", "machine-readable output")
    .action((trial: string | undefined, o: Record<string, boolean>) => showCommand(trial, { ...o, cwd: process.cwd() }));

  p.command("diff")
    .description("compare two trials: code, arguments, modules, environment, files, activations, duration")
    .argument("<a>", "trial number, tag or UUID")
    .argument("<b>", "trial number, tag or UUID")
    .option("--fine", "also compare the values recorded on each line (trials recorded with --fine)")
    .option("--json", "machine-readable output")
    .action((a: string, b: string, o: { fine?: boolean; json?: boolean }) => diffCommand(a, b, { ...o, cwd: process.cwd() }));

  p.command("history")
    .description("the trials as a derivation graph (a restore starts a branch)")
    .option("--format <format>", "text, dot or json", "text")
    .option("--script <script>", "only trials of this script")
    .option("--status <status>", "only trials with this status: finished, failed, interrupted, running, backup")
    .action((o: { format: string; script?: string; status?: string }) => historyCommand({ ...o, cwd: process.cwd() }));

  p.command("restore")
    .description("put back the script, local modules and input files of a trial (current versions are backed up first)")
    .argument("<trial>", "trial number, tag or UUID")
    .option("--file <path>", "restore only this file")
    .option("--no-inputs", "leave input files alone")
    .option("--no-modules", "leave local modules alone")
    .option("--json", "machine-readable report")
    .action((trial: string, o: { file?: string; inputs: boolean; modules: boolean; json?: boolean }) =>
      restoreCommand(trial, { ...o, cwd: process.cwd() }));

  p.command("tag")
    .description("name a trial (usable wherever a trial number is); without arguments, list the tags")
    .argument("[trial]", "trial number, tag or UUID")
    .argument("[name]", "the tag")
    .option("--delete <name>", "remove a tag")
    .option("--force", "move a tag that names another trial")
    .option("--json", "machine-readable list")
    .action((trial: string | undefined, name: string | undefined, o: { delete?: string; force?: boolean; json?: boolean }) =>
      tagCommand(trial, name, { ...o, cwd: process.cwd() }));

  p.command("note")
    .description("attach a note to a trial")
    .argument("<trial>", "trial number, tag or UUID")
    .argument("<text>", "the note")
    .action((trial: string, text: string) => noteCommand(trial, text, { cwd: process.cwd() }));

  p.command("gc")
    .description("remove stored contents no trial refers to and compact the database")
    .option("--dry-run", "report what would be removed")
    .option("--json", "machine-readable report")
    .action((o: { dryRun?: boolean; json?: boolean }) => gcCommand({ ...o, cwd: process.cwd() }));

  p.command("demo")
    .description("copy the precipitation example to a fresh folder, record two trials, show them")
    .argument("[dir]", "where to put the example (default: a new temporary folder)")
    .option("--python <path>", "interpreter to run it with")
    .action(async (dir: string | undefined, o: { python?: string }) => {
      process.exitCode = await demoCommand(dir, o);
    });
  return p;
}

/** Entry point: bad input ends in one line on stderr and a non-zero exit, never a stack. */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof NowError) {
      process.stderr.write(`now: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}
