// A real daemon on a temporary project, reached the way editors and terminals reach it.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "child_process";
import fs from "fs";
import net from "net";
import path from "path";
import { test } from "node:test";
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { Methods, Notifications, type DaemonStatus, type TrialFinishedParams } from "../protocol/daemon";
import { integrity, json, NOW, now, PYTHON, tempProject, writeFiles, waitFor as until } from "./helpers";

const sock = (dir: string) => path.join(dir, ".now", "daemon.sock");

function startDaemon(dir: string): ChildProcess {
  const child = spawn(process.execPath, [NOW, "daemon", "start", "--idle", "0"], {
    cwd: dir, env: { ...process.env, NOW_PYTHON: PYTHON }, stdio: ["ignore", "ignore", "pipe"],
  });
  return child;
}

async function client(dir: string): Promise<MessageConnection> {
  let socket: net.Socket | null = null;
  // Until a daemon listens (a killed one's socket file refuses connections).
  await until(async () => {
    if (!fs.existsSync(sock(dir))) return false;
    const s = net.connect(sock(dir));
    const ok = await new Promise<boolean>((resolve) => s.once("connect", () => resolve(true)).once("error", () => resolve(false)));
    if (ok) socket = s;
    return ok;
  });
  const conn = createMessageConnection(new SocketMessageReader(socket!), new SocketMessageWriter(socket!));
  conn.listen();
  return conn;
}

function project(): string {
  const dir = tempProject("nowls-daemon-");
  writeFiles(dir, {
    "main.py": "import sys, time\ndef work(n):\n    time.sleep(float(n))\n    return n\nprint(work(sys.argv[1] if len(sys.argv) > 1 else 0))\n",
    "lib/helpers.py": "def helper():\n    return 1\n",
    "ignored/skip.py": "x = 1\n",
    ".gitignore": "ignored/\n",
    "venv/lib/site.py": "y = 2\n",
    "env-3.11/pyvenv.cfg": "home = /usr/bin\n",
    "env-3.11/lib/python3.11/site-packages/pkg.py": "z = 3\n",
  });
  return dir;
}

test("one daemon per root; two clients see the same files and the same trial", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    const b = await client(dir);
    assert.equal((fs.statSync(sock(dir)).mode & 0o777).toString(8), "600");
    const second = now(["daemon", "start"], { cwd: dir });
    assert.equal(second.status, 2);
    assert.match(second.stderr, /^now: a daemon already runs for .* \(pid \d+\)\n$/);

    const sa = (await a.sendRequest(Methods.status)) as DaemonStatus;
    assert.equal(sa.root, fs.realpathSync(dir) === dir ? dir : sa.root);
    assert.equal(sa.clients, 2);
    assert.deepEqual((await a.sendRequest(Methods.files) as { path: string }[]).map((f) => f.path), ["lib/helpers.py", "main.py"]);
    assert.deepEqual(await b.sendRequest(Methods.files), await a.sendRequest(Methods.files));

    const finished: TrialFinishedParams[] = [];
    b.onNotification(Notifications.finished, (p: TrialFinishedParams) => void finished.push(p));
    const progress: unknown[] = [];
    a.onNotification(Notifications.progress, (p) => void progress.push(p));
    const result = (await a.sendRequest(Methods.run, { script: "main.py", args: ["0"], progressToken: "t1" })) as { trial: { id: number; status: string }; exitCode: number };
    assert.equal(result.trial.status, "finished");
    assert.equal(result.exitCode, 0);
    await until(() => finished.length === 1);
    assert.equal(finished[0].trial.id, result.trial.id);
    assert.ok(progress.length >= 1);
    assert.deepEqual(await b.sendRequest(Methods.trials), await a.sendRequest(Methods.trials));
    // The script's output went to the trial's folder, not to the daemon's terminal.
    assert.equal(json(now(["show", "--json"], { cwd: dir })).trial.stdout_chars, 2);

    // A terminal's `now run` is followed by the daemon, and its clients hear of it.
    const r = now(["run", "main.py", "0"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    await until(() => finished.length === 2);
    assert.equal(finished[1].trial.id, 2);
    assert.match(fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8"), /following trial 2 run from a terminal/);
    a.dispose();
    b.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("bad messages get an error answer or a log line; the daemon keeps serving", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    await assert.rejects(a.sendRequest("no/such/method", {}), (e: { code: number }) => e.code === -32601);
    await assert.rejects(a.sendRequest(Methods.run, { script: "missing.py" }), /no such script: missing\.py/);
    await assert.rejects(a.sendRequest(Methods.cancel, { trial: 99 }), /trial 99 is not running in this daemon/);
    // Raw garbage on a second connection.
    const raw = net.connect(sock(dir));
    await new Promise((r) => raw.once("connect", r));
    raw.write("Content-Length: 9\r\n\r\n{not json");
    raw.write("this is not even a header\r\n\r\n");
    await new Promise((r) => setTimeout(r, 200));
    raw.destroy();
    const s = (await a.sendRequest(Methods.status)) as DaemonStatus;
    assert.equal(s.pid, d.pid);
    assert.match(fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8"), /client sent something unreadable|client: /);
    a.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("a trial run by the daemon can be cancelled; it is kept, marked cancelled", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    let current: string | null = null;
    a.onNotification(Notifications.progress, (p: { current: string | null }) => void (current = p.current));
    const running = a.sendRequest(Methods.run, { script: "main.py", args: ["30"] }) as Promise<{ trial: { id: number; status: string } }>;
    await until(() => current === "work", 20000); // the script is inside work(), sleeping
    await a.sendRequest(Methods.cancel, { trial: 1 });
    const result = await running;
    assert.equal(result.trial.status, "cancelled");
    const shown = json(now(["show", "1", "--json", "-a"], { cwd: dir }));
    assert.equal(shown.trial.status, "cancelled");
    assert.ok(shown.activations.some((x: { qualname: string }) => x.qualname === "work"));
    a.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("SIGKILL of the daemon: a new one starts over the stale socket and lock; no trial is lost", async () => {
  const dir = project();
  let d = startDaemon(dir);
  const a = await client(dir);
  await a.sendRequest(Methods.run, { script: "main.py", args: ["0"] });
  void a.sendRequest(Methods.run, { script: "main.py", args: ["1.5"] }).catch(() => "lost");
  await until(async () => ((await a.sendRequest(Methods.status)) as DaemonStatus).runningTrials.length === 1);
  await new Promise((r) => setTimeout(r, 300));
  const gone = new Promise((r) => d.once("exit", r));
  d.kill("SIGKILL");
  await gone;
  assert.ok(fs.existsSync(sock(dir)), "the killed daemon leaves its socket");
  d = startDaemon(dir);
  try {
    const b = await client(dir);
    await until(async () => ((await b.sendRequest(Methods.status).catch(() => null)) as DaemonStatus | null)?.pid === d.pid);
    // The orphaned tracer stops recording when its daemon dies (the script goes on); the
    // next command ingests what it wrote and says the record is incomplete.
    await new Promise((r) => setTimeout(r, 1800));
    const trials = json(now(["list", "--json"], { cwd: dir }));
    assert.deepEqual(trials.map((t: { id: number; status: string }) => [t.id, t.status]), [[1, "finished"], [2, "interrupted"]]);
    assert.match(trials[1].incomplete, /died; recording stopped/);
    assert.equal(integrity(dir), "ok");
    b.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("the index: both clients see a save; odd files are skipped with a log line, and it keeps serving", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    const b = await client(dir);
    type Index = { definitions: { qualname: string }[]; skipped?: string };
    const names = async (c: MessageConnection, p: string) =>
      ((await c.sendRequest(Methods.definitions, { path: p })) as Index).definitions.map((x) => x.qualname);
    assert.deepEqual(await names(a, "main.py"), ["work"]);
    fs.writeFileSync(path.join(dir, "main.py"), "class Lab:\n    def run(self):\n        pass\n\ndef work(n, m=2):\n    return n\n");
    await until(async () => (await names(b, "main.py")).length === 3);
    assert.deepEqual(await names(a, "main.py"), ["Lab", "Lab.run", "work"]);
    // A binary file named .py, a 5 MB one, one deleted right after it appeared.
    fs.writeFileSync(path.join(dir, "blob.py"), Buffer.from([0x70, 0x00, 0xff, 0x00]));
    fs.writeFileSync(path.join(dir, "huge.py"), "x = 1\n".repeat(900_000));
    fs.writeFileSync(path.join(dir, "brief.py"), "def gone(): pass\n");
    fs.rmSync(path.join(dir, "brief.py"));
    await until(async () => ((await a.sendRequest(Methods.status)) as DaemonStatus).indexedFiles >= 4);
    assert.equal(((await a.sendRequest(Methods.definitions, { path: "blob.py" })) as Index).skipped, "binary");
    assert.equal(((await a.sendRequest(Methods.definitions, { path: "huge.py" })) as Index).skipped, "too large");
    await assert.rejects(a.sendRequest(Methods.definitions, { path: "brief.py" }), /not an indexed Python file/);
    await assert.rejects(a.sendRequest(Methods.definitions, { path: "ignored/skip.py" }), /not an indexed Python file/);
    const log = fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8");
    assert.match(log, /blob\.py not parsed \(binary\)/);
    assert.match(log, /huge\.py not parsed \(too large\)/);
    assert.deepEqual(await names(b, "main.py"), ["Lab", "Lab.run", "work"]);
    // The change of work's signature is in its history.
    const hist = json(now(["history", "--definitions", "work", "--format", "json"], { cwd: dir }));
    assert.deepEqual(hist.map((h: { change: string }) => h.change), ["added", "signature"]);
    a.dispose();
    b.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("an editor's unsaved buffer: opened, edited incrementally, closed", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    type Index = { definitions: { qualname: string }[] };
    const open = (await a.sendRequest(Methods.open, { path: "main.py", text: "def draft(a):\n    return a\n" })) as Index;
    assert.deepEqual(open.definitions.map((x) => x.qualname), ["draft"]);
    const changed = (await a.sendRequest(Methods.change, {
      path: "main.py",
      changes: [{ range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: "\nclass Né:\n    def m(self):\n        pass\n" }],
    })) as Index;
    assert.deepEqual(changed.definitions.map((x) => x.qualname), ["draft", "Né", "Né.m"]);
    assert.deepEqual(((await a.sendRequest(Methods.definitions, { path: "main.py" })) as Index).definitions.map((x) => x.qualname), ["draft", "Né", "Né.m"]);
    await a.sendRequest(Methods.close, { path: "main.py" });
    assert.deepEqual(((await a.sendRequest(Methods.definitions, { path: "main.py" })) as Index).definitions.map((x) => x.qualname), ["work"]);
    await assert.rejects(a.sendRequest(Methods.change, { path: "main.py", changes: [] }), /main\.py is not open/);
    a.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});

test("several trials run at once in one daemon", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const a = await client(dir);
    const b = await client(dir);
    type Result = { trial: { id: number; status: string } };
    const results = (await Promise.all([
      a.sendRequest(Methods.run, { script: "main.py", args: ["0.4"] }),
      b.sendRequest(Methods.run, { script: "main.py", args: ["0.4"] }),
      a.sendRequest(Methods.run, { script: "main.py", args: ["0.2"] }),
    ])) as Result[];
    assert.deepEqual(results.map((r) => r.trial.id).sort(), [1, 2, 3]);
    assert.ok(results.every((r) => r.trial.status === "finished"));
    assert.equal(integrity(dir), "ok");
    a.dispose();
    b.dispose();
  } finally {
    d.kill("SIGTERM");
  }
});
