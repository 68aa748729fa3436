// The VS Code client of `now lsp`: starts the server, adds the nowls.* commands (run with or
// without values, select trial, graph, diff, inlay hints), a status bar item with the trial a
// document shows, and a webview that renders graphs (dot → SVG with Graphviz compiled to
// WebAssembly, in-process). Running asks for the script's arguments, its last trial's as the
// default, also when the "Run trial" code action runs it.
// The custom methods and their types come from the shared protocol/lsp.ts.
import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { quoteArgs, splitArgs } from "./args";
import {
  LspMethods,
  DIFF_TRIAL_COMMAND,
  RUN_TRIAL_COMMAND,
  type TrialSummary,
  type SelectTrialParams,
  type GraphParams,
  type DiffParams,
  type DiffResult,
  type RunParams,
  type TrialFinishedParams,
} from "../../../protocol/lsp";

/** What the commands need of the language client (a LanguageClient, or a fake in tests). */
export interface NowClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  sendRequest<R>(method: string, params?: unknown): Promise<R>;
  sendNotification(method: string, params?: unknown): Promise<void>;
  onNotification(method: string, handler: (params: any) => void): vscode.Disposable;
}

/** Turns dot into SVG. */
export type DotRenderer = (dot: string) => Promise<string>;

/** Things replaced in tests. */
export const deps = {
  createClient(serverOptions: ServerOptions, clientOptions: LanguageClientOptions): NowClient {
    return new LanguageClient("nowls", "nowls", serverOptions, clientOptions) as unknown as NowClient;
  },
  /** Loads @hpcc-js/wasm-graphviz (an ES module: dynamic import) once. */
  loadRenderer: async (): Promise<DotRenderer> => {
    const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
    const gv = await Graphviz.load();
    return async (dot: string) => gv.dot(dot, "svg");
  },
};

const GRAPH_KINDS: GraphParams["kind"][] = ["activation", "dataflow", "history", "definitions"];

// --- small wrappers around the vscode API --------------------------------------------------

function config() {
  const c = vscode.workspace.getConfiguration("nowls");
  return {
    serverPath: c.get<string>("serverPath", "now") || "now",
    inlayHints: c.get<boolean>("inlayHints", false) ?? false,
    setInlayHints: (on: boolean) => c.update("inlayHints", on, vscode.ConfigurationTarget.Global),
  };
}

function activeDocumentUri(arg?: unknown): string | undefined {
  if (arg && typeof arg === "object" && "toString" in arg && (arg as vscode.Uri).scheme) return (arg as vscode.Uri).toString();
  if (typeof arg === "string") return arg;
  return vscode.window.activeTextEditor?.document.uri.toString();
}

function trialLabel(t: TrialSummary): vscode.QuickPickItem & { trial: number | null } {
  return {
    label: `trial ${t.id}`,
    description: [t.script, ...t.argv.slice(1)].join(" "),
    detail: `${t.status}${t.exit_code !== null && t.exit_code !== 0 ? ` (exit ${t.exit_code})` : ""} — ${new Date(t.started_at * 1000).toISOString()}`,
    trial: t.id,
  };
}

async function pickTrial(trials: TrialSummary[], placeHolder: string, withDefault: boolean): Promise<{ trial: number | null } | undefined> {
  const items: (vscode.QuickPickItem & { trial: number | null })[] = trials.slice().reverse().map(trialLabel);
  if (withDefault) items.unshift({ label: "latest", description: "the latest trial that ran this file (default)", trial: null });
  return vscode.window.showQuickPick(items, { placeHolder });
}

async function showText(content: string, language = "plaintext"): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ content, language });
  await vscode.window.showTextDocument(doc, { preview: true });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The webview page: the SVG, or the dot text when it could not be rendered. */
export function graphHtml(title: string, svg: string | null, dot: string, error?: string): string {
  const body = svg !== null
    ? svg.replace(/^[\s\S]*?(<svg[\s>])/, "$1")
    : `<p>Graphviz could not render the graph${error ? `: ${escapeHtml(error)}` : ""}. The dot text:</p><pre>${escapeHtml(dot)}</pre>`;
  return `<!DOCTYPE html>
<html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;">
<title>${escapeHtml(title)}</title>
<style>body{background:#fff;color:#000} svg{max-width:100%;height:auto}</style>
</head><body>${body}</body></html>`;
}

type RunResult = { trial: TrialSummary; exitCode: number };

/**
 * The arguments of the last trial whose script is the document (its argv without the
 * script), or none. Trials name their script relative to the project's root, which the
 * client does not know: the document's path ends with it.
 */
export function lastArgumentsOf(uri: string, trials: TrialSummary[]): string[] {
  let path: string;
  try {
    path = decodeURIComponent(new URL(uri).pathname);
  } catch {
    return [];
  }
  for (let i = trials.length - 1; i >= 0; i--) {
    const t = trials[i];
    if (t.argv.length > 0 && (path === t.script || path.endsWith(`/${t.script}`))) return t.argv.slice(1);
  }
  return [];
}

/** An input box with `args` as the editable default; the arguments, or undefined when cancelled. */
async function askArguments(uri: string, args: string[], fine: boolean): Promise<string[] | undefined> {
  const name = uri.slice(uri.lastIndexOf("/") + 1);
  const line = await vscode.window.showInputBox({
    prompt: `Arguments of ${decodeURIComponent(name)}${fine ? ", run with values" : ""} (as in a shell: quote an argument with spaces)`,
    value: quoteArgs(args),
  });
  return line === undefined ? undefined : splitArgs(line);
}

// --- the extension ---------------------------------------------------------------------------

export class NowExtension {
  readonly status: vscode.StatusBarItem;
  /** Trial chosen with nowls.selectTrial, per document URI. */
  readonly selected = new Map<string, number>();
  /** The latest trial heard of (now/trialFinished, now/run). */
  latest: number | null = null;
  panel: vscode.WebviewPanel | undefined;
  private renderer: Promise<DotRenderer> | undefined;
  private inlayHints: boolean;

  constructor(readonly client: NowClient, inlayHints: boolean) {
    this.inlayHints = inlayHints;
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
    this.status.command = "nowls.selectTrial";
    this.status.tooltip = "nowls: the trial whose data this document shows (click to select another)";
    this.updateStatus();
  }

  updateStatus(): void {
    const uri = activeDocumentUri();
    const trial = (uri !== undefined ? this.selected.get(uri) : undefined) ?? this.latest;
    this.status.text = trial === null ? "nowls" : `nowls: trial ${trial}`;
    this.status.show();
  }

  onTrialFinished(p: TrialFinishedParams): void {
    if (p && p.trial) this.latest = p.trial.id;
    this.updateStatus();
  }

  /** nowls.run (`fine` false) and nowls.runWithValues: now/run with the arguments the user gives. */
  async run(arg?: unknown, fine = false): Promise<void> {
    const uri = activeDocumentUri(arg);
    if (!uri) return void vscode.window.showWarningMessage("nowls: open a Python script to run it as a trial");
    const trials = await this.client.sendRequest<TrialSummary[]>(LspMethods.trials);
    const args = await askArguments(uri, lastArgumentsOf(uri, trials), fine);
    if (args === undefined) return;
    const params: RunParams = { uri, args };
    if (fine) params.fine = true;
    await this.running(() => this.client.sendRequest<RunResult>(LspMethods.run, params));
  }

  /**
   * The "Run trial" code actions' command (`[uri, args, fine]`, args the last trial's): asks
   * for the arguments with those as the default, then lets the command go to the server.
   */
  async runTrialCommand(args: unknown[], next: (command: string, args: unknown[]) => unknown): Promise<RunResult | undefined> {
    const [uri, given, fine] = args;
    const edited = await askArguments(String(uri), Array.isArray(given) ? given.map(String) : [], fine === true);
    if (edited === undefined) return undefined;
    return this.running(async () => (await next(RUN_TRIAL_COMMAND, [uri, edited, fine === true])) as RunResult);
  }

  private async running(send: () => Promise<RunResult>): Promise<RunResult> {
    // The server reports the run's live progress itself (window/workDoneProgress/create, which
    // vscode-languageclient shows as a cancellable notification); the status bar says it runs.
    this.status.text = "$(sync~spin) nowls: running…";
    let r: RunResult;
    try {
      r = await send();
    } finally {
      this.updateStatus();
    }
    this.latest = r.trial.id;
    this.updateStatus();
    void vscode.window.showInformationMessage(`nowls: trial ${r.trial.id} ${r.trial.status} (exit code ${r.exitCode})`);
    return r;
  }

  async selectTrial(arg?: unknown): Promise<void> {
    const uri = activeDocumentUri(arg);
    if (!uri) return void vscode.window.showWarningMessage("nowls: open a Python script first");
    const trials = await this.client.sendRequest<TrialSummary[]>(LspMethods.trials);
    const pick = await pickTrial(trials, "Trial whose data this document shows", true);
    if (!pick) return;
    const params: SelectTrialParams = { uri, trial: pick.trial };
    const t = await this.client.sendRequest<TrialSummary>(LspMethods.selectTrial, params);
    if (pick.trial === null) this.selected.delete(uri);
    else this.selected.set(uri, t.id);
    if (pick.trial === null) this.latest = t.id;
    this.updateStatus();
  }

  async showGraph(): Promise<void> {
    const kind = (await vscode.window.showQuickPick(GRAPH_KINDS, { placeHolder: "Graph kind" })) as GraphParams["kind"] | undefined;
    if (!kind) return;
    const uri = activeDocumentUri();
    const trial = uri !== undefined ? this.selected.get(uri) : undefined;
    const params: GraphParams = { kind, format: "dot" };
    if (trial !== undefined && kind !== "history") params.trial = trial;
    const dot = await this.client.sendRequest<string>(LspMethods.graph, params);
    const title = kind === "history" ? "nowls: history" : `nowls: ${kind}${trial !== undefined ? ` (trial ${trial})` : ""}`;
    let html: string;
    try {
      this.renderer ??= deps.loadRenderer();
      html = graphHtml(title, await (await this.renderer)(dot), dot);
    } catch (e) {
      this.renderer = undefined;
      html = graphHtml(title, null, dot, e instanceof Error ? e.message : String(e));
    }
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel("nowls.graph", title, vscode.ViewColumn.Beside, { enableScripts: false });
      this.panel.onDidDispose(() => (this.panel = undefined));
    }
    this.panel.title = title;
    this.panel.webview.html = html;
    this.panel.reveal();
  }

  async diff(): Promise<void> {
    const trials = await this.client.sendRequest<TrialSummary[]>(LspMethods.trials);
    if (trials.length < 2) return void vscode.window.showInformationMessage("nowls: a diff needs two trials");
    const a = await pickTrial(trials, "First trial (a)", false);
    if (!a || a.trial === null) return;
    const b = await pickTrial(trials.filter((t) => t.id !== a.trial), "Second trial (b)", false);
    if (!b || b.trial === null) return;
    const params: DiffParams = { a: a.trial, b: b.trial };
    const r = await this.client.sendRequest<DiffResult>(LspMethods.diff, params);
    await showText(r.text);
  }

  async toggleInlayHints(): Promise<void> {
    this.inlayHints = !this.inlayHints;
    await this.sendInlayHints(this.inlayHints);
    await config().setInlayHints(this.inlayHints);
  }

  /** Tells the server (workspace/didChangeConfiguration), once per change. */
  private sent: boolean | undefined;
  async sendInlayHints(on: boolean): Promise<void> {
    this.inlayHints = on;
    if (this.sent === on) return;
    this.sent = on;
    await this.client.sendNotification("workspace/didChangeConfiguration", { settings: { nowls: { inlayHints: on } } });
  }

  dispose(): void {
    this.status.dispose();
    this.panel?.dispose();
  }
}

let ext: NowExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<NowExtension> {
  const cfg = config();
  let e: NowExtension | undefined;
  const serverOptions: ServerOptions = { command: cfg.serverPath, args: ["lsp", "--stdio"] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    initializationOptions: { inlayHints: cfg.inlayHints },
    middleware: {
      executeCommand: async (command, args, next) => {
        if (command === RUN_TRIAL_COMMAND && e) {
          try {
            return await e.runTrialCommand(args, next);
          } catch (err) {
            void vscode.window.showErrorMessage(`nowls: ${err instanceof Error ? err.message : String(err)}`);
            return undefined;
          }
        }
        // The "Show diff with trial N" code action answers with the diff: show it.
        const r = await next(command, args);
        if (command === DIFF_TRIAL_COMMAND && r) await showText(typeof r === "string" ? r : (r as DiffResult).text ?? JSON.stringify(r, null, 2));
        return r;
      },
    },
  };
  const client = deps.createClient(serverOptions, clientOptions);
  const x = new NowExtension(client, cfg.inlayHints);
  e = ext = x;
  const guard = (f: (arg?: unknown) => Promise<void>) => async (arg?: unknown) => {
    try {
      await f(arg);
    } catch (err) {
      void vscode.window.showErrorMessage(`nowls: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  context.subscriptions.push(
    x,
    client.onNotification(LspMethods.trialFinished, (p: TrialFinishedParams) => x.onTrialFinished(p)),
    vscode.commands.registerCommand("nowls.run", guard((a) => x.run(a))),
    vscode.commands.registerCommand("nowls.runWithValues", guard((a) => x.run(a, true))),
    vscode.commands.registerCommand("nowls.selectTrial", guard((a) => x.selectTrial(a))),
    vscode.commands.registerCommand("nowls.showGraph", guard(() => x.showGraph())),
    vscode.commands.registerCommand("nowls.diff", guard(() => x.diff())),
    vscode.commands.registerCommand("nowls.toggleInlayHints", guard(() => x.toggleInlayHints())),
    vscode.window.onDidChangeActiveTextEditor(() => x.updateStatus()),
    vscode.workspace.onDidChangeConfiguration((ev) => {
      if (ev.affectsConfiguration("nowls.inlayHints")) void x.sendInlayHints(config().inlayHints);
    }),
  );
  await client.start();
  return x;
}

export async function deactivate(): Promise<void> {
  const c = ext?.client;
  ext = undefined;
  if (c) await c.stop();
}
