// JSON-RPC methods of the project daemon (`now daemon`), spoken over the Unix socket
// `.now/daemon.sock` with LSP-style framing (Content-Length headers). Documented in
// protocol/README.md, section "The daemon's JSON-RPC methods".

export const DAEMON_PROTOCOL_VERSION = 1;

export interface DaemonStatus {
  protocol: number;
  version: string;
  pid: number;
  root: string;
  uptime: number;
  clients: number;
  watchedFiles: number;
  indexedFiles: number;
  runningTrials: number[];
  /** The first scan and index of the project are done. */
  ready: boolean;
}

export interface RunParams {
  script: string;
  args?: string[];
  cwd?: string;
  python?: string;
  fine?: boolean;
  /** A token chosen by the client: progress notifications carry it. */
  progressToken?: string;
}

export interface TrialSummary {
  id: number;
  uuid: string;
  script: string;
  argv: string[];
  status: string;
  exit_code: number | null;
  started_at: number;
  duration: number | null;
}

export interface RunResult { trial: TrialSummary; exitCode: number }

export interface ProgressParams {
  token: string | null;
  trial: number;
  events: number;
  current: string | null;
  elapsed: number;
}

export interface TrialFinishedParams { trial: TrialSummary }

/** `vis/start`: serve the web view (`now vis`); `port` 0 or absent: any free port. */
export interface VisParams { port?: number }

/** The page's address, with its token: `http://127.0.0.1:<port>/<token>/`. */
export interface VisResult { url: string; port: number; started: boolean }

export const Methods = {
  status: "daemon/status",
  stop: "daemon/stop",
  trials: "trials/list",
  trial: "trials/get",
  run: "trial/run",
  cancel: "trial/cancel",
  /** Tells the daemon a terminal `now run` started a trial, so it can follow it. */
  follow: "trial/follow",
  /** The followed trial's process ended: `{trial, exitCode, signal}`. */
  ended: "trial/ended",
  definitions: "index/definitions",
  /** An editor's buffer: `{path, text}`; then `{path, changes}` (LSP content changes); then `{path}`. */
  open: "index/open",
  change: "index/change",
  close: "index/close",
  files: "index/files",
  /** Serves the web view (`now vis`) on 127.0.0.1, or answers the address it already serves. */
  vis: "vis/start",
} as const;

export const Notifications = {
  progress: "trial/progress",
  finished: "trial/finished",
} as const;
