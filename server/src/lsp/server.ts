// The language server's glue: what it declares (capabilities), which handler answers
// each message (register), and the handlers, which log and delegate to hover.ts,
// diagnostics.ts, codeActions.ts, trials.ts and project.ts. Only server/src/lsp knows LSP.
// Params reach a handler already checked against its method's schema (validate.ts), so
// handlers read them without defending; what a handler throws becomes an answer in one
// place, `answer`.
import path from "path";
import { fileURLToPath } from "url";
import {
  ErrorCodes, ResponseError, TextDocuments, TextDocumentSyncKind, MarkupKind,
  type CodeAction, type CodeActionParams, type Connection, type ExecuteCommandParams, type Hover, type HoverParams,
  type InitializeParams, type InitializeResult, type ServerCapabilities, type InlayHint, type InlayHintParams, type CodeLens, type CodeLensParams,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { MessageConnection } from "vscode-jsonrpc/node";
import { Notifications, type TrialFinishedParams as DaemonFinished } from "../../../protocol/daemon";
import {
  DIFF_TRIAL_COMMAND, LspMethods, RUN_TRIAL_COMMAND, type DiffParams, type GraphParams, type NowExperimentalCapabilities,
  type RunParams, type SelectTrialParams, type TrialParams,
} from "../../../protocol/lsp";
import fs from "fs";
import { connectDaemon, ensureDaemon } from "../daemon/client";
import { NowError } from "../errors";

const AUTO_DAEMON_IDLE_SECONDS = 300;
import { startTrial } from "../run/runTrial";
import { codeActionsFor } from "./codeActions";
import { exceptionDiagnostics } from "./diagnostics";
import { hoverAt } from "./hover";
import { inlayHints } from "./inlayHints";
import { codeLenses } from "./codeLens";
import { Project } from "./project";
import { summary, trialDetails, trialList } from "./trials";
import { diffOf, diffWithDocumentTrial, graphOf } from "./requests";

export class NowServer {
  private readonly documents = new TextDocuments(TextDocument);
  private daemon: MessageConnection | null = null;

  private constructor(
    private readonly connection: Connection,
    private readonly project: Project,
    private readonly markdownHover: boolean,
    private readonly workDoneProgress: boolean,
    /** Opt-in: initializationOptions {inlayHints: true}, or the setting nowls.inlayHints. */
    private showInlayHints: boolean,
    private readonly canRefreshHints: boolean,
    private readonly canRefreshLenses: boolean,
  ) {}

  /** Answers `initialize`: finds the project from the workspace folder, else rootUri, else the cwd. */
  static initialize(connection: Connection, params: InitializeParams, cwd: string): { server: NowServer; result: InitializeResult } {
    const folderUri = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? null;
    const folder = folderUri?.startsWith("file:") ? fileURLToPath(folderUri) : params.rootPath ?? cwd;
    const formats = params.capabilities.textDocument?.hover?.contentFormat;
    const server = new NowServer(
      connection, Project.find(path.resolve(cwd, folder)),
      !formats || formats.includes(MarkupKind.Markdown),
      !!params.capabilities.window?.workDoneProgress,
      !!(params.initializationOptions as { inlayHints?: boolean } | undefined)?.inlayHints,
      !!params.capabilities.workspace?.inlayHint?.refreshSupport,
      !!params.capabilities.workspace?.codeLens?.refreshSupport,
    );
    return { server, result: { capabilities: NowServer.capabilities(), serverInfo: { name: "nowls" } } };
  }

  static capabilities(): ServerCapabilities {
    const experimental: { now: NowExperimentalCapabilities } = {
      // The custom methods of protocol/lsp.ts, so a client knows it may call them.
      now: {
        requests: [LspMethods.trials, LspMethods.trial, LspMethods.selectTrial, LspMethods.graph, LspMethods.diff, LspMethods.run],
        notifications: [LspMethods.trialFinished],
      },
    };
    return {
      // Incremental sync: hover and stale marking diff the whole buffer anyway, but
      // editors send less on each keystroke.
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
      // Values, call counts and durations of the selected trial.
      hoverProvider: true,
      // "Restore this file from trial N" (an edit) and "Run trial" (a command).
      codeActionProvider: { codeActionKinds: ["source"] },
      // "12 calls · 3.4 ms · trial 7" over each function, for clients that show lenses.
      codeLensProvider: { resolveProvider: false },
      // The last value after each assignment line (opt-in; none on lines changed since).
      inlayHintProvider: true,
      // Runs the document's script as a new trial, reporting $/progress.
      executeCommandProvider: { commands: [RUN_TRIAL_COMMAND, DIFF_TRIAL_COMMAND] },
      experimental,
    };
  }

  register(): void {
    const c = this.connection;
    this.documents.listen(c);
    // Fires on open too.
    this.documents.onDidChangeContent((e) => this.publishDiagnostics(e.document.uri));
    this.documents.onDidClose((e) => void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }).catch(() => undefined));
    c.onHover((p) => answer("textDocument/hover", () => this.onHover(p)));
    c.onCodeAction((p) => answer("textDocument/codeAction", () => this.onCodeAction(p)));
    c.languages.inlayHint.on((p) => answer("textDocument/inlayHint", () => this.onInlayHint(p)));
    c.onCodeLens((p) => answer("textDocument/codeLens", () => this.onCodeLens(p)));
    c.onDidChangeConfiguration((p) => {
      const on = (p.settings as { nowls?: { inlayHints?: boolean } } | undefined)?.nowls?.inlayHints;
      if (typeof on === "boolean") {
        this.showInlayHints = on;
        if (this.canRefreshHints) this.ask("workspace/inlayHint/refresh", c.languages.inlayHint.refresh());
      }
    });
    c.onExecuteCommand((p) => answer("workspace/executeCommand", () => this.onExecuteCommand(p)));
    // A request without params arrives as the cancellation token alone; validate.ts lets
    // only an object, null or nothing through for these.
    const paramsOf = <P>(p: unknown): P | null => (p && typeof p === "object" && !("isCancellationRequested" in p) ? (p as P) : null);
    c.onRequest(LspMethods.trials, () => answer(LspMethods.trials, () => this.onTrials()));
    c.onRequest(LspMethods.trial, (p: unknown) => answer(LspMethods.trial, () => this.onTrial(paramsOf<TrialParams>(p) ?? {})));
    c.onRequest(LspMethods.selectTrial, (p: SelectTrialParams) => answer(LspMethods.selectTrial, () => this.onSelectTrial(p)));
    c.onRequest(LspMethods.graph, (p: GraphParams) => answer(LspMethods.graph, () => graphOf(this.project, p)));
    c.onRequest(LspMethods.diff, (p: DiffParams) => answer(LspMethods.diff, () => diffOf(this.project, p)));
    c.onRequest(LspMethods.run, (p: RunParams) => answer(LspMethods.run, () => this.onRun(p)));
    c.onInitialized(() => void this.followDaemon());
    c.onShutdown(() => {
      this.daemon?.dispose();
      this.project.close();
    });
  }

  private onHover(p: HoverParams): Hover | null {
    const doc = this.documents.get(p.textDocument.uri);
    const dt = doc && this.project.trialFor(doc.uri);
    const db = this.project.store();
    if (!doc || !dt || !db) return null;
    const buffer = doc.getText();
    const h = hoverAt({
      db, trial: dt.trial, file: dt.file, buffer, lines: this.project.lineMap(dt, buffer),
      line: p.position.line, character: p.position.character, markdown: this.markdownHover,
    });
    if (!h) return null;
    return {
      contents: { kind: this.markdownHover ? MarkupKind.Markdown : MarkupKind.PlainText, value: h.text },
      range: { start: { line: p.position.line, character: h.start }, end: { line: p.position.line, character: h.end } },
    };
  }

  private onInlayHint(p: InlayHintParams): InlayHint[] {
    if (!this.showInlayHints) return [];
    const doc = this.documents.get(p.textDocument.uri);
    const dt = doc && this.project.trialFor(doc.uri);
    const db = this.project.store();
    if (!doc || !dt || !db) return [];
    const buffer = doc.getText();
    return inlayHints(db, dt.trial.id, dt.file, buffer, this.project.lineMap(dt, buffer), p.range.start.line, p.range.end.line)
      .map((h) => ({ position: { line: h.line, character: h.character }, label: h.label, tooltip: h.tooltip, paddingLeft: true }));
  }

  private onCodeLens(p: CodeLensParams): CodeLens[] {
    const doc = this.documents.get(p.textDocument.uri);
    const dt = doc && this.project.trialFor(doc.uri);
    const db = this.project.store();
    if (!doc || !dt || !db) return [];
    return codeLenses(db, dt.trial.id, dt.file, doc.getText()).map((l) => ({
      range: { start: { line: l.line, character: l.character }, end: { line: l.endLine, character: l.endCharacter } },
      command: { title: l.title, command: "" },
    }));
  }

  private onCodeAction(p: CodeActionParams): CodeAction[] {
    const doc = this.documents.get(p.textDocument.uri);
    return doc ? codeActionsFor(this.project, doc) : [];
  }

  private onRun(p: RunParams): Promise<unknown> {
    return this.onExecuteCommand({ command: RUN_TRIAL_COMMAND, arguments: [p.uri, Array.isArray(p.args) ? p.args : [], !!p.fine] });
  }

  private async onExecuteCommand(p: ExecuteCommandParams): Promise<unknown> {
    if (p.command === DIFF_TRIAL_COMMAND) {
      const [uri, trial] = p.arguments ?? [];
      return diffWithDocumentTrial(this.project, String(uri), trial);
    }
    // validate.ts admits only the two commands, with their arguments' types checked.
    const [uri, args, fine] = (p.arguments ?? []) as [string, (string[] | null)?, (boolean | null)?];
    const file = this.project.fileOf(uri);
    if (!file) throw new ResponseError(ErrorCodes.InvalidParams, `${RUN_TRIAL_COMMAND} needs the URI of a script in ${this.project.root}`);
    const progress = this.workDoneProgress ? await this.connection.window.createWorkDoneProgress() : null;
    progress?.begin(`now run ${file}`, 0, "starting", true);
    try {
      const running = await startTrial({
        script: file, args: Array.isArray(args) ? args : [], fine: fine === true ? true : undefined, cwd: this.project.root, redact: true, env: process.env, stdio: "files",
        onProgress: (pr) => progress?.report(`trial ${pr.trial}: ${pr.events} events${pr.current ? `, in ${pr.current}` : ""}`),
      });
      // Cancelling the progress in the editor stops the script; the trial is kept, cancelled.
      progress?.token.onCancellationRequested(() => running.cancel());
      const result = await running.done;
      this.trialFinished(summary(result.trial));
      return { trial: summary(result.trial), exitCode: result.exitCode };
    } finally {
      progress?.done();
    }
  }

  private onTrials() {
    return trialList(this.project.store());
  }

  private onTrial(p: TrialParams) {
    const db = this.project.store();
    if (!db) throw new NowError("no trials recorded yet");
    return trialDetails(db, p.trial);
  }

  private onSelectTrial(p: SelectTrialParams) {
    const trial = p.trial ?? null;
    // Project.select says this with a plain Error, which `answer` would take for a bug.
    if (trial !== null && !this.project.store()) throw new NowError("no trials recorded yet");
    const t = this.project.select(p.uri, trial);
    this.publishDiagnostics(p.uri);
    return t ? summary(t) : null;
  }

  /** Follows the project's daemon, if one runs, for trials that other clients start. */
  /**
   * Follows the project's daemon for trials that other editors and terminals run,
   * starting one when the project already has a store (a folder that never used nowls
   * gets no `.now/` from merely being opened). An auto-started daemon leaves after five
   * minutes without clients.
   */
  private async followDaemon(): Promise<void> {
    const hasStore = fs.existsSync(path.join(this.project.root, ".now", "db.sqlite"));
    this.daemon = await (hasStore ? ensureDaemon(this.project.root, AUTO_DAEMON_IDLE_SECONDS) : connectDaemon(this.project.root))
      .catch((e) => {
        this.connection.console.warn(`no daemon: ${(e as Error).message}`);
        return null;
      });
    this.daemon?.onNotification(Notifications.finished, (p: DaemonFinished) => this.trialFinished(p.trial));
  }

  private trialFinished(trial: DaemonFinished["trial"]): void {
    this.connection.sendNotification(LspMethods.trialFinished, { trial }).catch(() => undefined);
    if (this.showInlayHints && this.canRefreshHints) this.ask("workspace/inlayHint/refresh", this.connection.languages.inlayHint.refresh());
    if (this.canRefreshLenses) this.ask("workspace/codeLens/refresh", this.connection.sendRequest("workspace/codeLens/refresh"));
    for (const doc of this.documents.all()) this.publishDiagnostics(doc.uri);
  }

  /**
   * A request to the client whose answer the server does not need. The client may answer
   * with an error (one that announced a capability it lacks); left unhandled, that
   * rejection would end the process.
   */
  private ask(method: string, sent: Promise<unknown>): void {
    sent.catch((e: Error) => this.connection.console.warn(`${method}: the client answered ${e.message}`));
  }

  private publishDiagnostics(uri: string): void {
    const doc = this.documents.get(uri);
    if (!doc) return;
    let diagnostics: ReturnType<typeof exceptionDiagnostics> = [];
    try {
      const dt = this.project.trialFor(uri);
      if (dt) diagnostics = exceptionDiagnostics(dt.trial, dt.file, doc.getText(), this.project.lineMap(dt, doc.getText()));
    } catch (e) {
      this.connection.console.error(`diagnostics of ${uri}: ${(e as Error).message}`);
    }
    // Rejects only when stdout is gone, and then the process is leaving anyway.
    this.connection.sendDiagnostics({ uri, diagnostics }).catch(() => undefined);
  }
}

/**
 * Runs a handler and turns what it throws into the answer: a ResponseError as it is, a
 * NowError (bad input the user can fix: an unknown trial, a script outside the project)
 * InvalidParams with its one-line message, anything else InternalError, its stack logged
 * on stderr since it is a bug. The connection then answers the next request as usual.
 */
export async function answer<T>(method: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ResponseError) throw e;
    if (e instanceof NowError) throw new ResponseError(ErrorCodes.InvalidParams, e.message);
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`nowls: ${method} failed: ${err.stack ?? err.message}\n`);
    throw new ResponseError(ErrorCodes.InternalError, `${method} failed: ${err.message.split("\n")[0]}`);
  }
}
