// The VS Code client (clients/vscode) without VS Code: a stub of the `vscode` module and a
// fake LanguageClient (both given to the extension through a Module._load hook) record what
// the extension does. Activation registers the commands and starts `now lsp --stdio`; each
// command sends the right custom request; running asks for the arguments with the last
// trial's as the default, from the run commands and from the "Run trial" code action;
// now/trialFinished updates the status bar; the graph command puts the SVG rendered by
// Graphviz (WebAssembly) in the webview.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { pathToFileURL } from "url";
import { test } from "node:test";
import Module from "module";
import type * as Ext from "../clients/vscode/src/extension";
import { LspMethods, type TrialSummary } from "../protocol/lsp";

const ROOT = path.join(__dirname, "..", "..");
const URI = "file:///p/experiment.py";

// --- the stub of `vscode` ------------------------------------------------------------------
type Item = { label: string; trial?: number | null };
const commands = new Map<string, (...args: unknown[]) => unknown>();
const settings: Record<string, unknown> = { serverPath: "/opt/now/bin/now", inlayHints: false };
const quickPickAnswers: ((items: (string | Item)[]) => string | Item | undefined)[] = [];
/** Each input box takes the next answer: given the box's options, what the user leaves in it (undefined: cancelled). */
const inputBoxAnswers: ((o: { prompt: string; value: string }) => string | undefined)[] = [];
const inputBoxes: { prompt: string; value: string }[] = [];
const messages: { kind: string; text: string }[] = [];
const opened: string[] = [];
const panels: { title: string; webview: { html: string } }[] = [];
const statusItems: { text: string; shown: boolean }[] = [];
const disposable = () => ({ dispose() {} });
const uri = { scheme: "file", toString: () => URI };

const vscodeStub = {
  StatusBarAlignment: { Left: 1, Right: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  ViewColumn: { Active: -1, Beside: -2, One: 1 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  commands: {
    registerCommand(id: string, f: (...args: unknown[]) => unknown) {
      commands.set(id, f);
      return { dispose: () => commands.delete(id) };
    },
    executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)!(...args),
  },
  workspace: {
    getConfiguration: (section: string) => ({
      get: (k: string, d?: unknown) => (k in settings ? settings[k] : d),
      update: async (k: string, v: unknown) => void (settings[k] = v),
      section,
    }),
    onDidChangeConfiguration: disposable,
    openTextDocument: async (o: { content: string }) => {
      opened.push(o.content);
      return { uri: { scheme: "untitled" } };
    },
  },
  window: {
    activeTextEditor: { document: { uri, languageId: "python" } },
    onDidChangeActiveTextEditor: disposable,
    createStatusBarItem() {
      const s = { text: "", shown: false, command: "", tooltip: "", show() { s.shown = true; }, hide() { s.shown = false; }, dispose() {} };
      statusItems.push(s);
      return s;
    },
    showQuickPick: async (items: (string | Item)[]) => {
      const a = quickPickAnswers.shift();
      assert.ok(a, "an unexpected quick pick");
      return a(items);
    },
    showInputBox: async (o: { prompt: string; value: string }) => {
      inputBoxes.push(o);
      const a = inputBoxAnswers.shift();
      assert.ok(a, "an unexpected input box");
      return a(o);
    },
    showInformationMessage: async (text: string) => void messages.push({ kind: "info", text }),
    showWarningMessage: async (text: string) => void messages.push({ kind: "warning", text }),
    showErrorMessage: async (text: string) => void messages.push({ kind: "error", text }),
    showTextDocument: async () => ({}),
    createWebviewPanel(_type: string, title: string) {
      const p = { title, webview: { html: "" }, onDidDispose: disposable, reveal() {}, dispose() {} };
      panels.push(p);
      return p;
    },
  },
};

// --- the fake LanguageClient -----------------------------------------------------------------
const trials: TrialSummary[] = [1, 2, 3].map((id) => ({
  id, uuid: `uuid-${id}`, script: "experiment.py", argv: ["experiment.py", "2013", String(2013 + id)],
  status: "finished", exit_code: 0, started_at: 1795669200 + id, duration: 0.5,
}));
let statusDuringRun = "";
const DOT = 'digraph activation {\n  rankdir=LR;\n  "a1" [label="<module>"];\n  "a2" [label="read"];\n  "a1" -> "a2";\n}\n';

class FakeClient {
  static last: FakeClient;
  requests: { method: string; params: unknown }[] = [];
  notifications: { method: string; params: unknown }[] = [];
  handlers = new Map<string, (p: unknown) => void>();
  started = false;
  stopped = false;
  constructor(readonly id: string, readonly name: string, readonly serverOptions: any, readonly clientOptions: any) {
    FakeClient.last = this;
  }
  async start() { this.started = true; }
  async stop() { this.stopped = true; }
  async sendRequest(method: string, params?: unknown): Promise<unknown> {
    this.requests.push({ method, params });
    switch (method) {
      case LspMethods.trials: return trials;
      case LspMethods.selectTrial: return trials.find((t) => t.id === (params as { trial: number }).trial) ?? trials[2];
      case LspMethods.graph: return DOT;
      case LspMethods.diff: return { text: "Trial 1 → trial 3\n  argv: 2014 → 2016\n", data: {} };
      case LspMethods.run:
        statusDuringRun = statusItems[0].text;
        return { trial: { ...trials[2], id: 4 }, exitCode: 0 };
    }
    throw new Error(`unexpected request ${method}`);
  }
  async sendNotification(method: string, params?: unknown) { this.notifications.push({ method, params }); }
  onNotification(method: string, h: (p: unknown) => void) {
    this.handlers.set(method, h);
    return { dispose: () => this.handlers.delete(method) };
  }
}

const M = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const load = M._load;
M._load = function (request: string, parent: unknown, isMain: boolean) {
  if (request === "vscode") return vscodeStub;
  if (request === "vscode-languageclient/node") return { LanguageClient: FakeClient };
  return load.call(this, request, parent, isMain);
};

const ext: typeof Ext = require("../clients/vscode/src/extension");

const GRAPHVIZ = path.join(ROOT, "clients", "vscode", "node_modules", "@hpcc-js", "wasm-graphviz", "dist", "index.js");

function lastRequest(c: FakeClient) {
  return c.requests[c.requests.length - 1];
}

test("VS Code client: activation, commands, trialFinished and the graph webview", async (t) => {
  const haveGraphviz = fs.existsSync(GRAPHVIZ);
  if (haveGraphviz) {
    // The extension imports @hpcc-js/wasm-graphviz from its own node_modules; the compiled
    // copy under dist/ does not see that folder, so the test hands the same module over.
    ext.deps.loadRenderer = async () => {
      const { Graphviz } = await import(pathToFileURL(GRAPHVIZ).href);
      const gv = await Graphviz.load();
      return async (dot: string) => gv.dot(dot, "svg") as string;
    };
  } else {
    ext.deps.loadRenderer = async () => { throw new Error("no Graphviz"); };
  }
  const subscriptions: { dispose(): void }[] = [];
  const e = await ext.activate({ subscriptions } as any);
  const c = FakeClient.last;

  // The server and the client options.
  assert.ok(c.started);
  assert.deepEqual(c.serverOptions, { command: "/opt/now/bin/now", args: ["lsp", "--stdio"] });
  assert.deepEqual(c.clientOptions.documentSelector, [{ scheme: "file", language: "python" }]);
  assert.deepEqual(c.clientOptions.initializationOptions, { inlayHints: false });
  for (const id of ["nowls.run", "nowls.runWithValues", "nowls.selectTrial", "nowls.showGraph", "nowls.diff", "nowls.toggleInlayHints"]) {
    assert.ok(commands.has(id), `${id} registered`);
  }
  // package.json contributes the same commands.
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "clients", "vscode", "package.json"), "utf8"));
  assert.deepEqual(pkg.contributes.commands.map((x: { command: string }) => x.command).sort(), [...commands.keys()].sort());
  assert.equal(pkg.main, "./out/extension.js");
  assert.deepEqual(pkg.activationEvents, ["onLanguage:python"]);
  const status = statusItems[0];
  assert.equal(status.text, "nowls");

  // now/trialFinished → status bar.
  assert.ok(c.handlers.has(LspMethods.trialFinished));
  c.handlers.get(LspMethods.trialFinished)!({ trial: trials[1] });
  assert.equal(status.text, "nowls: trial 2");
  assert.ok(status.shown);

  // nowls.selectTrial: now/trials, a quick pick, then now/selectTrial {uri, trial}.
  let offered: (string | Item)[] = [];
  quickPickAnswers.push((items) => ((offered = items), items.find((i) => typeof i !== "string" && i.trial === 1)));
  await vscodeStub.commands.executeCommand("nowls.selectTrial");
  assert.deepEqual(c.requests.slice(-2).map((r) => r.method), [LspMethods.trials, LspMethods.selectTrial]);
  assert.deepEqual(lastRequest(c).params, { uri: URI, trial: 1 });
  assert.deepEqual(offered.map((i) => (typeof i === "string" ? i : i.label)), ["latest", "trial 3", "trial 2", "trial 1"]);
  assert.equal(status.text, "nowls: trial 1");
  // A later trial does not change the document's selection.
  c.handlers.get(LspMethods.trialFinished)!({ trial: trials[2] });
  assert.equal(status.text, "nowls: trial 1");

  // nowls.showGraph: now/graph {kind, format: dot, trial: the selected one} → webview.
  quickPickAnswers.push(() => "activation");
  await vscodeStub.commands.executeCommand("nowls.showGraph");
  assert.deepEqual(lastRequest(c), { method: LspMethods.graph, params: { kind: "activation", format: "dot", trial: 1 } });
  assert.equal(panels.length, 1);
  const html = panels[0].webview.html;
  if (haveGraphviz) {
    assert.match(html, /<svg[\s>]/);
    assert.match(html, /&lt;module&gt;/); // the node label, as Graphviz escapes it
    assert.doesNotMatch(html, /<\?xml/);
  } else {
    t.diagnostic("clients/vscode/node_modules not installed: checked the dot fallback only");
    assert.match(html, /digraph activation/);
  }
  // history ignores the trial.
  quickPickAnswers.push(() => "history");
  await vscodeStub.commands.executeCommand("nowls.showGraph");
  assert.deepEqual(lastRequest(c).params, { kind: "history", format: "dot" });
  assert.equal(panels.length, 1, "the panel is reused");

  // nowls.diff: two quick picks → now/diff {a, b} → the text in a document.
  quickPickAnswers.push((items) => items.find((i) => typeof i !== "string" && i.trial === 1));
  quickPickAnswers.push((items) => items.find((i) => typeof i !== "string" && i.trial === 3));
  await vscodeStub.commands.executeCommand("nowls.diff");
  assert.deepEqual(lastRequest(c), { method: LspMethods.diff, params: { a: 1, b: 3 } });
  assert.match(opened[opened.length - 1], /^Trial 1 → trial 3/);

  // nowls.run: the last trial of this script (trial 3: 2013 2016) gives the input box its
  // default; left as it is → now/run {uri, args}; the status follows.
  const runs = () => c.requests.filter((r) => r.method === LspMethods.run).length;
  inputBoxAnswers.push((o) => o.value);
  await vscodeStub.commands.executeCommand("nowls.run");
  assert.deepEqual(inputBoxes[inputBoxes.length - 1], {
    prompt: "Arguments of experiment.py (as in a shell: quote an argument with spaces)", value: "2013 2016",
  });
  assert.deepEqual(lastRequest(c), { method: LspMethods.run, params: { uri: URI, args: ["2013", "2016"] } });
  assert.ok(messages.some((m) => m.kind === "info" && m.text === "nowls: trial 4 finished (exit code 0)"));
  // While it runs the status bar says so (the live progress itself comes from the server).
  assert.match(statusDuringRun, /running/);
  assert.equal(status.text, "nowls: trial 1", "then it shows the document's trial again");
  // An edited line is split as a shell would: a quoted argument keeps its space.
  inputBoxAnswers.push(() => `2013 "two words" 'it'\\''s'`);
  await vscodeStub.commands.executeCommand("nowls.run");
  assert.deepEqual(lastRequest(c).params, { uri: URI, args: ["2013", "two words", "it's"] });
  // Cancelled: nothing runs.
  const before = runs();
  inputBoxAnswers.push(() => undefined);
  await vscodeStub.commands.executeCommand("nowls.run");
  assert.equal(runs(), before);
  // nowls.runWithValues: the same, with fine.
  inputBoxAnswers.push((o) => o.value);
  await vscodeStub.commands.executeCommand("nowls.runWithValues");
  assert.deepEqual(inputBoxes[inputBoxes.length - 1], {
    prompt: "Arguments of experiment.py, run with values (as in a shell: quote an argument with spaces)", value: "2013 2016",
  });
  assert.deepEqual(lastRequest(c), { method: LspMethods.run, params: { uri: URI, args: ["2013", "2016"], fine: true } });
  // A script no trial ran: an empty default.
  assert.deepEqual(ext.lastArgumentsOf("file:///p/other.py", trials), []);
  assert.deepEqual(ext.lastArgumentsOf("file:///p/sub/experiment.py", trials), ["2013", "2016"]);
  assert.deepEqual(ext.lastArgumentsOf("file:///p/my%20experiment.py", [{ ...trials[0], script: "my experiment.py", argv: ["my experiment.py", "a b"] }]), ["a b"]);

  // The "Run trial" code action's command ([uri, args of the last trial, fine]) goes through
  // the middleware: the input box offers its arguments, quoted; what the user leaves there
  // is what the server gets.
  const sent: unknown[][] = [];
  const nextRun = async (_command: string, args: unknown[]) => {
    sent.push(args);
    return { trial: { ...trials[2], id: 5 }, exitCode: 0 };
  };
  const runTrial = (args: unknown[]) => c.clientOptions.middleware.executeCommand("now.runTrial", args, nextRun);
  inputBoxAnswers.push((o) => o.value);
  assert.equal((await runTrial([URI, ["2013", "a b"], false])).trial.id, 5);
  assert.deepEqual(inputBoxes[inputBoxes.length - 1].value, "2013 'a b'");
  assert.deepEqual(sent.pop(), [URI, ["2013", "a b"], false]);
  assert.ok(messages.some((m) => m.kind === "info" && m.text === "nowls: trial 5 finished (exit code 0)"));
  inputBoxAnswers.push(() => "2013 2015");
  await runTrial([URI, ["2013", "2014"], true]);
  assert.deepEqual(sent.pop(), [URI, ["2013", "2015"], true]);
  inputBoxAnswers.push(() => undefined);
  assert.equal(await runTrial([URI, ["2013", "2014"], false]), undefined);
  assert.deepEqual(sent, [], "a cancelled prompt runs nothing");
  // Arguments absent (an older server, another client's [uri]): an empty default, no values.
  inputBoxAnswers.push((o) => (assert.equal(o.value, ""), "1"));
  await runTrial([URI]);
  assert.deepEqual(sent.pop(), [URI, ["1"], false]);
  // A failure is shown, not thrown into VS Code's command machinery.
  inputBoxAnswers.push((o) => o.value);
  assert.equal(await c.clientOptions.middleware.executeCommand("now.runTrial", [URI, [], false], async () => { throw new Error("no such script"); }), undefined);
  assert.deepEqual(messages.filter((m) => m.kind === "error").map((m) => m.text), ["nowls: no such script"]);
  messages.length = 0;

  // Back to the default trial: now/selectTrial {uri, trial: null}.
  quickPickAnswers.push((items) => items[0]);
  await vscodeStub.commands.executeCommand("nowls.selectTrial");
  assert.deepEqual(lastRequest(c), { method: LspMethods.selectTrial, params: { uri: URI, trial: null } });
  assert.equal(status.text, "nowls: trial 3");

  // nowls.toggleInlayHints: workspace/didChangeConfiguration and the setting.
  await vscodeStub.commands.executeCommand("nowls.toggleInlayHints");
  assert.deepEqual(c.notifications, [{ method: "workspace/didChangeConfiguration", params: { settings: { nowls: { inlayHints: true } } } }]);
  assert.equal(settings.inlayHints, true);
  await vscodeStub.commands.executeCommand("nowls.toggleInlayHints");
  assert.equal(c.notifications.length, 2);
  assert.equal(settings.inlayHints, false);

  // The diffTrial code action's answer is shown.
  const next = async () => ({ text: "Trial 3 → trial 1\n", data: {} });
  await c.clientOptions.middleware.executeCommand("now.diffTrial", [URI, 1], next);
  assert.equal(opened[opened.length - 1], "Trial 3 → trial 1\n");

  assert.deepEqual(messages.filter((m) => m.kind === "error"), []);
  assert.ok(e.selected instanceof Map);
  await ext.deactivate();
  assert.ok(c.stopped);
  for (const s of subscriptions) s.dispose();
});

test("VS Code client: the .vsix package holds a working extension", async (t) => {
  const dir = path.join(ROOT, "clients", "vscode");
  if (!fs.existsSync(path.join(dir, "node_modules", "@vscode", "vsce"))) {
    if (process.env.CI === "true") assert.fail("clients/vscode/node_modules is missing (CI=true): the root `npm install` installs it");
    return t.skip("clients/vscode/node_modules not installed");
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "now-vsix-"));
  const vsix = path.join(tmp, "nowls.vsix");
  const r = spawnSync("npm", ["run", "--silent", "package", "--", "--out", vsix], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // A .vsix is a zip: unpack it as VS Code would install it.
  const un = spawnSync("python3", ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", vsix, tmp], { encoding: "utf8" });
  assert.equal(un.status, 0, un.stderr);
  const installed = path.join(tmp, "extension");
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
  assert.equal(manifest.name, "nowls");
  assert.ok(fs.existsSync(path.join(installed, manifest.main)), `${manifest.main} is packaged`);
  assert.ok(!fs.existsSync(path.join(installed, "src")), "sources are left out (.vscodeignore)");
  // Its runtime dependencies resolve inside the package, not from the repository.
  for (const dep of ["vscode-languageclient/node", "@hpcc-js/wasm-graphviz"]) {
    const where = require.resolve(dep, { paths: [installed] });
    assert.ok(where.startsWith(installed + path.sep), `${dep} → ${where}`);
  }
  // The packaged code activates: it registers the commands and starts the client.
  const packaged: typeof Ext = require(path.join(installed, manifest.main));
  assert.notEqual(packaged, ext, "the packaged copy, not the compiled test copy");
  const subscriptions: { dispose(): void }[] = [];
  await packaged.activate({ subscriptions } as any);
  assert.ok(FakeClient.last.started);
  assert.deepEqual([...commands.keys()].sort(), manifest.contributes.commands.map((x: { command: string }) => x.command).sort());
  await packaged.deactivate();
  for (const s of subscriptions) s.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("VS Code client: arguments as an editable line and back, as a shell splits them", () => {
  const { quoteArgs, splitArgs } = require("../clients/vscode/src/args") as typeof import("../clients/vscode/src/args");
  const cases: [string[], string][] = [
    [[], ""],
    [["2013", "2014"], "2013 2014"],
    [["a b", "it's", "", "--x=1", "$HOME"], `'a b' 'it'\\''s' '' --x=1 '$HOME'`],
  ];
  for (const [args, line] of cases) {
    assert.equal(quoteArgs(args), line);
    assert.deepEqual(splitArgs(line), args);
  }
  assert.deepEqual(splitArgs(`  a\\ b "c \\"d\\" \\x" e'f'g  `), ["a b", `c "d" \\x`, "efg"]);
  assert.deepEqual(splitArgs(`'open to the end`), ["open to the end"]);
});
