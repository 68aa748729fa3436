// The base protocol's framing (`Content-Length: N\r\n\r\n` then N bytes of UTF-8 JSON) read
// strictly from stdin. vscode-jsonrpc's own reader reports a bad header (fires an error
// nobody acts on) and then reads the rest of the stream out of step, or waits forever for
// a blank line or a body that never comes: the editor sees a server that is alive and
// silent. Once the framing is lost nothing after it can be trusted, so every framing
// fault here is a FramingError, fired once, after which nothing more is read; the
// command exits and the editor restarts the server. A frame that is well formed but
// whose body is bad JSON-RPC is not a framing fault: its body goes to `accept`, which
// answers it and the server goes on.
import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from "vscode-jsonrpc/node";

export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FramingError";
  }
}

export interface FrameReaderOptions {
  /**
   * Turns a complete body into the message to dispatch, or undefined when it answered or
   * dropped the body itself (bad JSON, not JSON-RPC, invalid params).
   */
  accept(body: Buffer): Message | undefined;
  /** Larger bodies are refused rather than buffered (a huge length is a broken client, not a file). */
  maxContentLength?: number;
  /** A frame begun and left unfinished this long means the byte count was wrong. */
  stallTimeoutMs?: number;
}

/** 64 MiB: far above any buffer an editor sends, far below what Node can hold as one string. */
export const MAX_CONTENT_LENGTH = 64 * 1024 * 1024;
export const STALL_TIMEOUT_MS = 30_000;
const MAX_HEADER_BYTES = 8 * 1024;
const CR = 0x0d;
const LF = 0x0a;
// RFC 9110 token characters: what a header name may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

export class FrameReader extends AbstractMessageReader {
  private readonly maxContentLength: number;
  private readonly stallTimeoutMs: number;
  private callback: DataCallback | null = null;
  private failed = false;
  private closed = false;
  // Header state: the current line's bytes, whether a CR is pending, bytes of header so far.
  private line: number[] = [];
  private cr = false;
  private headerBytes = 0;
  private headers = new Map<string, string>();
  // Body state: the expected length (-1 while reading headers) and the parts received.
  private length = -1;
  private parts: Buffer[] = [];
  private received = 0;
  private total = 0;
  private stall: NodeJS.Timeout | null = null;

  constructor(private readonly input: NodeJS.ReadableStream, private readonly options: FrameReaderOptions) {
    super();
    this.maxContentLength = options.maxContentLength ?? MAX_CONTENT_LENGTH;
    this.stallTimeoutMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (data: Buffer | string) => this.onData(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    const onEnd = () => this.close();
    const onError = (e: Error) => this.fireError(e);
    this.input.on("data", onData);
    this.input.on("end", onEnd);
    this.input.on("close", onEnd);
    this.input.on("error", onError);
    return {
      dispose: () => {
        this.input.removeListener("data", onData);
        this.input.removeListener("end", onEnd);
        this.input.removeListener("close", onEnd);
        this.input.removeListener("error", onError);
        this.clearStall();
      },
    };
  }

  private close(): void {
    this.clearStall();
    if (this.closed) return;
    this.closed = true;
    this.fireClose();
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.clearStall();
    this.input.pause();
    this.fireError(new FramingError(message));
  }

  private onData(data: Buffer): void {
    if (this.failed) return;
    this.total += data.length;
    let i = 0;
    while (i < data.length && !this.failed) {
      if (this.length < 0) {
        i = this.readHeader(data, i);
      } else {
        const take = Math.min(this.length - this.received, data.length - i);
        this.parts.push(data.subarray(i, i + take));
        this.received += take;
        i += take;
        if (this.received === this.length) this.deliver();
      }
    }
    if (this.failed) return;
    if (this.midFrame()) this.armStall();
    else this.clearStall();
  }

  /** Consumes header bytes from `i`; returns where it stopped (end of data or start of body). */
  private readHeader(data: Buffer, i: number): number {
    for (; i < data.length; i++) {
      const b = data[i];
      if (++this.headerBytes > MAX_HEADER_BYTES) {
        this.fail(`header longer than ${MAX_HEADER_BYTES} bytes without the blank line that ends it`);
        return data.length;
      }
      if (this.cr) {
        this.cr = false;
        if (b !== LF) {
          this.fail("header line has a CR not followed by LF");
          return data.length;
        }
        if (this.line.length === 0) {
          this.endHeaders();
          return i + 1;
        }
        if (!this.headerLine(Buffer.from(this.line).toString("latin1"))) return data.length;
        this.line = [];
        continue;
      }
      if (b === CR) {
        this.cr = true;
        continue;
      }
      if (b === LF) {
        this.fail("header line ends in LF without CR");
        return data.length;
      }
      const inName = !this.line.includes(0x3a);
      const ok = inName ? b === 0x3a ? this.line.length > 0 : TOKEN.test(String.fromCharCode(b)) : b === 0x09 || (b >= 0x20 && b < 0x7f);
      if (!ok) {
        const shown = b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, "0")}`;
        const hint = inName && (this.headers.size > 0 || b === 0x7b) ? " (a body without the blank line before it?)" : "";
        this.fail(`expected a header such as Content-Length, got ${shown} in ${inName ? "a header name" : "a header value"}${hint}`);
        return data.length;
      }
      this.line.push(b);
    }
    return i;
  }

  /** One `Name: value` line; false when it failed. */
  private headerLine(text: string): boolean {
    const colon = text.indexOf(":");
    if (colon < 0) {
      this.fail(`header line without a colon: ${JSON.stringify(text)}`);
      return false;
    }
    const name = text.slice(0, colon).toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (this.headers.has(name)) {
      this.fail(`header ${text.slice(0, colon)} given twice`);
      return false;
    }
    this.headers.set(name, value);
    return true;
  }

  private endHeaders(): void {
    const raw = this.headers.get("content-length");
    if (raw === undefined) return this.fail("frame without a Content-Length header");
    // Digits only: parseInt would read "-5" as -5, "12abc" as 12 and "1e3" as 1.
    if (!/^[0-9]+$/.test(raw)) return this.fail(`Content-Length must be a whole number of bytes, got ${JSON.stringify(raw)}`);
    const length = Number(raw);
    if (length > this.maxContentLength) return this.fail(`Content-Length ${raw} is more than the ${this.maxContentLength} bytes accepted`);
    const type = this.headers.get("content-type");
    const charset = type && /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
    if (charset && !/^utf-?8$/i.test(charset)) return this.fail(`Content-Type charset ${charset} is not utf-8`);
    this.headers = new Map();
    this.headerBytes = 0;
    this.length = length;
    this.parts = [];
    this.received = 0;
    if (length === 0) this.deliver();
  }

  private deliver(): void {
    const body = Buffer.concat(this.parts);
    this.length = -1;
    this.parts = [];
    this.received = 0;
    const message = this.options.accept(body);
    if (message === undefined || !this.callback) return;
    try {
      this.callback(message);
    } catch (e) {
      // The connection's dispatch threw on a message `accept` let through: a bug, but one
      // message's, so the stream stays in step and the server goes on.
      this.fireError(e as Error);
    }
  }

  private midFrame(): boolean {
    return this.length >= 0 || this.line.length > 0 || this.cr || this.headers.size > 0;
  }

  private armStall(): void {
    this.clearStall();
    const seen = this.total;
    this.stall = setTimeout(() => {
      // The timer may only have run late because the process was busy; bytes waiting on
      // stdin are read in the poll phase, before setImmediate callbacks, so look again then.
      setImmediate(() => {
        if (this.failed || this.total !== seen || !this.midFrame()) return;
        const what = this.length >= 0 ? `${this.received} of ${this.length} body bytes` : "part of a header";
        this.fail(`incomplete frame: ${what} arrived, then nothing for ${this.stallTimeoutMs / 1000} s`);
      });
    }, this.stallTimeoutMs);
    // A pending stall check must not keep a server that is otherwise done alive.
    this.stall.unref();
  }

  private clearStall(): void {
    if (this.stall) clearTimeout(this.stall);
    this.stall = null;
  }
}
