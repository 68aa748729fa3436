import fs from "fs";
import net from "net";
import path from "path";
import {
  createMessageConnection, ResponseError, ErrorCodes, SocketMessageReader, SocketMessageWriter, type MessageConnection,
} from "vscode-jsonrpc/node";
import {
  DAEMON_PROTOCOL_VERSION, Methods, Notifications, type DaemonStatus, type RunParams, type TrialSummary, type VisParams, type VisResult,
} from "../../../protocol/daemon";
import { NowError } from "../errors";
import { Ingester } from "../ingest/ingester";
import { dbPath, eventLogPath } from "../paths";
import { finishFromLog, recoverOrphanTrials, trialProcessesAlive } from "../run/recover";
import { startTrial, type RunningTrial } from "../run/runTrial";
import { openDatabase, type DB } from "../store/database";
import { getTrial, listTrials, type TrialRow } from "../store/queries";
import { resolveTrial } from "../commands/common";
import { acquireLock, releaseLock } from "./lock";
import { DaemonLog } from "./log";
import { lockPath, logPath, socketPath } from "./paths";
import { ProjectWatcher } from "./watcher";
import { Indexer } from "./indexer";
import type { ContentChange } from "../index/document";
import { VisServer } from "../vis/server";

export const VERSION = "0.1.0";

/** How often the daemon checks that its project and store still exist. */
const PRESENCE_CHECK_MS = 2000;

/** A trial a terminal runs and the daemon ingests. */
interface Followed { followed: Ingester; timer: NodeJS.Timeout }

export interface DaemonOptions {
  /** Exit after this long with no client and no running trial (0: never). */
  idleSeconds: number;
  echoLog?: boolean;
}

export function summary(t: TrialRow): TrialSummary {
  return {
    id: t.id, uuid: t.uuid, script: t.script, argv: t.argv, status: t.status, exit_code: t.exit_code,
    started_at: t.started_at, duration: t.duration,
  };
}

/**
 * The project daemon: one per root. It owns the socket, the watcher and the index, runs
 * trials for clients and follows the ones terminals run, and tells every client when a
 * trial ends. Everything it knows about trials is in the store, so killing it loses
 * nothing: a new daemon starts from the store.
 */
export class Daemon {
  private server: net.Server | null = null;
  private readonly clients = new Set<MessageConnection>();
  private readonly running = new Map<number, RunningTrial | Followed>();
  private readonly started = Date.now();
  private idleTimer: NodeJS.Timeout | null = null;
  private db!: DB;
  private indexer!: Indexer;
  private ready: Promise<void> = Promise.resolve();
  private isReady = false;
  readonly log: DaemonLog;
  readonly watcher: ProjectWatcher;
  private stopping = false;
  /** The web view (`now vis`), once a client asked for it. */
  private vis: VisServer | null = null;
  /** What to do once stopped (the CLI exits the process). */
  onStopped: () => void = () => {};
  /** Checks that the project folder and its store are still there. */
  private presenceTimer: NodeJS.Timeout | null = null;
  private storeIdentity = "";

  constructor(readonly root: string, private readonly opts: DaemonOptions) {
    this.log = new DaemonLog(logPath(root), opts.echoLog);
    this.watcher = new ProjectWatcher(root, this.log);
  }

  /** Listens; throws a NowError if another daemon already serves this root. */
  async start(): Promise<void> {
    const lock = acquireLock(lockPath(this.root));
    if (!lock.ok) throw new NowError(`a daemon already runs for ${this.root} (pid ${lock.pid})`);
    this.db = openDatabase(this.root, { create: true });
    const sock = socketPath(this.root);
    fs.rmSync(sock, { force: true }); // a killed daemon's socket: we hold the lock now
    // The socket is created with mode 0600: only this user may connect.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server = net.createServer((s) => this.accept(s));
        this.server.once("error", reject);
        this.server.listen(sock, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    this.indexer = new Indexer(this.root, this.db, this.log);
    this.watcher.onBatch = (changes) => void this.indexer.enqueue(changes);
    // Clients may connect at once; questions about the index wait for the first scan.
    this.ready = this.watcher.start().then(() => this.indexer.idle()).then(() => void (this.isReady = true));
    await this.ready;
    this.log.write(`daemon ${VERSION} serving ${this.root} on ${sock}`);
    this.guardProcess();
    this.storeIdentity = this.identity() ?? "";
    this.presenceTimer = setInterval(() => this.checkPresence(), PRESENCE_CHECK_MS);
    this.presenceTimer.unref();
    this.armIdle();
  }

  /**
   * The daemon serves many clients for hours: an error none of its handlers caught is a
   * bug, logged (tests look for these lines), never a reason to drop every client at once.
   */
  private guardProcess(): void {
    process.on("uncaughtException", (e) => this.log.write(`uncaught exception (a bug): ${(e as Error).stack ?? e}`));
    process.on("unhandledRejection", (e) => this.log.write(`unhandled rejection (a bug): ${(e as Error)?.stack ?? e}`));
  }

  /** The store's file identity; null when the folder or the store is gone. */
  private identity(): string | null {
    try {
      const st = fs.statSync(dbPath(this.root));
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  }

  /** A daemon whose project was deleted (or whose store was replaced) has nothing left to serve. */
  private checkPresence(): void {
    const now = this.identity();
    if (now === this.storeIdentity) return;
    const why = now === null ? "the project folder or its store is gone" : "the store was replaced";
    void this.stop(why).then(() => this.onStopped());
  }

  /** Sends a notification; a client that has gone by now is simply no longer told. */
  private notify(conn: MessageConnection, method: string, params: unknown): void {
    try {
      conn.sendNotification(method, params).catch((e: Error) => this.log.write(`notification ${method} not delivered: ${e.message}`));
    } catch (e) {
      this.log.write(`notification ${method} not delivered: ${(e as Error).message}`);
    }
  }

  private accept(socket: net.Socket): void {
    const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket), {
      // A client that left before its answer was written shows up here: worth a line, no more.
      error: (m) => this.log.write(`client connection: ${m}`), warn: (m) => this.log.write(`client connection: ${m}`),
      info: () => {}, log: () => {},
    });
    this.clients.add(conn);
    this.disarmIdle();
    this.log.write(`client connected (${this.clients.size} now)`);
    conn.onError(([err]) => this.log.write(`client sent something unreadable: ${err.message}`));
    conn.onClose(() => {
      this.clients.delete(conn);
      this.log.write(`client left (${this.clients.size} now)`);
      this.armIdle();
    });
    socket.on("error", (e) => this.log.write(`client socket: ${e.message}`));
    const handle = <P, R>(method: string, fn: (p: P, conn: MessageConnection) => R | Promise<R>) =>
      conn.onRequest(method, async (p: P) => {
        try {
          return await fn(p ?? ({} as P), conn);
        } catch (e) {
          if (e instanceof NowError) throw new ResponseError(ErrorCodes.InvalidParams, e.message);
          this.log.write(`${method} failed (a bug): ${(e as Error).stack ?? e}`);
          throw new ResponseError(ErrorCodes.InternalError, (e as Error).message);
        }
      });
    handle(Methods.status, () => this.status());
    handle(Methods.stop, () => {
      // Let the answer reach the client before its connection is closed.
      setTimeout(() => void this.stop("asked to stop").then(() => this.onStopped()), 50);
      return { stopping: true };
    });
    handle(Methods.trials, () => listTrials(this.db).map(summary));
    handle(Methods.trial, (p: { trial?: string | number }) => summary(resolveTrial(this.db, p.trial === undefined ? undefined : String(p.trial))));
    handle(Methods.run, (p: RunParams, c) => this.run(p, c));
    handle(Methods.cancel, (p: { trial: number }) => this.cancel(p.trial));
    handle(Methods.follow, (p: { trial: number }) => this.follow(p.trial));
    handle(Methods.ended, (p: { trial: number; exitCode: number | null; signal: string | null }) => this.ended(p));
    handle(Methods.files, () => this.watcher.files());
    handle(Methods.vis, (p: VisParams) => this.startVis(p));
    handle(Methods.open, (p: { path: string; text: string }) => {
      if (typeof p.path !== "string" || typeof p.text !== "string") throw new NowError("index/open needs a path and a text");
      return this.indexer.openBuffer(p.path, p.text);
    });
    handle(Methods.change, (p: { path: string; changes: ContentChange[] }) => {
      if (typeof p.path !== "string" || !Array.isArray(p.changes)) throw new NowError("index/change needs a path and changes");
      return this.indexer.changeBuffer(p.path, p.changes);
    });
    handle(Methods.close, (p: { path: string }) => {
      this.indexer.closeBuffer(p.path);
      return { closed: p.path };
    });
    handle(Methods.definitions, async (p: { path: string }) => {
      if (typeof p.path !== "string") throw new NowError("index/definitions needs a path");
      await this.ready;
      await this.indexer.idle(); // a save just before the question is answered too
      return this.indexer.definitions(p.path.split(path.sep).join("/"));
    });
    conn.listen();
  }

  status(): DaemonStatus {
    return {
      protocol: DAEMON_PROTOCOL_VERSION, version: VERSION, pid: process.pid, root: this.root,
      uptime: (Date.now() - this.started) / 1000, clients: this.clients.size,
      watchedFiles: this.watcher.size(), indexedFiles: this.indexer.size(),
      runningTrials: [...this.running.keys()], ready: this.isReady,
    };
  }

  /** Serves the web view; a second call answers the address already served. */
  private async startVis(p: VisParams): Promise<VisResult> {
    const port = p.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new NowError("vis/start: port must be a whole number from 0 to 65535");
    if (this.vis?.listening) {
      if (port !== 0 && port !== this.vis.portNumber) {
        throw new NowError(`now vis already serves this project on port ${this.vis.portNumber} (now daemon stop ends it)`);
      }
      return { url: this.vis.url, port: this.vis.portNumber, started: false };
    }
    const vis = new VisServer({
      root: this.root, db: () => this.db, log: (l) => this.log.write(l),
      onClients: (n) => (n > 0 ? this.disarmIdle() : this.armIdle()),
    });
    const url = await vis.start(port);
    this.vis = vis;
    return { url, port: vis.portNumber, started: true };
  }

  /** A trial for a client: its output goes to files in the trial's folder. */
  private async run(p: RunParams, conn: MessageConnection) {
    if (typeof p.script !== "string" || !p.script) throw new NowError("trial/run needs a script");
    const trial = await startTrial({
      script: p.script, args: p.args ?? [], cwd: p.cwd ?? this.root, python: p.python, fine: p.fine,
      redact: true, env: process.env, stdio: "files",
      onProgress: (pr) => this.notify(conn, Notifications.progress, { token: p.progressToken ?? null, ...pr }),
    });
    this.running.set(trial.trialId, trial);
    this.disarmIdle();
    this.log.write(`trial ${trial.trialId} started: ${p.script}`);
    try {
      const result = await trial.done;
      this.broadcastFinished(result.trial);
      return { trial: summary(result.trial), exitCode: result.exitCode };
    } finally {
      this.running.delete(trial.trialId);
      this.armIdle();
    }
  }

  private cancel(id: number) {
    const t = this.running.get(id);
    if (!t || !("cancel" in t)) throw new NowError(`trial ${id} is not running in this daemon`);
    t.cancel();
    this.log.write(`trial ${id} cancelled`);
    return { cancelling: id };
  }

  /** A terminal's `now run` hands its trial's ingestion to the daemon. */
  private follow(id: number) {
    const t = getTrial(this.db, id);
    if (!t) throw new NowError(`no trial ${id}`);
    if (t.status !== "running") throw new NowError(`trial ${id} is not running`);
    const started = Date.now();
    let events = 0;
    const ingester = new Ingester(this.db, id, this.root, eventLogPath(this.root, t.uuid), (batch) => {
      events += batch.length;
      for (const c of this.clients) this.notify(c, Notifications.progress, { token: null, trial: id, events, current: null, elapsed: (Date.now() - started) / 1000 });
    });
    // A quarter second of ingestion per tick at most: the daemon keeps answering its
    // other clients while a big trial streams in.
    let ticks = 0;
    const timer = setInterval(() => {
      try {
        ingester.drain(250);
        // A `now run` killed before it could say `ended`: finish its trial as any command
        // would recover it, instead of following it forever.
        if (++ticks % 10 === 0 && !trialProcessesAlive(getTrial(this.db, id) ?? t, this.root)) {
          this.orphaned(id);
        }
      } catch (e) {
        this.log.write(`trial ${id}: ingest deferred: ${(e as Error).message}`);
      }
    }, 100);
    this.running.set(id, { followed: ingester, timer });
    this.disarmIdle();
    this.log.write(`following trial ${id} run from a terminal`);
    return { following: id };
  }

  private orphaned(id: number): void {
    const f = this.running.get(id);
    if (!f || !("followed" in f)) return;
    clearInterval(f.timer);
    this.running.delete(id);
    const recovered = recoverOrphanTrials(this.db, this.root).find((t) => t.id === id);
    this.log.write(`trial ${id}: its now run died; ${recovered ? "finished from its log" : "left for the next command"}`);
    const done = getTrial(this.db, id);
    if (done && done.status !== "running") this.broadcastFinished(done);
    this.armIdle();
  }

  private ended(p: { trial: number; exitCode: number | null; signal: string | null }) {
    const f = this.running.get(p.trial);
    if (!f || !("followed" in f)) throw new NowError(`trial ${p.trial} is not followed by this daemon`);
    clearInterval(f.timer);
    this.running.delete(p.trial);
    const t = getTrial(this.db, p.trial)!;
    try {
      finishFromLog(this.db, t, this.root, {
        status: p.exitCode === 0 ? "finished" : p.signal ? "interrupted" : "failed", exitCode: p.exitCode, signal: p.signal,
      });
    } catch (e) {
      // A full disk, a busy store: the `now run` that asked finishes it or leaves it to the next command.
      throw new NowError(`trial ${p.trial} could not be finished here: ${(e as Error).message}`);
    }
    const done = getTrial(this.db, p.trial)!;
    this.broadcastFinished(done);
    this.armIdle();
    return summary(done);
  }

  private broadcastFinished(t: TrialRow): void {
    try {
      this.indexer.indexTrial(t);
    } catch (e) {
      this.log.write(`index of trial ${t.id}: ${(e as Error).message}`);
    }
    this.log.write(`trial ${t.id} ${t.status}`);
    for (const c of this.clients) this.notify(c, Notifications.finished, { trial: summary(t) });
    this.vis?.publish("trial", summary(t));
  }

  private armIdle(): void {
    if (this.opts.idleSeconds <= 0 || this.clients.size > 0 || this.running.size > 0 || this.stopping || (this.vis?.clients() ?? 0) > 0) return;
    this.disarmIdle();
    this.idleTimer = setTimeout(() => void this.stop(`idle for ${this.opts.idleSeconds} s`).then(() => this.onStopped()), this.opts.idleSeconds * 1000);
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.write(`stopping: ${reason}`);
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    this.disarmIdle();
    // Trials run for clients are stopped; followed ones go on in their terminal, which
    // finishes their ingestion itself when it cannot reach us.
    for (const t of this.running.values()) {
      if ("cancel" in t) t.cancel();
      else clearInterval(t.timer);
    }
    await Promise.all([...this.running.values()].map((t) => ("done" in t ? t.done.catch(() => undefined) : undefined)));
    // Each step on its own: a project folder deleted under us makes some of them fail,
    // and the rest (the lock, the socket, the process) must still go.
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        this.log.write(`stopping: ${what}: ${(e as Error).message}`);
      }
    };
    await step("clients", () => { for (const c of this.clients) c.dispose(); });
    await step("web view", () => this.vis?.close());
    await step("watcher", () => this.watcher.close());
    await step("socket", () => new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      // Connections that linger (a client that never reads) do not hold the exit.
      setTimeout(resolve, 2000).unref();
    }));
    await step("socket file", () => fs.rmSync(socketPath(this.root), { force: true }));
    await step("lock", () => releaseLock(lockPath(this.root)));
    await step("store", () => this.db.close());
    this.log.write("stopped");
    this.log.close();
  }
}
