// `now vis`: the web view, served by the project's daemon on 127.0.0.1 only. Every
// request passes `admit` (token, Host, Origin) before anything is read; then it is a
// static file of server/vis-web/, the Graphviz module, a JSON answer of `api`, or the
// event stream that tells open pages a trial ended.
import fs from "fs";
import http from "http";
import path from "path";
import type { AddressInfo } from "net";
import { NowError } from "../errors";
import { packageRoot } from "../paths";
import type { DB } from "../store/database";
import { trialsFingerprint } from "../store/visQueries";
import { api } from "./api";
import { admit, newToken, SECURITY_HEADERS } from "./security";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml", ".ico": "image/x-icon",
};

export function webDir(): string {
  return path.join(packageRoot(), "server", "vis-web");
}

/** The Graphviz layout engine as a browser ES module (its WebAssembly is inlined). */
function graphvizModule(): string {
  try {
    return require.resolve("@hpcc-js/wasm-graphviz");
  } catch {
    return path.join(packageRoot(), "node_modules", "@hpcc-js", "wasm-graphviz", "dist", "index.js");
  }
}

export interface VisOptions {
  root: string;
  db: () => DB;
  log: (line: string) => void;
  /** An event stream opened or closed: the daemon stays up while a page listens. */
  onClients?: (count: number) => void;
}

export class VisServer {
  private server: http.Server | null = null;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly token = newToken();
  private port = 0;
  private poll: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private fingerprint = "";

  constructor(private readonly o: VisOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/${this.token}/`;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  get portNumber(): number {
    return this.port;
  }

  clients(): number {
    return this.streams.size;
  }

  /** Listens on 127.0.0.1:`port` (0: a free port); a NowError when the port is taken. */
  async start(port: number): Promise<string> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(e.code === "EADDRINUSE" ? new NowError(`port ${port} is in use (give another with --port)`)
          : e.code === "EACCES" ? new NowError(`port ${port} needs privileges (give one above 1023)`) : e));
      server.listen(port, "127.0.0.1", () => resolve());
    });
    server.on("error", (e) => this.o.log(`vis: ${e.message}`));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.fingerprint = trialsFingerprint(this.o.db());
    // Trials the daemon did not follow (a `now run` that could not reach it) show too.
    this.poll = setInterval(() => this.checkStore(), 1000);
    this.heartbeat = setInterval(() => { for (const s of this.streams) s.write(": alive\n\n"); }, 15000);
    this.o.log(`vis serving on http://127.0.0.1:${this.port}/`);
    return this.url;
  }

  /** Tells every open page that the trials changed (a trial ended, started, was tagged). */
  publish(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of this.streams) s.write(text);
  }

  private checkStore(): void {
    if (!this.streams.size) return;
    try {
      const f = trialsFingerprint(this.o.db());
      if (f !== this.fingerprint) {
        this.fingerprint = f;
        this.publish("trials", { changed: true });
      }
    } catch (e) {
      this.o.log(`vis: ${(e as Error).message}`);
    }
  }

  private refuse(res: http.ServerResponse, code: number): void {
    res.writeHead(code, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
    res.end(code === 403 ? "Forbidden\n" : code === 404 ? "Not found\n" : "Method not allowed\n");
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const rest = admit(req.url ?? "/", req.headers, this.port, this.token);
    if (rest === null) return this.refuse(res, 403);
    if (req.method !== "GET" && req.method !== "HEAD") return this.refuse(res, 405);
    if (req.url && !/^\/[^/?]+\//.test(req.url)) {
      // `/<token>` without the slash: the page's relative URLs need it.
      res.writeHead(308, { ...SECURITY_HEADERS, Location: `/${this.token}/` });
      return void res.end();
    }
    try {
      if (rest === "api/events") return this.stream(req, res);
      if (rest.startsWith("api/")) return this.json(res, rest.slice(4), new URL(req.url!, "http://x").searchParams);
      if (rest === "lib/graphviz.js") return this.file(res, graphvizModule());
      const name = rest === "" ? "index.html" : rest;
      if (!/^[a-z0-9-]+\.(html|js|css|svg)$/.test(name)) return this.refuse(res, 404);
      return this.file(res, path.join(webDir(), name));
    } catch (e) {
      this.o.log(`vis: ${req.url?.replace(this.token, "<token>")}: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) res.writeHead(500, { ...SECURITY_HEADERS, "Content-Type": "text/plain" });
      res.end("internal error\n");
    }
  }

  private file(res: http.ServerResponse, file: string): void {
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      return this.refuse(res, 404);
    }
    res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
    res.end(body);
  }

  private json(res: http.ServerResponse, route: string, q: URLSearchParams): void {
    let status = 200;
    let value: unknown;
    try {
      value = api({ db: this.o.db(), root: this.o.root }, route, q);
      if (value === undefined) return this.refuse(res, 404);
    } catch (e) {
      if (!(e instanceof NowError)) throw e;
      status = 400;
      value = { error: e.message };
    }
    const body = Buffer.from(JSON.stringify(value ?? null));
    res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
    res.end(body);
  }

  private stream(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    this.streams.add(res);
    this.o.onClients?.(this.streams.size);
    req.on("close", () => {
      this.streams.delete(res);
      this.o.onClients?.(this.streams.size);
    });
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
