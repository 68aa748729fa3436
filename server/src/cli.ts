import { Command, CommanderError } from "commander";
import { fsStoreErrorOf, NowError, storeErrorOf } from "./errors";
import { dbPath, findStoreRoot } from "./paths";
import { lastOpenedStore } from "./store/database";
import { doctorCommand } from "./commands/doctor";
import { checkCallsKeep, checkLoopKeep } from "./config";
import { demoCommand } from "./commands/demo";
import { listCommand } from "./commands/list";
import { runCommand } from "./commands/run";
import { showCommand } from "./commands/show";
import { diffCommand } from "./commands/diff";
import { dataflowCommand, influenceCommand } from "./commands/dataflow";
import { queryCommand } from "./commands/query";
import { daemonCommand } from "./commands/daemon";
import { exportCommand } from "./commands/export";
import { lspCommand } from "./commands/lsp";
import { gcCommand } from "./commands/gc";
import { historyCommand } from "./commands/history";
import { restoreCommand } from "./commands/restore";
import { noteCommand, tagCommand } from "./commands/tag";
import { visCommand } from "./commands/vis";

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
    .option("--fine", "also record the value of each assignment and the dependencies between values")
    .option("--coarse", "record activations and files only (overrides .now/config)")
    .option("--loop-keep <k>", "with --fine: values kept at each end of a loop, per line and target (default 3)")
    .option("--calls-keep <k>", "coarse mode: activations recorded per function, later ones only counted (default 1000; 0: all)")
    .passThroughOptions()
    .action(async (script: string, args: string[], o: { python?: string; redact: boolean; fine?: boolean; coarse?: boolean; loopKeep?: string; callsKeep?: string }) => {
      if (o.fine && o.coarse) throw new NowError("--fine and --coarse exclude each other");
      const code = await runCommand(script, args, {
        cwd: process.cwd(), python: o.python, redact: o.redact,
        fine: o.fine ? true : o.coarse ? false : undefined,
        loopKeep: o.loopKeep === undefined ? undefined : checkLoopKeep(o.loopKeep, "--loop-keep"),
        callsKeep: o.callsKeep === undefined ? undefined : checkCallsKeep(o.callsKeep, "--calls-keep"),
      });
      // Everything is committed and the summary written (stderr is synchronous on pipes,
      // files and terminals): nothing left to wait for. Exiting here means a handle some
      // library leaves open (a daemon's socket dying mid-close) can never keep `now run` —
      // and a CI job waiting on it — from ending with the script's code.
      process.exit(code);
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
    .option("-V, --values", "values and their dependencies (fine trials)")
    .option("-d, --definitions", "functions and classes of the code it ran, with their activation counts")
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
    .option("--status <status>", "only trials with this status: finished, failed, interrupted, cancelled, running, backup")
    .option("--definitions <name>", "instead: how a function or class evolved across saves and trials")
    .action((o: { format: string; script?: string; status?: string; definitions?: string }) => historyCommand({ ...o, cwd: process.cwd() }));

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

  p.command("dataflow")
    .description("the dataflow graph of a trial (values, activations, files), as Graphviz dot, JSON or Mermaid")
    .argument("[trial]", "trial number, tag or UUID (default: the last)")
    .option("--format <format>", "dot, json or mermaid", "dot")
    .option("--activations-only", "only activations, linked where one's values fed another's")
    .option("--files-only", "only files, linked where an input influenced an output")
    .option("--hide-internals", "leave out _private names (their dependencies are kept through them)")
    .option("--depth <n>", "activations nested deeper than n are folded into their ancestors; with --slice: how far back")
    .option("--collapse-loops", "one node per line and target instead of one per value")
    .option("--slice <what>", "backward slice from a file path, a variable name (its last value) or v<id>")
    .action((trial: string | undefined, o: Record<string, string | boolean | undefined>) =>
      dataflowCommand(trial, { ...(o as object), format: o.format as string, slice: o.slice as string | undefined, depth: o.depth as string | undefined, cwd: process.cwd() }));

  p.command("influence")
    .description("which input files may have influenced a file the trial wrote")
    .usage("[options] [trial] <path>")
    .argument("<trial-and-path...>", "[trial] (default: the last) and a file the trial wrote")
    .option("-v, --verbose", "also the activations and values on the way")
    .option("--json", "machine-readable output")
    .action((words: string[], o: { verbose?: boolean; json?: boolean }) => {
      if (words.length > 2) throw new NowError("usage: now influence [trial] <path>");
      const [trial, file] = words.length === 2 ? words : [undefined, words[0]];
      influenceCommand(trial, file, { ...o, cwd: process.cwd() });
    });

  p.command("query")
    .description("read-only SQL over the store (tables: docs/STORE.md)")
    .argument("<sql>", "one SELECT statement")
    .option("--json", "rows as JSON")
    .action((sql: string, o: { json?: boolean }) => queryCommand(sql, { ...o, cwd: process.cwd() }));

  p.command("export")
    .description("export a trial as Prolog facts and rules, or as W3C PROV (PROV-JSON, PROV-N)")
    .argument("[trial]", "trial number, tag or UUID (default: the last)")
    .option("--format <format>", "prolog, prov-json or prov-n", "prolog")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .action((trial: string | undefined, o: { format: string; output?: string }) =>
      exportCommand(trial, { cwd: process.cwd(), format: o.format, output: o.output }));

  p.command("daemon")
    .description("the project's daemon: start (foreground, the default), status or stop")
    .argument("[action]", "start, status or stop")
    .option("--root <dir>", "the project root (default: found from the current folder)")
    .option("--idle <seconds>", "with start: exit after this long without clients (default 1800; 0: never)")
    .option("--json", "with status: machine-readable")
    .action(async (action: string | undefined, o: { root?: string; idle?: string; json?: boolean }) => {
      process.exitCode = await daemonCommand(action, { ...o, cwd: process.cwd() });
    });

  p.command("lsp")
    .description("the language server an editor starts (LSP on stdio)")
    .option("--stdio", "speak LSP on stdin/stdout (the only transport)")
    .action(async () => {
      await lspCommand({ cwd: process.cwd() });
    });

  p.command("vis")
    .description("the web view: history, trials, activation and dataflow graphs, diffs, sources (served on 127.0.0.1 by the project's daemon)")
    .option("--port <port>", "port to listen on (default: any free port)")
    .option("--open", "open the page in the browser (xdg-open / open)")
    .action(async (o: { port?: string; open?: boolean }) => {
      process.exitCode = await visCommand({ ...o, cwd: process.cwd() });
    });

  p.command("doctor")
    .description("check the store (database integrity, schema, pending event logs, contents); exit 1 when something is wrong")
    .option("--salvage", "copy what can be read of a damaged database into a fresh store (the damaged file is kept)")
    .option("--json", "machine-readable report")
    .action((o: { salvage?: boolean; json?: boolean }) => {
      process.exitCode = doctorCommand({ ...o, cwd: process.cwd() });
    });

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
  // `now dataflow | head`: a reader that stops early is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  try {
    await program().parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const known = e instanceof NowError ? e : storeError(e);
    if (known) {
      // One line, whatever a wrapped library message held (JSON.parse quotes the input).
      process.stderr.write(`now: ${known.message.replace(/\s*\n\s*/g, " ").trim()}\n`);
      process.exitCode = known.exitCode;
      return;
    }
    throw e;
  }
}

/**
 * A SqliteError or file-system error the environment caused (a damaged, read-only or full
 * store), from whichever command, as one line naming the store; null for a bug.
 */
function storeError(e: unknown): NowError | null {
  const root = findStoreRoot(process.cwd());
  const file = lastOpenedStore() ?? (root ? dbPath(root) : "in .now/");
  return storeErrorOf(e, file) ?? fsStoreErrorOf(e);
}
