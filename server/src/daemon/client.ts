import { spawn } from "child_process";
import fs from "fs";
import net from "net";
import path from "path";
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { NowError } from "../errors";
import { packageRoot } from "../paths";
import { socketPath } from "./paths";

/** A connection to the root's daemon, or null when none is listening (no socket, stale socket). */
export function connectDaemon(root: string): Promise<MessageConnection | null> {
  const sock = socketPath(root);
  if (!fs.existsSync(sock)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = net.connect(sock);
    socket.once("error", () => resolve(null));
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
      conn.listen();
      resolve(conn);
    });
  });
}

/** Connects to the root's daemon, starting one in the background when none runs. */
export async function ensureDaemon(root: string, idleSeconds?: number): Promise<MessageConnection> {
  const existing = await connectDaemon(root);
  if (existing) return existing;
  const args = [path.join(packageRoot(), "bin", "now.js"), "daemon", "start", "--root", root];
  if (idleSeconds !== undefined) args.push("--idle", String(idleSeconds));
  const child = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
  child.unref();
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    const conn = await connectDaemon(root);
    if (conn) return conn;
  }
  throw new NowError(`the daemon for ${root} did not start (see ${path.join(root, ".now", "daemon.log")})`);
}
