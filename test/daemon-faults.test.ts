// The daemon outlives its clients, and `now run` outlives its daemon: clients that vanish
// mid-trial, a daemon that stops answering or is killed, a project deleted under it.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "child_process";
import fs from "fs";
import http from "http";
import net from "net";
import path from "path";
import { test } from "node:test";
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { Methods, type DaemonStatus } from "../protocol/daemon";
import { socketPath } from "../server/src/daemon/paths";
import { integrity, json, now, NOW, nowAsync, PYTHON, tempProject, waitFor, writeFiles } from "./helpers";

const ENV = { ...process.env, NOW_PYTHON: PYTHON };

function startDaemon(dir: string): ChildProcess {
  return spawn(process.execPath, [NOW, "daemon", "start", "--idle", "0"], { cwd: dir, env: ENV, stdio: "ignore" });
}

async function connect(dir: string): Promise<{ conn: MessageConnection; socket: net.Socket }> {
  let socket: net.Socket | null = null;
  await waitFor(async () => {
    if (!fs.existsSync(socketPath(dir))) return false;
    const s = net.connect(socketPath(dir));
    const ok = await new Promise<boolean>((resolve) => s.once("connect", () => resolve(true)).once("error", () => resolve(false)));
    if (ok) socket = s;
    return ok;
  });
  socket!.on("error", () => {});
  const conn = createMessageConnection(new SocketMessageReader(socket!), new SocketMessageWriter(socket!));
  conn.listen();
  return { conn, socket: socket! };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))));
}

/** What a daemon must never write: the marks of an error nothing handled. */
function assertCleanLog(dir: string): void {
  const log = fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8");
  assert.doesNotMatch(log, /\(a bug\)/, log);
}

function project(): string {
  const dir = tempProject("nowls-daemon-faults-");
  writeFiles(dir, {
    "work.py":
      "import sys, time\n" +
      "def step(i):\n    return i * i\n" +
      "for i in range(20000):\n    step(i)\n" +
      "time.sleep(float(sys.argv[1]))\n" +
      "sys.exit(int(sys.argv[2]))\n",
  });
  now(["run", "work.py", "0", "0"], { cwd: dir, env: ENV }); // the store exists before the daemon
  return dir;
}

test("clients that disconnect mid-trial: the daemon logs the undelivered notifications and keeps serving", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    const stay = await connect(dir);
    // Six clients start a trial each and vanish at once: the daemon's progress and
    // finished notifications then go to closed sockets.
    for (let i = 0; i < 6; i++) {
      const c = await connect(dir);
      c.conn.sendRequest(Methods.run, { script: "work.py", args: ["0.3", String(i % 4)], progressToken: `t${i}` }).catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
      c.socket.destroy();
    }
    await waitFor(() => {
      const trials = json(now(["list", "--json"], { cwd: dir }));
      return trials.length === 7 && trials.every((t: { status: string }) => t.status !== "running");
    }, 30000);
    const status = (await stay.conn.sendRequest(Methods.status)) as DaemonStatus;
    assert.equal(status.runningTrials.length, 0);
    assert.equal(d.exitCode, null, "the daemon is still running");
    const trials = json(now(["list", "--json"], { cwd: dir }));
    assert.deepEqual(trials.slice(1).map((t: { exit_code: number }) => t.exit_code).sort(), [0, 0, 1, 1, 2, 3]);
    assertCleanLog(dir);
    stay.conn.dispose();
  } finally {
    d.kill("SIGKILL");
  }
  assert.equal(integrity(dir), "ok");
});

test("a daemon that stops answering: now run takes the ingestion back and exits with the script's code", async () => {
  const dir = project();
  const d = startDaemon(dir);
  try {
    await connect(dir).then((c) => c.conn.dispose());
    const run = nowAsync(["run", "work.py", "1", "3"], { cwd: dir, env: ENV });
    let stderr = "";
    run.stderr!.on("data", (b) => (stderr += b));
    await new Promise((r) => setTimeout(r, 300));
    process.kill(d.pid!, "SIGSTOP"); // alive, holding its socket, answering nothing
    const code = await exited(run);
    assert.equal(code, 3, stderr);
    assert.match(stderr, /^now: trial 2 failed \(3\) in .* \(now show 2\)\n$/);
    const t = json(now(["show", "--json", "2"], { cwd: dir })).trial;
    assert.equal(t.status, "failed");
    assert.equal(t.exit_code, 3);
  } finally {
    d.kill("SIGKILL");
  }
  assert.equal(integrity(dir), "ok");
});

test("a daemon killed while it ingests a trial: now run finishes it and exits with the script's code", async () => {
  const dir = project();
  const d = startDaemon(dir);
  await connect(dir).then((c) => c.conn.dispose());
  const run = nowAsync(["run", "work.py", "1", "4"], { cwd: dir, env: ENV });
  let stderr = "";
  run.stderr!.on("data", (b) => (stderr += b));
  await new Promise((r) => setTimeout(r, 500));
  d.kill("SIGKILL");
  assert.equal(await exited(run), 4, stderr);
  assert.match(stderr, /^now: trial 2 failed \(4\) in .* \(now show 2\)\n$/);
  const shown = json(now(["show", "--json", "-a", "2"], { cwd: dir }));
  assert.equal(shown.trial.status, "failed");
  assert.equal(shown.trial.incomplete, null);
  assert.equal(integrity(dir), "ok");
});

test("a daemon leaves at once when its project folder is deleted, and when its store is", async () => {
  for (const victim of ["folder", "store"]) {
    const dir = project();
    const d = startDaemon(dir);
    await connect(dir).then((c) => c.conn.dispose());
    const started = Date.now();
    if (victim === "folder") fs.rmSync(dir, { recursive: true, force: true });
    else fs.rmSync(path.join(dir, ".now", "db.sqlite"));
    const code = await Promise.race([exited(d), new Promise<string>((r) => setTimeout(() => r("still running"), 10000))]);
    if (code === "still running") d.kill("SIGKILL");
    assert.equal(code, 0, `the daemon left after its ${victim} was deleted`);
    assert.ok(Date.now() - started < 10000);
    if (victim === "store") {
      assert.match(fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8"), /stopping: the project folder or its store is gone/);
      assert.equal(fs.existsSync(socketPath(dir)), false);
    }
  }
});

test("a daemon with no client leaves after its idle time; an open web page counts as a client", async () => {
  const dir = project();
  const d = spawn(process.execPath, [NOW, "daemon", "start", "--idle", "2"], { cwd: dir, env: ENV, stdio: "ignore" });
  try {
    await connect(dir).then((c) => c.conn.dispose());
    const vis = now(["vis"], { cwd: dir, env: ENV });
    assert.equal(vis.status, 0, vis.stderr);
    const url = vis.stdout.trim();
    // A page listening to the trial events: the daemon must stay while it is open.
    const page = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${url}api/events`, resolve).on("error", reject));
    assert.equal(page.statusCode, 200);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(d.exitCode, null, "an open page keeps the daemon");
    const closedAt = Date.now();
    page.destroy();
    const code = await Promise.race([exited(d), new Promise<string>((r) => setTimeout(() => r("still running"), 8000))]);
    assert.equal(code, 0, "the daemon left once the page closed and its idle time passed");
    assert.ok(Date.now() - closedAt >= 1500, "not before its idle time");
    assert.match(fs.readFileSync(path.join(dir, ".now", "daemon.log"), "utf8"), /stopping: idle for 2 s/);
  } finally {
    d.kill("SIGKILL");
  }
});
