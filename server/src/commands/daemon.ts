import fs from "fs";
import path from "path";
import { Methods, type DaemonStatus } from "../../../protocol/daemon";
import { connectDaemon } from "../daemon/client";
import { Daemon } from "../daemon/server";
import { fsStoreErrorOf, NowError, ReadOnlyStoreError } from "../errors";
import { formatDuration } from "../format/text";
import { findProjectRoot, nowDir } from "../paths";
import { unwritablePart } from "../store/database";
import { printJson } from "./common";

export interface DaemonCommandOptions { cwd: string; root?: string; idle?: string; json?: boolean }

const DEFAULT_IDLE_SECONDS = 30 * 60;

function rootOf(o: DaemonCommandOptions): string {
  if (o.root) {
    const r = path.resolve(o.cwd, o.root);
    if (!fs.existsSync(r) || !fs.statSync(r).isDirectory()) throw new NowError(`--root: no such folder: ${o.root}`);
    return r;
  }
  return findProjectRoot(path.join(o.cwd, "__now__.py"));
}

/**
 * Creates the daemon's files and starts it. A store it may not write (the daemon keeps its
 * lock, log and socket in .now/ and records trials) is refused in one line before anything
 * starts; a permission error met while starting anyway (a race) becomes that line too.
 */
async function startDaemon(root: string, idle: number): Promise<Daemon> {
  try {
    fs.mkdirSync(nowDir(root), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsStoreErrorOf(e) ?? new ReadOnlyStoreError(nowDir(root), (e as Error).message);
  }
  const refused = unwritablePart(root);
  if (refused) throw new ReadOnlyStoreError(nowDir(root), refused);
  let daemon: Daemon;
  try {
    daemon = new Daemon(root, { idleSeconds: idle, echoLog: !!process.stderr.isTTY });
    daemon.onStopped = () => process.exit(0);
    await daemon.start();
  } catch (e) {
    const oneLine = fsStoreErrorOf(e);
    if (!oneLine) throw e;
    // Whatever it had started (watcher, lock) must not keep this process alive.
    process.stderr.write(`now: ${oneLine.message}\n`);
    process.exit(oneLine.exitCode);
  }
  return daemon;
}

/** `now daemon [start|status|stop]`. start runs in the foreground until stopped or idle. */
export async function daemonCommand(action: string | undefined, o: DaemonCommandOptions): Promise<number> {
  const root = rootOf(o);
  switch (action ?? "start") {
    case "start": {
      const idle = o.idle === undefined ? DEFAULT_IDLE_SECONDS : Number(o.idle);
      if (!Number.isFinite(idle) || idle < 0) throw new NowError("--idle must be a number of seconds (0: never)");
      const daemon = await startDaemon(root, idle);
      const stop = (sig: string) => void daemon.stop(sig).then(() => process.exit(0));
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      return new Promise<number>(() => {}); // runs until stopped; stop() exits the process
    }
    case "status": {
      const conn = await connectDaemon(root);
      if (!conn) {
        if (o.json) printJson({ running: false, root });
        else process.stdout.write(`no daemon runs for ${root}\n`);
        return 1;
      }
      const s = (await conn.sendRequest(Methods.status)) as DaemonStatus;
      conn.dispose();
      if (o.json) printJson({ running: true, ...s });
      else {
        process.stdout.write(
          `daemon ${s.version} for ${s.root}\n  pid ${s.pid}, up ${formatDuration(s.uptime)}, ${s.clients - 1} other clients\n` +
            `  ${s.watchedFiles} Python files watched, ${s.indexedFiles} indexed\n` +
            `  running trials: ${s.runningTrials.length ? s.runningTrials.join(", ") : "none"}\n`,
        );
      }
      return 0;
    }
    case "stop": {
      const conn = await connectDaemon(root);
      if (!conn) {
        process.stdout.write(`no daemon runs for ${root}\n`);
        return 0;
      }
      await conn.sendRequest(Methods.stop);
      conn.dispose();
      process.stdout.write(`daemon for ${root} stopped\n`);
      return 0;
    }
    default:
      throw new NowError(`unknown daemon action '${action}' (start, status or stop)`);
  }
}
