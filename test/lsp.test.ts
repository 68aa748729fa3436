// The language server end to end: the real `now lsp --stdio` spoken to over JSON-RPC,
// on a copy of examples/precipitation with two coarse trials and one fine trial.
import assert from "node:assert/strict";
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { pathToFileURL } from "url";
import { createMessageConnection, ProgressType, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { connectDaemon } from "../server/src/daemon/client";
import { runTitle } from "../server/src/lsp/codeActions";
import { LineMap } from "../server/src/lsp/lineMap";
import { matchesExpected, normalize, now, NOW, REPO, tempProject, waitFor } from "./helpers";

const EXPECTED = path.join(REPO, "test", "expected");

interface Server {
  conn: MessageConnection;
  diagnostics: Map<string, any[]>;
  notifications: { method: string; params: any }[];
  stop(): Promise<void>;
}

// Until `now lsp` is wired in cli.ts, the command's function is started directly.
function startServer(cwd: string): Server {
  const child = spawn(process.execPath, [NOW, "lsp", "--stdio"], { cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NOW_PYTHON: process.env.NOW_TEST_PYTHON || "python3" } });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const diagnostics = new Map<string, any[]>();
  const notifications: { method: string; params: any }[] = [];
  conn.onNotification("textDocument/publishDiagnostics", (p: any) => {
    diagnostics.set(p.uri, p.diagnostics);
  });
  // $/progress is dispatched by token, so each created token gets a handler.
  conn.onRequest("window/workDoneProgress/create", (p: { token: string | number }) => {
    conn.onProgress(new ProgressType<any>(), p.token, (value) => {
      notifications.push({ method: "$/progress", params: { token: p.token, value } });
    });
    return null;
  });
  conn.onNotification((method: string, params: any) => {
    notifications.push({ method, params });
  });
  conn.listen();
  return {
    conn, diagnostics, notifications,
    async stop() {
      await conn.sendRequest("shutdown");
      await conn.sendNotification("exit");
      await new Promise((r) => child.once("exit", r));
      conn.dispose();
      assert.equal(stderr, "");
    },
  };
}

function expectText(actual: string, name: string, dir: string): void {
  const norm = normalize(actual, dir).replace(/0x[0-9a-f]+/g, "0x…");
  const { ok, expected } = matchesExpected(norm, path.join(EXPECTED, name));
  assert.equal(norm, expected);
  assert.ok(ok);
}

test("line map: kept lines follow insertions and deletions; replaced lines are stale", () => {
  const old = "a\nb\nc\nd\n";
  const m = new LineMap(old, "new\na\nB\nc\n");
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => m.oldLine(n)), [null, { line: 0, stale: false }, { line: 1, stale: true }, { line: 2, stale: false }, null]);
  assert.deepEqual([0, 1, 2, 3].map((o) => m.newLine(o)), [{ line: 1, stale: false }, { line: 2, stale: true }, { line: 3, stale: false }, null]);
  assert.equal(m.oldLineText(1), "b");
  const same = new LineMap(old, old);
  assert.deepEqual(same.oldLine(3), { line: 3, stale: false });
});

test("the title of a Run trial code action: the arguments as a shell takes them, cut when long", () => {
  assert.equal(runTitle("experiment.py", [], false), "Run trial of experiment.py");
  assert.equal(runTitle("experiment.py", [], true), "Run trial of experiment.py with values");
  assert.equal(runTitle("a/b.py", ["2013", "two words", "it's"], false), "Run trial of a/b.py 2013 'two words' 'it'\\''s'");
  assert.equal(runTitle("b.py", ["--input", "data/very/long/path/to/the/input/file.csv", "--out", "x"], true),
    "Run trial of b.py --input data/very/long/path/to/the/inpu… with values");
});

test("now lsp: capabilities, hover, diagnostics, code actions, custom requests", async (t) => {
  const dir = path.join(tempProject("nowls-lsp-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  const uri = (f: string) => pathToFileURL(path.join(dir, f)).href;
  const experiment = uri("experiment.py");
  const precipitation = uri("precipitation.py");
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");

  const server = startServer(dir);
  const { conn } = server;
  try {
    const init: any = await conn.sendRequest("initialize", {
      processId: process.pid, rootUri: pathToFileURL(dir).href, workspaceFolders: null,
      capabilities: { textDocument: { hover: { contentFormat: ["markdown", "plaintext"] } }, window: { workDoneProgress: true } },
    });
    await conn.sendNotification("initialized", {});

    await t.test("capabilities snapshot", () => {
      expectText(JSON.stringify(init.capabilities, null, 2) + "\n", "lsp-capabilities.json", dir);
    });

    for (const [u, f] of [[experiment, "experiment.py"], [precipitation, "precipitation.py"]]) {
      await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: u, languageId: "python", version: 1, text: read(f) } });
    }
    const hover = (u: string, line: number, character: number): Promise<any> =>
      conn.sendRequest("textDocument/hover", { textDocument: { uri: u }, position: { line, character } });

    await t.test("hover on a variable, a function definition and a call", async () => {
      const lines = read("experiment.py").split("\n");
      const precLine = lines.findIndex((l) => l.startsWith("prec_a ="));
      const h1 = await hover(experiment, precLine, 2);
      assert.equal(h1.contents.kind, "markdown");
      assert.deepEqual(h1.range, { start: { line: precLine, character: 0 }, end: { line: precLine, character: 6 } });
      expectText(h1.contents.value + "\n", "lsp-hover-prec_a.md", dir);

      const defLine = read("precipitation.py").split("\n").indexOf("def read(path):");
      const h2 = await hover(precipitation, defLine, 5);
      expectText(h2.contents.value + "\n", "lsp-hover-def-read.md", dir);

      const h3 = await hover(experiment, precLine, lines[precLine].indexOf("sum_by_month") + 3);
      expectText(h3.contents.value + "\n", "lsp-hover-call-sum_by_month.md", dir);

      // A loop variable: first and last values kept, the rest counted.
      const loopLine = read("precipitation.py").split("\n").indexOf("            line = line.strip()");
      const h4 = await hover(precipitation, loopLine, 12);
      expectText(h4.contents.value + "\n", "lsp-hover-loop-line.md", dir);

      // A name only read on this line: its last assignment above.
      const h5 = await hover(experiment, precLine, lines[precLine].indexOf("days_a") + 1);
      expectText(h5.contents.value + "\n", "lsp-hover-read-days_a.md", dir);

      // A file name in a string literal: the trial's accesses of that file.
      const outLine = lines.findIndex((l) => l.startsWith("create_bargraph("));
      const h6 = await hover(experiment, outLine, lines[outLine].indexOf("out.svg") + 2);
      assert.deepEqual(h6.range.start, { line: outLine, character: lines[outLine].indexOf('"out.svg"') });
      assert.match(h6.contents.value, /^\*\*out\.svg\*\* — 1 access in trial 3 /);
      assert.match(h6.contents.value, /w {3}before [0-9a-f]{10}, after [0-9a-f]{10}, by create_bargraph #\d+/);

      // Nothing recorded: a comment, a keyword, a blank line.
      assert.equal(await hover(experiment, 0, 3), null);
      assert.equal(await hover(precipitation, defLine - 1, 0), null);
    });

    await t.test("inlay hints: opt-in, the last value at the end of assignment lines", async () => {
      const lines = read("experiment.py").split("\n");
      const range = { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } };
      const ask = (): Promise<any[]> => conn.sendRequest("textDocument/inlayHint", { textDocument: { uri: experiment }, range });
      assert.deepEqual(await ask(), []);
      await conn.sendNotification("workspace/didChangeConfiguration", { settings: { nowls: { inlayHints: true } } });
      const hints = await ask();
      const precLine = lines.findIndex((l) => l.startsWith("prec_a ="));
      const prec = hints.find((h) => h.position.line === precLine);
      assert.deepEqual(prec.position, { line: precLine, character: lines[precLine].length });
      assert.equal(prec.label, " prec_a = [176.4, 130.0, 225.6, …, 86.1,…");
      assert.match(prec.tooltip, /^prec_a = \[176\.4, 130\.0, 225\.6, …, 86\.1, 154\.9\] \(len=12\)\n\(trial 3\)$/);
      const loop = hints.find((h) => h.position.line === lines.findIndex((l) => l.startsWith("for month, a, b")));
      assert.match(loop.tooltip, /month = 'Dec' \(last of 12 values\)/);
      // Once per assignment: `parser = …` has its hint, the lines that only call its methods none.
      const parserLine = lines.findIndex((l) => l.startsWith("parser = "));
      assert.match(hints.find((h) => h.position.line === parserLine)?.label ?? "", /^ parser = /);
      const uses = lines.flatMap((l, i) => (l.startsWith("parser.add_argument") ? [i] : []));
      assert.equal(uses.length, 3);
      assert.deepEqual(hints.filter((h) => uses.includes(h.position.line)).map((h) => h.label), []);
      await conn.sendNotification("workspace/didChangeConfiguration", { settings: { nowls: { inlayHints: false } } });
      assert.deepEqual(await ask(), []);
    });

    await t.test("code lens over each function: calls, time, trial", async () => {
      const lenses: any[] = await conn.sendRequest("textDocument/codeLens", { textDocument: { uri: precipitation } });
      const src = read("precipitation.py").split("\n");
      const at = (def: string) => lenses.find((l) => l.range.start.line === src.indexOf(def))?.command.title.replace(/· [\d.]+ (µs|ms|s) ·/, "· <t> ·");
      assert.equal(at("def month_of(date):"), "730 calls · <t> · trial 3");
      assert.equal(at("def read(path):"), "2 calls · <t> · trial 3");
      assert.equal(at("def nice_max(value):"), "1 call · <t> · trial 3");
    });

    await t.test("now/trials and now/trial", async () => {
      const trials: any[] = await conn.sendRequest("now/trials");
      assert.deepEqual(trials.map((x) => [x.id, x.script, x.status]), [
        [1, "experiment.py", "finished"], [2, "experiment.py", "finished"], [3, "experiment.py", "finished"],
      ]);
      const one: any = await conn.sendRequest("now/trial", { trial: 3 });
      assert.equal(one.trial.granularity, "fine");
      assert.ok(one.summary.activations > 10 && one.summary.values > 10);
      assert.equal(typeof one.deployment.py_version, "string");
    });

    await t.test("now/selectTrial: a document shows the chosen trial, then the default again", async () => {
      const lines = read("experiment.py").split("\n");
      const precLine = lines.findIndex((l) => l.startsWith("prec_a ="));
      const at = lines[precLine].indexOf("sum_by_month") + 1;
      const chosen: any = await conn.sendRequest("now/selectTrial", { uri: experiment, trial: 2 });
      assert.equal(chosen.id, 2);
      const h: any = await hover(experiment, precLine, at);
      assert.match(h.contents.value, /2 calls in trial 2 /);
      assert.match(h.contents.value, /Previous trial of experiment\.py \(1\): 2 calls/);
      assert.equal(await hover(experiment, precLine, 2), null); // a coarse trial: no values
      assert.equal(((await conn.sendRequest("now/selectTrial", { uri: experiment, trial: null })) as any).id, 3);
      assert.match(((await hover(experiment, precLine, at)) as any).contents.value, /in trial 3 /);
    });

    await t.test("bad requests are answered and the server keeps serving", async () => {
      assert.equal(await hover(experiment, 9999, 0), null);
      assert.equal(await hover(experiment, 3, 9999), null);
      assert.equal(await hover(uri("nope.py"), 0, 0), null);
      assert.equal(await hover("untitled:Untitled-1", 0, 0), null);
      await assert.rejects(conn.sendRequest("now/trial", { trial: 99 }), /no trial 99/);
      await assert.rejects(conn.sendRequest("now/selectTrial", { uri: experiment, trial: "nosuchtag" }), /no trial 'nosuchtag'/);
      await assert.rejects(conn.sendRequest("workspace/executeCommand", { command: "now.runTrial", arguments: ["file:///elsewhere/x.py"] }));
      assert.equal((await conn.sendRequest<any[]>("now/trials")).length, 3);
    });

    await t.test("a changed line is marked stale; restore offers the trial's text as one edit", async () => {
      const text = read("experiment.py");
      const lines = text.split("\n");
      const precLine = lines.findIndex((l) => l.startsWith("prec_a ="));
      const col = lines[precLine].indexOf("args.unit");
      await conn.sendNotification("textDocument/didChange", {
        textDocument: { uri: experiment, version: 2 },
        contentChanges: [{ range: { start: { line: precLine, character: col }, end: { line: precLine, character: col + 9 } }, text: '"in"' }],
      });
      const h = await hover(experiment, precLine, 2);
      expectText(h.contents.value + "\n", "lsp-hover-stale.md", dir);
      // The line above is untouched: still current.
      const above: any = await hover(experiment, precLine - 2, 2);
      assert.doesNotMatch(above.contents.value, /changed since/);

      const actions: any[] = await conn.sendRequest("textDocument/codeAction", {
        textDocument: { uri: experiment }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [] },
      });
      assert.deepEqual(actions.map((a) => a.title.replace(/\(.*\)/, "(<time>)")), [
        "Restore this file from trial 3 (<time>)", "Show diff with trial 2", "Show diff with trial 1",
        "Run trial of experiment.py 2013 2014", "Run trial of experiment.py 2013 2014 with values",
      ]);
      const edits = actions[0].edit.changes[experiment];
      assert.deepEqual(edits, [{ range: { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: 0 } }, newText: text }]);
      // The last trial's arguments (trial 3: 2013 2014), so executing the command as it is re-runs it so.
      assert.deepEqual(actions[3].command, { title: "Run trial of experiment.py 2013 2014", command: "now.runTrial", arguments: [experiment, ["2013", "2014"], false] });
      assert.deepEqual(actions[4].command, {
        title: "Run trial of experiment.py 2013 2014 with values", command: "now.runTrial", arguments: [experiment, ["2013", "2014"], true],
      });
      // A script that never ran as a trial (precipitation.py only ran as a module): no arguments.
      const other: any[] = await conn.sendRequest("textDocument/codeAction", {
        textDocument: { uri: precipitation }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [] },
      });
      assert.deepEqual(other.filter((a) => a.title.startsWith("Run trial")).map((a) => [a.title, a.command.arguments]), [
        ["Run trial of precipitation.py", [precipitation, [], false]],
        ["Run trial of precipitation.py with values", [precipitation, [], true]],
      ]);
      const diff: any = await conn.sendRequest("workspace/executeCommand", actions[1].command);
      assert.match(diff.text, /^Trial 2 → trial 3\n/);
      assert.match(diff.text, /arguments   2013 2015 → 2013 2014/);
    });

    await t.test("now/graph of each kind and format, now/diff, bad parameters", async () => {
      const dot: string = await conn.sendRequest("now/graph", { trial: 3, kind: "activation", format: "dot", depth: 1 });
      assert.match(dot, /^digraph activation \{/);
      assert.match(dot, /"a1" -> "a3";/);
      const flow: any = await conn.sendRequest("now/graph", { trial: 3, kind: "dataflow" });
      assert.ok(flow.nodes.some((n: any) => n.kind === "file" && n.path === "out.svg"));
      const slice: any = await conn.sendRequest("now/graph", { trial: 3, kind: "dataflow", focus: flow.nodes.find((n: any) => n.path === "out.svg").key });
      assert.deepEqual(slice.nodes.filter((n: any) => n.kind === "file").map((n: any) => n.path).sort(), ["data/p2013.dat", "data/p2014.dat", "out.svg"]);
      const hist: string = await conn.sendRequest("now/graph", { kind: "history", format: "mermaid" });
      assert.match(hist, /^flowchart LR\n/);
      assert.match(hist, /t1 --> t2/);
      const defs: any = await conn.sendRequest("now/graph", { trial: 3, kind: "definitions" });
      assert.ok(defs.edges.some((e: any) => e.from === "d:precipitation.py:sum_by_month" && e.to === "d:precipitation.py:month_of"));
      const d: any = await conn.sendRequest("now/diff", { a: 1, b: 2 });
      assert.match(d.text, /\+ data\/p2015\.dat \(r\) only in trial 2/);
      assert.equal(d.data.a.id, 1);
      await assert.rejects(conn.sendRequest("now/graph", { kind: "nonsense" }), /kind must be one of activation, dataflow, history, definitions/);
      await assert.rejects(conn.sendRequest("now/graph", { kind: "dataflow", format: "png" }), /format must be one of/);
      await assert.rejects(conn.sendRequest("now/graph", { kind: "activation", trial: 42 }), /no trial 42/);
      await assert.rejects(conn.sendRequest("now/diff", { a: 1 }), /needs two trials/);
      assert.equal((await conn.sendRequest("now/trials") as any[]).length, 3, "still serving");
    });

    await t.test("diagnostics: the exception of a failed trial, cleared by a later success", async () => {
      assert.equal(now(["run", "experiment.py", "2013", "1999"], { cwd: dir }).status, 1);
      // No daemon runs here: selecting the default trial again re-publishes.
      server.diagnostics.clear();
      await conn.sendRequest("now/selectTrial", { uri: precipitation, trial: null });
      await waitFor(() => server.diagnostics.has(precipitation));
      const [d] = server.diagnostics.get(precipitation)!;
      const withLine = read("precipitation.py").split("\n").indexOf("    with open(path) as f:");
      assert.deepEqual(d.range, { start: { line: withLine, character: 4 }, end: { line: withLine, character: 25 } });
      expectText(d.message + "\n", "lsp-diagnostic.txt", dir);

      const run: any = await conn.sendRequest("workspace/executeCommand", { command: "now.runTrial", arguments: [precipitation] });
      assert.equal(run.exitCode, 0);
      assert.equal(run.trial.id, 5);
      await waitFor(() => server.notifications.some((n) => n.method === "now/trialFinished" && n.params.trial.id === 5));
      await waitFor(() => server.diagnostics.get(precipitation)?.length === 0);
      const progress = server.notifications.filter((n) => n.method === "$/progress").map((n) => n.params.value.kind);
      assert.equal(progress[0], "begin");
      assert.equal(progress[progress.length - 1], "end");
    });

    await t.test("cancelling the progress of a run stops the script; the trial is kept, cancelled", async () => {
      fs.writeFileSync(path.join(dir, "slow.py"), "import time\ndef wait():\n    time.sleep(30)\nwait()\n");
      const before = server.notifications.length;
      const running = conn.sendRequest("now/run", { uri: uri("slow.py") }) as Promise<any>;
      await waitFor(() => server.notifications.slice(before).some((n) => n.method === "$/progress" && n.params.value.kind === "report"), 20000);
      const token = server.notifications.slice(before).find((n) => n.method === "$/progress")!.params.token;
      await conn.sendNotification("window/workDoneProgress/cancel", { token });
      const result = await running;
      assert.equal(result.trial.status, "cancelled");
      assert.equal(JSON.parse(now(["show", String(result.trial.id), "--json"], { cwd: dir }).stdout).trial.status, "cancelled");
    });

    await t.test("the daemon now lsp started hears a terminal's trial; the editor gets now/trialFinished", async () => {
      await waitFor(() => fs.existsSync(path.join(dir, ".now", "daemon.sock")));
      const before = server.notifications.length;
      const r = now(["run", "experiment.py", "2013", "2015"], { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      const id = Number(/trial (\d+)/.exec(r.stderr)![1]);
      await waitFor(() => server.notifications.slice(before).some((n) => n.method === "now/trialFinished" && n.params.trial.id === id), 5000);
    });
  } finally {
    await server.stop();
  }
});

/** Initializes `server` for `dir` as a plain-text client and opens `file`; returns its URI and text. */
async function openPlain(server: Server, dir: string, file: string): Promise<{ uri: string; text: string }> {
  await server.conn.sendRequest("initialize", {
    processId: process.pid, rootUri: null, workspaceFolders: [{ uri: pathToFileURL(dir).href, name: path.basename(dir) }],
    capabilities: { textDocument: { hover: { contentFormat: ["plaintext"] } } },
  });
  await server.conn.sendNotification("initialized", {});
  const uri = pathToFileURL(path.join(dir, file)).href;
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  await server.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "python", version: 1, text } });
  return { uri, text };
}

test("now lsp: plain-text hovers; trials the daemon sees are announced", async () => {
  const dir = path.join(tempProject("nowls-lsp-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  const daemon = spawn(process.execPath, [NOW, "daemon", "start", "--idle", "0"], {
    cwd: dir, env: { ...process.env, NOW_PYTHON: process.env.NOW_TEST_PYTHON || "python3" }, stdio: "ignore",
  });
  let probe: MessageConnection | null = null;
  await waitFor(() => fs.existsSync(path.join(dir, ".now", "daemon.sock")));
  while (!probe) probe = await connectDaemon(dir);
  const clients = async () => ((await probe!.sendRequest("daemon/status")) as { clients: number }).clients;
  const server = startServer(dir);
  try {
    const { uri, text } = await openPlain(server, dir, "precipitation.py");
    const line = text.split("\n").indexOf("def to_unit(values, unit):");
    const h: any = await server.conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line, character: 6 } });
    assert.equal(h.contents.kind, "plaintext");
    expectText(h.contents.value + "\n", "lsp-hover-plain.txt", dir);
    // A coarse trial has no values: nothing on a variable.
    assert.equal(await server.conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line: line + 2, character: 8 } }), null);

    // The server follows the daemon: a terminal `now run` ends with now/trialFinished.
    const until = Date.now() + 10000;
    while ((await clients()) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 30));
    assert.equal(now(["run", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
    await waitFor(() => server.notifications.some((n) => n.method === "now/trialFinished" && n.params.trial.id === 3));
  } finally {
    await server.stop();
    probe.dispose();
    daemon.kill("SIGTERM");
  }
});

test("now lsp: a function called beyond --calls-keep: hover and code lens count every call, time the recorded ones", async () => {
  const dir = tempProject("nowls-lsp-bounded-");
  const src = "def f(i):\n    return i * 2\n\n\nfor i in range(10):\n    f(i)\n";
  fs.writeFileSync(path.join(dir, "m.py"), src);
  assert.equal(now(["run", "--calls-keep", "4", "m.py"], { cwd: dir }).status, 0);
  const server = startServer(dir);
  try {
    const { uri } = await openPlain(server, dir, "m.py");
    const h: any = await server.conn.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line: 0, character: 4 } });
    const text: string = h.contents.value;
    assert.match(text, /^f — 10 calls in trial 1/m);
    assert.match(text, /^the first 4 recorded: total .*, mean /m);
    assert.match(text, /^Last recorded call:/m);
    assert.match(text, /^ *f\(i=3\)\n *→ 6$/m, "the last recorded call is the fourth");
    const lenses: any[] = await server.conn.sendRequest("textDocument/codeLens", { textDocument: { uri } });
    const titles = lenses.map((l) => l.command?.title ?? "");
    assert.ok(titles.some((t) => /^10 calls \(4 recorded\) · /.test(t)), titles.join(" | "));
  } finally {
    await server.stop();
  }
});
