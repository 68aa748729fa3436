// `now lsp --stdio`: the language server on this process's stdin and stdout.
//
// What it does with bad input (protocol/README.md, "Bad input"):
// - a framing fault (a Content-Length that is not a whole number, negative or over 64 MiB,
//   a header without the blank line after it, a frame left unfinished for 30 s): the
//   requests already read are answered (for up to 2 s), then one line on stderr and exit
//   2. The stream is out of step, so no later byte can be trusted; the editor sees the
//   exit and restarts the server, where a server that read on would stay alive and never
//   answer again.
// - a well-framed body that is not JSON (ParseError), not a JSON-RPC message
//   (InvalidRequest), or a request whose params do not fit its method (InvalidParams):
//   answered, and the server goes on. A notification that does not fit is dropped with
//   one line on stderr.
// - stdin closed: exit 0 after a shutdown request, 1 otherwise, as the LSP spec asks.
import { createConnection } from "vscode-languageserver/node";
import { StreamMessageWriter, type Message, type MessageWriter } from "vscode-jsonrpc/node";
import { FrameReader, FramingError } from "../lsp/framing";
import { NowServer } from "../lsp/server";
import { admit } from "../lsp/validate";

export const FRAMING_EXIT_CODE = 2;
/** How long a leaving server waits for answers to requests that came before the fault. */
const ANSWER_GRACE_MS = 2000;

/** One line on stderr, where editors' server logs show it. */
export function logLine(text: string): void {
  process.stderr.write(`nowls: ${text.replace(/\s+/g, " ").trim()}\n`);
}

/**
 * The writer every answer goes through, counting what is still owed: requests admitted
 * and not yet answered, writes not yet handed to stdout. A server that has to leave
 * answers first what came before the fault, as far as it can in a moment.
 */
class OwingWriter implements MessageWriter {
  readonly unanswered = new Set<number | string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly inner = new StreamMessageWriter(process.stdout);
  readonly onError = this.inner.onError;
  readonly onClose = this.inner.onClose;

  owe(m: Message): void {
    const r = m as { id?: unknown; method?: unknown };
    if (typeof r.method === "string" && (typeof r.id === "number" || typeof r.id === "string")) this.unanswered.add(r.id);
  }

  write(m: Message): Promise<void> {
    const r = m as { id?: unknown; method?: unknown };
    if (r.method === undefined && (typeof r.id === "number" || typeof r.id === "string")) this.unanswered.delete(r.id);
    const p = this.inner.write(m);
    this.pending.add(p);
    void p.catch(() => undefined).finally(() => this.pending.delete(p));
    return p;
  }

  async settled(graceMs: number): Promise<void> {
    const end = Date.now() + graceMs;
    while (this.unanswered.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([...this.pending]);
  }

  end(): void {
    this.inner.end();
  }

  dispose(): void {
    this.inner.dispose();
  }
}

export function lspCommand(o: { cwd: string }): void {
  const writer = new OwingWriter();
  let shutdownAsked = false;
  const reader = new FrameReader(process.stdin, {
    accept(body) {
      const a = admit(body);
      if ("reply" in a) {
        writer.write(a.reply).catch(() => undefined);
        return undefined;
      }
      if ("drop" in a) {
        logLine(`ignored: ${a.drop}`);
        return undefined;
      }
      if ((a.message as { method?: string }).method === "shutdown") shutdownAsked = true;
      writer.owe(a.message);
      return a.message;
    },
  });
  let leaving = false;
  const leave = (code: number, line?: string) => {
    if (leaving) return;
    leaving = true;
    void writer.settled(ANSWER_GRACE_MS).then(() => {
      // The empty write's callback runs once everything before it is out (stdout may be asynchronous).
      process.stdout.write("", () => {
        if (line === undefined) process.exit(code);
        else process.stderr.write(line, () => process.exit(code));
      });
    });
  };
  reader.onError((e) => {
    if (e instanceof FramingError) {
      leave(FRAMING_EXIT_CODE, `nowls: bad LSP framing on stdin, exiting: ${e.message.replace(/\s+/g, " ")}\n`);
    } else {
      // stdin's own error (its close follows and ends the process) or a dispatch that threw.
      logLine(`reading stdin: ${e.stack ?? e.message}`);
    }
  });
  reader.onClose(() => leave(shutdownAsked ? 0 : 1));

  const connection = createConnection(reader, writer);
  connection.onInitialize((params) => {
    const { server, result } = NowServer.initialize(connection, params, o.cwd);
    server.register();
    return result;
  });
  connection.listen();
}
