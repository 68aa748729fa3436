import { spawn } from "child_process";
import { ErrorCodes, ResponseError } from "vscode-jsonrpc/node";
import { Methods, type VisResult } from "../../../protocol/daemon";
import { ensureDaemon } from "../daemon/client";
import { NowError } from "../errors";
import { requireStoreRoot } from "./common";

export interface VisOptions { cwd: string; port?: string; open?: boolean }

/**
 * A daemon `now vis` starts leaves this long after the last page and the last client have
 * gone (an open page keeps it: its event stream counts as a client).
 */
const VIS_DAEMON_IDLE_SECONDS = 600;

/** `--port`: a whole number from 1 to 65535; absent: any free port. */
export function parsePort(port: string | undefined): number {
  if (port === undefined) return 0;
  const n = Number(port);
  if (!/^\d+$/.test(port) || !Number.isInteger(n) || n < 1 || n > 65535) throw new NowError(`--port must be a whole number from 1 to 65535, not '${port}'`);
  return n;
}

/**
 * `now vis`: asks the project's daemon (started when none runs) to serve the web view
 * on 127.0.0.1 and prints its address, token included. The page is served as long as
 * a page is open, then until the daemon's idle limit (`now daemon stop` ends both).
 */
export async function visCommand(o: VisOptions): Promise<number> {
  const port = parsePort(o.port);
  const root = requireStoreRoot(o.cwd);
  const conn = await ensureDaemon(root, VIS_DAEMON_IDLE_SECONDS);
  let r: VisResult;
  try {
    r = (await conn.sendRequest(Methods.vis, { port })) as VisResult;
  } catch (e) {
    if (e instanceof ResponseError && e.code === ErrorCodes.MethodNotFound) {
      throw new NowError(`the daemon running for ${root} predates now vis: stop it (now daemon stop) and run now vis again`);
    }
    throw new NowError(e instanceof ResponseError ? e.message : `the daemon did not answer: ${(e as Error).message}`);
  } finally {
    conn.dispose();
  }
  process.stdout.write(`${r.url}\n`);
  process.stderr.write(`now: the web view of ${root} ${r.started ? "is served" : "was already served"} by its daemon (only this user's browser can open the address above; \`now daemon stop\` ends it)\n`);
  if (o.open) openBrowser(r.url);
  return 0;
}

function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(cmd, [url], { detached: true, stdio: "ignore" });
  child.on("error", (e) => process.stderr.write(`now: could not start ${cmd} (${e.message}); open the address yourself\n`));
  child.unref();
}
