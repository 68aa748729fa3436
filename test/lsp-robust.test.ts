// The language server under bad input: the real `now lsp --stdio` as a child, fed raw
// bytes. A framing fault ends it (one line on stderr, exit 2) so the editor restarts it;
// anything else is answered (ParseError, InvalidRequest, InvalidParams, InternalError) or,
// for a notification, dropped with one line on stderr, and the next valid request gets
// the same answer it got before the bad input.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "child_process";
import Database from "better-sqlite3";
import fs from "fs";
import os from "os";
import path from "path";
import { PassThrough } from "stream";
import { after, test } from "node:test";
import { pathToFileURL } from "url";
import { StreamMessageReader } from "vscode-jsonrpc/node";
import { FrameReader, FramingError } from "../server/src/lsp/framing";
import { NOW, now, PYTHON, tempProject, waitFor } from "./helpers";

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

function frame(body: string | Buffer, length?: number): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${length ?? bytes.length}\r\n\r\n`, "ascii"), bytes]);
}

const msg = (m: object): Buffer => frame(JSON.stringify({ jsonrpc: "2.0", ...m }));

interface Raw {
  child: ChildProcess;
  /** Everything the server sent, in order. */
  received: any[];
  stderr(): string;
  write(bytes: Buffer | string): void;
  /** The response to request `id` (the first with that id not yet taken). */
  response(id: number | string | null): Promise<any>;
  request(method: string, params?: unknown): Promise<any>;
  exited: Promise<number | null>;
}

let nextId = 1000;
const children: ChildProcess[] = [];
// A failed assertion must not leave a server holding the test process open.
after(() => children.forEach((c) => c.exitCode === null && c.kill()));

function startRaw(cwd: string): Raw {
  const child = spawn(process.execPath, [NOW, "lsp", "--stdio"], { cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NOW_PYTHON: PYTHON } });
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  // Writes after the server left fail with EPIPE; the tests look at the exit, not at that.
  child.stdin!.on("error", () => undefined);
  const received: any[] = [];
  const taken = new Set<any>();
  new StreamMessageReader(child.stdout!).listen((m) => received.push(m));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const raw: Raw = {
    child, received, exited,
    stderr: () => err,
    write: (bytes) => void child.stdin!.write(bytes),
    async response(id) {
      let found: any;
      await waitFor(() => {
        found = received.find((m) => !taken.has(m) && "id" in m && m.id === id && !("method" in m));
        return !!found;
      }, 10000);
      taken.add(found);
      return found;
    },
    request(method, params) {
      const id = nextId++;
      raw.write(msg(params === undefined ? { id, method } : { id, method, params }));
      return raw.response(id);
    },
  };
  return raw;
}

function errorOf(r: any): { code: number; message: string } {
  assert.ok(r.error, `expected an error, got ${JSON.stringify(r)}`);
  assert.equal(typeof r.error.message, "string");
  assert.doesNotMatch(r.error.message, /\n/, "one line");
  return r.error;
}

async function shutdown(s: Raw): Promise<void> {
  assert.equal((await s.request("shutdown")).result, null);
  s.write(msg({ method: "exit" }));
  assert.equal(await s.exited, 0);
}

/** The demo project with a fine trial (3), as test/lsp.test.ts sets it up. */
function demoProject(): { dir: string; uri: (f: string) => string } {
  const dir = path.join(tempProject("nowls-lsp-robust-"), "demo");
  assert.equal(now(["demo", dir], { cwd: os.tmpdir() }).status, 0);
  assert.equal(now(["run", "--fine", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
  return { dir, uri: (f) => pathToFileURL(path.join(dir, f)).href };
}

const initParams = (dir: string) => ({
  processId: null, rootUri: pathToFileURL(dir).href,
  capabilities: { textDocument: { hover: { contentFormat: ["markdown"] } } },
});

/**
 * A server that has answered initialize and opened experiment.py, and the request whose
 * answer must not change whatever comes in between: a hover on `prec_a` (a value of trial 3).
 */
async function ready(dir: string, uri: (f: string) => string): Promise<{ s: Raw; check: () => Promise<void> }> {
  const s = startRaw(dir);
  // `initialized` is not sent: it would start the project's daemon, which these tests do not need.
  assert.ok((await s.request("initialize", initParams(dir))).result.capabilities.hoverProvider);
  const text = fs.readFileSync(path.join(dir, "experiment.py"), "utf8");
  s.write(msg({ method: "textDocument/didOpen", params: { textDocument: { uri: uri("experiment.py"), languageId: "python", version: 1, text } } }));
  const line = text.split("\n").findIndex((l) => l.startsWith("prec_a ="));
  const hover = () => s.request("textDocument/hover", { textDocument: { uri: uri("experiment.py") }, position: { line, character: 2 } });
  const baseline = (await hover()).result;
  assert.match(baseline.contents.value, /^\*\*prec\\_a\*\* — assigned once in trial 3/);
  const check = async () => {
    const r = await hover();
    assert.deepEqual(r, { jsonrpc: "2.0", id: r.id, result: baseline }, "the next valid request is answered as before");
  };
  return { s, check };
}

// ---------------------------------------------------------------------------------------
// Framing: one line on stderr, exit 2, nothing answered after it.

const FRAMING_CASES: [string, Buffer, RegExp][] = [
  ["a Content-Length that is not a number", Buffer.from("Content-Length: abc\r\n\r\n{}"), /Content-Length must be a whole number of bytes, got "abc"/],
  ["a negative Content-Length", Buffer.from("Content-Length: -5\r\n\r\n"), /Content-Length must be a whole number of bytes, got "-5"/],
  ["a Content-Length with trailing junk", Buffer.from("Content-Length: 12abc\r\n\r\n{}"), /got "12abc"/],
  ["a huge Content-Length", Buffer.from("Content-Length: 99999999999\r\n\r\n{}"), /Content-Length 99999999999 is more than the 67108864 bytes accepted/],
  [
    "a header without the blank line before its body",
    Buffer.from('Content-Length: 46\r\n{"jsonrpc":"2.0","id":1,"method":"now/trials"}'),
    /expected a header such as Content-Length, got '\{' in a header name \(a body without the blank line before it\?\)/,
  ],
  ["a body without any header", Buffer.from('{"jsonrpc":"2.0","id":1,"method":"now/trials"}'), /got '\{' in a header name/],
  ["no Content-Length", Buffer.from("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}"), /frame without a Content-Length header/],
  ["LF without CR", Buffer.from("Content-Length: 2\n\n{}"), /header line ends in LF without CR/],
  ["a header line without a colon", Buffer.from("Content-Length\r\n\r\n{}"), /header line without a colon: "Content-Length"/],
  ["Content-Length twice", Buffer.from("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), /header Content-Length given twice/],
  ["a charset other than utf-8", Buffer.from("Content-Length: 2\r\nContent-Type: application/json; charset=latin1\r\n\r\n{}"), /charset latin1 is not utf-8/],
  ["a control byte in a header value", Buffer.from("Content-Length: 2\x00\r\n\r\n{}"), /got byte 0x00 in a header value/],
  ["a header section that never ends", Buffer.from(`X-Padding: ${"x".repeat(9000)}`), /header longer than 8192 bytes/],
];

test("now lsp: a framing fault is one line on stderr and exit 2, after answering what came before", async (t) => {
  const { dir, uri } = demoProject();
  for (const [name, bytes, expected] of FRAMING_CASES) {
    await t.test(name, async () => {
      const { s } = await ready(dir, uri);
      const before = s.received.length;
      // In one write: a request before the fault (answered before the server leaves) and
      // one behind it (never read).
      s.write(Buffer.concat([msg({ id: 1, method: "now/trials" }), bytes, msg({ id: 2, method: "now/trials" })]));
      assert.equal(await s.exited, 2);
      const answers = s.received.slice(before);
      assert.deepEqual(answers.map((r) => [r.id, r.result?.length]), [[1, 3]], "the request before the fault answered, nothing after it");
      const lines = s.stderr().split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, s.stderr());
      assert.match(lines[0], /^nowls: bad LSP framing on stdin, exiting: /);
      assert.match(lines[0], expected);
    });
  }

  await t.test("a Content-Length shorter than the body: ParseError for the part, then the rest is a framing fault", async () => {
    const { s } = await ready(dir, uri);
    s.write(frame('{"jsonrpc":"2.0","id":5,"method":"now/trials"}', 10));
    assert.equal(errorOf(await s.response(null)).code, PARSE_ERROR);
    assert.equal(await s.exited, 2);
    assert.equal(s.stderr().split("\n").filter((l) => l !== "").length, 1);
    assert.match(s.stderr(), /bad LSP framing on stdin, exiting: expected a header such as Content-Length, got ':'/);
  });

  await t.test("stdin closed: exit 0 after shutdown, 1 without", async () => {
    const a = await ready(dir, uri);
    assert.equal((await a.s.request("shutdown")).result, null);
    a.s.child.stdin!.end();
    assert.equal(await a.s.exited, 0);
    const b = await ready(dir, uri);
    b.s.child.stdin!.end();
    assert.equal(await b.s.exited, 1);
    assert.equal(a.s.stderr() + b.s.stderr(), "");
  });

  await t.test("the exit notification after shutdown: exit 0, nothing on stderr", async () => {
    const { s } = await ready(dir, uri);
    await shutdown(s);
    assert.equal(s.stderr(), "");
  });
});

// The stall limit is 30 s in the server; the reader itself is tried with a short one.
test("framing: a frame left unfinished is a fault after the stall limit; a slow but complete one is not", async () => {
  const run = async (chunks: string[], gapMs: number) => {
    const input = new PassThrough();
    const errors: Error[] = [];
    const bodies: string[] = [];
    const reader = new FrameReader(input, { stallTimeoutMs: 120, accept: (b) => (bodies.push(b.toString()), undefined) });
    reader.onError((e) => errors.push(e));
    reader.listen(() => undefined);
    for (const c of chunks) {
      input.write(c);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    await new Promise((r) => setTimeout(r, 300));
    return { errors, bodies };
  };
  const stalled = await run(["Content-Length: 10\r\n\r\n", '{"a"'], 10);
  assert.equal(stalled.errors.length, 1);
  assert.ok(stalled.errors[0] instanceof FramingError);
  assert.equal(stalled.errors[0].message, "incomplete frame: 4 of 10 body bytes arrived, then nothing for 0.12 s");
  const header = await run(["Content-Len"], 10);
  assert.equal(header.errors[0].message, "incomplete frame: part of a header arrived, then nothing for 0.12 s");
  // Pieces 80 ms apart, each under the limit: one body, no fault.
  const slow = await run(["Content-Len", "gth: 7\r\n", "\r\n{\"a\"", ":1}"], 80);
  assert.deepEqual(slow, { errors: [], bodies: ['{"a":1}'] });
  // Between frames the reader waits as long as the editor likes.
  const idle = await run([`Content-Length: 2\r\n\r\n{}`], 10);
  assert.deepEqual(idle, { errors: [], bodies: ["{}"] });
});

// ---------------------------------------------------------------------------------------
// Well-framed bodies that are not valid JSON-RPC: answered, and the server goes on.

test("now lsp: bodies that are not JSON or not JSON-RPC are answered, and the server goes on", async (t) => {
  const { dir, uri } = demoProject();
  const { s, check } = await ready(dir, uri);
  try {
    const cases: [string, Buffer, number, number | string | null, RegExp][] = [
      ["not JSON", frame("nope"), PARSE_ERROR, null, /^body is not JSON: /],
      ["half a JSON object", frame('{"jsonrpc":"2.0","id":'), PARSE_ERROR, null, /^body is not JSON: /],
      ["an empty body", frame(""), PARSE_ERROR, null, /^body is not JSON: /],
      ["invalid UTF-8", frame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), PARSE_ERROR, null, /^body is not JSON: /],
      ["a batch", frame('[{"jsonrpc":"2.0","id":1,"method":"now/trials"}]'), INVALID_REQUEST, null, /^batches are not supported/],
      ["a number", frame("5"), INVALID_REQUEST, null, /^a JSON-RPC message must be an object$/],
      ["null", frame("null"), INVALID_REQUEST, null, /^a JSON-RPC message must be an object$/],
      ["jsonrpc 1.0", frame('{"jsonrpc":"1.0","id":7,"method":"now/trials"}'), INVALID_REQUEST, 7, /^jsonrpc must be "2.0"$/],
      ["no jsonrpc", frame('{"id":"x","method":"now/trials"}'), INVALID_REQUEST, "x", /^jsonrpc must be "2.0"$/],
      ["neither method nor result", msg({ id: 8 }), INVALID_REQUEST, null, /^message has neither a method nor a result or error$/],
      ["a method that is not a string", msg({ id: 9, method: 42 }), INVALID_REQUEST, 9, /^method must be a string$/],
      ["an id that is an object", msg({ id: { n: 1 }, method: "now/trials" }), INVALID_REQUEST, null, /^now\/trials: id must be an integer or a string$/],
      ["an id that is a fraction", msg({ id: 1.5, method: "now/trials" }), INVALID_REQUEST, null, /id must be an integer or a string/],
      ["an id that is null", msg({ id: null, method: "now/trials" }), INVALID_REQUEST, null, /id must be an integer or a string/],
      ["params that are a string", msg({ id: 10, method: "now/trials", params: "x" }), INVALID_PARAMS, 10, /^now\/trials: params must be an object$/],
      ["an unknown method", msg({ id: 11, method: "now/nonsense", params: {} }), METHOD_NOT_FOUND, 11, /now\/nonsense/],
    ];
    for (const [name, bytes, code, id, message] of cases) {
      await t.test(name, async () => {
        s.write(bytes);
        const e = errorOf(await s.response(id));
        assert.equal(e.code, code);
        assert.match(e.message, message);
        await check();
      });
    }

    // Notifications cannot be answered: dropped, one line on stderr each, nothing else changes.
    const text = fs.readFileSync(path.join(dir, "experiment.py"), "utf8");
    const dropped: [string, object, RegExp][] = [
      ["didOpen with params null", { method: "textDocument/didOpen", params: null }, /^nowls: ignored: textDocument\/didOpen: params must be an object$/],
      [
        "didOpen without text (the open buffer is kept)",
        { method: "textDocument/didOpen", params: { textDocument: { uri: uri("experiment.py"), languageId: "python", version: 2 } } },
        /^nowls: ignored: textDocument\/didOpen: params.textDocument.text is missing$/,
      ],
      [
        "didChange with a range whose line is negative (the buffer is not garbled)",
        {
          method: "textDocument/didChange",
          params: { textDocument: { uri: uri("experiment.py"), version: 3 }, contentChanges: [{ range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } }, text: "x" }] },
        },
        /^nowls: ignored: textDocument\/didChange: params.contentChanges\[0\].range.start.line must be a whole number$/,
      ],
      ["$/cancelRequest with params null", { method: "$/cancelRequest", params: null }, /^nowls: ignored: \$\/cancelRequest: params must be an object$/],
      ["$/cancelRequest with an id that is an object", { method: "$/cancelRequest", params: { id: {} } }, /^nowls: ignored: \$\/cancelRequest: params.id must be a request id$/],
      ["didChangeConfiguration with params 3", { method: "workspace/didChangeConfiguration", params: 3 }, /^nowls: ignored: workspace\/didChangeConfiguration: params must be an object$/],
      ["a response with an id that is an object", { id: {}, result: 1 }, /^nowls: ignored: response with an invalid id$/],
    ];
    for (const [name, m, line] of dropped) {
      await t.test(name, async () => {
        const before = s.stderr().length;
        const received = s.received.length;
        s.write(msg(m));
        await waitFor(() => s.stderr().length > before);
        await check();
        const lines = s.stderr().slice(before).split("\n").filter((l) => l !== "");
        assert.equal(lines.length, 1);
        assert.match(lines[0], line);
        // Only the hover's answer (and any diagnostics) came back: no error for the notification.
        assert.ok(s.received.slice(received).every((r) => !r.error), JSON.stringify(s.received.slice(received)));
      });
    }
    assert.equal(text, fs.readFileSync(path.join(dir, "experiment.py"), "utf8"));
    await shutdown(s);
  } finally {
    s.child.kill();
  }
});

// ---------------------------------------------------------------------------------------
// Params: every request the server handles is checked against its method's schema.

test("now lsp: null or malformed params get InvalidParams with one line, for every request; the server goes on", async (t) => {
  const { dir, uri } = demoProject();
  const { s, check } = await ready(dir, uri);
  const doc = { uri: uri("experiment.py") };
  const pos = { line: 0, character: 0 };
  const range = { start: pos, end: { line: 3, character: 0 } };
  const cases: [string, unknown, string][] = [
    ["textDocument/hover", null, "textDocument/hover: params must be an object"],
    ["textDocument/hover", {}, "textDocument/hover: params.textDocument is missing"],
    ["textDocument/hover", [doc, pos], "textDocument/hover: params must be an object"],
    ["textDocument/hover", { textDocument: doc }, "textDocument/hover: params.position is missing"],
    ["textDocument/hover", { textDocument: null, position: pos }, "textDocument/hover: params.textDocument must be an object"],
    ["textDocument/hover", { textDocument: { uri: 5 }, position: pos }, "textDocument/hover: params.textDocument.uri must be a URI string"],
    ["textDocument/hover", { textDocument: { uri: "not a uri" }, position: pos }, 'textDocument/hover: params.textDocument.uri must be a URI, got "not a uri"'],
    ["textDocument/hover", { textDocument: doc, position: { line: 1.5, character: 0 } }, "textDocument/hover: params.position.line must be a whole number"],
    ["textDocument/hover", { textDocument: doc, position: { line: -1, character: 0 } }, "textDocument/hover: params.position.line must be a whole number"],
    ["textDocument/hover", { textDocument: doc, position: { line: 0, character: "3" } }, "textDocument/hover: params.position.character must be a whole number"],
    ["textDocument/hover", { textDocument: doc, position: { line: 0 } }, "textDocument/hover: params.position.character is missing"],
    ["textDocument/inlayHint", null, "textDocument/inlayHint: params must be an object"],
    ["textDocument/inlayHint", { textDocument: doc }, "textDocument/inlayHint: params.range is missing"],
    ["textDocument/inlayHint", { textDocument: doc, range: { start: pos, end: { line: null, character: 0 } } }, "textDocument/inlayHint: params.range.end.line must be a whole number"],
    ["textDocument/codeLens", null, "textDocument/codeLens: params must be an object"],
    ["textDocument/codeLens", { textDocument: {} }, "textDocument/codeLens: params.textDocument.uri is missing"],
    ["textDocument/codeAction", null, "textDocument/codeAction: params must be an object"],
    ["textDocument/codeAction", { textDocument: doc }, "textDocument/codeAction: params.range is missing"],
    ["textDocument/codeAction", { textDocument: doc, range, context: "x" }, "textDocument/codeAction: params.context must be an object"],
    ["workspace/executeCommand", null, "workspace/executeCommand: params must be an object"],
    ["workspace/executeCommand", {}, "workspace/executeCommand: params.command is missing"],
    ["workspace/executeCommand", { command: "rm -rf" }, "workspace/executeCommand: params.command must be one of now.runTrial, now.diffTrial"],
    ["workspace/executeCommand", { command: "now.runTrial" }, "workspace/executeCommand: params.arguments needs 1 argument, got 0"],
    ["workspace/executeCommand", { command: "now.runTrial", arguments: "x" }, "workspace/executeCommand: params.arguments must be an array"],
    ["workspace/executeCommand", { command: "now.runTrial", arguments: [null] }, "workspace/executeCommand: params.arguments[0] must be a URI string"],
    ["workspace/executeCommand", { command: "now.runTrial", arguments: [doc.uri, [1]] }, "workspace/executeCommand: params.arguments[1] must be an array of strings"],
    ["workspace/executeCommand", { command: "now.runTrial", arguments: [doc.uri, [], "yes"] }, "workspace/executeCommand: params.arguments[2] must be true or false"],
    ["workspace/executeCommand", { command: "now.diffTrial", arguments: [doc.uri] }, "workspace/executeCommand: params.arguments needs 2 arguments, got 1"],
    ["workspace/executeCommand", { command: "now.diffTrial", arguments: [doc.uri, { id: 1 }] }, "workspace/executeCommand: params.arguments[1] must be a trial number, tag or UUID"],
    ["now/trials", 7, "now/trials: params must be an object"],
    ["now/trial", { trial: {} }, "now/trial: params.trial must be a trial number, tag or UUID"],
    ["now/trial", { trial: -1 }, "now/trial: params.trial must be a trial number, tag or UUID"],
    ["now/trial", [1], "now/trial: params must be an object"],
    ["now/selectTrial", null, "now/selectTrial: params must be an object"],
    ["now/selectTrial", { trial: 1 }, "now/selectTrial: params.uri is missing"],
    ["now/selectTrial", { uri: doc.uri, trial: true }, "now/selectTrial: params.trial must be a trial number, tag or UUID"],
    ["now/graph", null, "now/graph: params must be an object"],
    ["now/graph", {}, "now/graph: params.kind is missing"],
    ["now/graph", { kind: "activation", depth: 1.5 }, "now/graph: params.depth must be a whole number"],
    ["now/graph", { kind: "activation", focus: 3 }, "now/graph: params.focus must be a string"],
    ["now/graph", { kind: "activation", trial: null }, "now/graph: params.trial must be a trial number, tag or UUID"],
    ["now/diff", null, "now/diff: params must be an object"],
    ["now/diff", { a: [], b: 1 }, "now/diff: params.a must be a trial number, tag or UUID"],
    ["now/diff", { a: 1, b: 2, fine: "yes" }, "now/diff: params.fine must be true or false"],
    ["now/run", null, "now/run: params must be an object"],
    ["now/run", {}, "now/run: params.uri is missing"],
    ["now/run", { uri: doc.uri, args: "2013" }, "now/run: params.args must be an array of strings"],
    ["now/run", { uri: doc.uri, args: { a: 1 } }, "now/run: params.args must be an array of strings"],
    // Bad input the handlers find (NowError): InvalidParams with its message.
    ["now/trial", { trial: 99 }, "no trial 99 (trials are 1 to 3)"],
    ["now/selectTrial", { uri: doc.uri, trial: "nosuchtag" }, "no trial 'nosuchtag': give a trial number, tag or UUID (trials are 1 to 3)"],
    ["now/graph", { kind: "dataflow", trial: 3, focus: "v999999" }, "no node 'v999999' in trial 3's dataflow (keys look like v12, a3, f1)"],
    ["now/diff", { a: 1 }, "now/diff needs two trials, a and b"],
    ["workspace/executeCommand", { command: "now.diffTrial", arguments: [doc.uri, 42] }, "no trial 42 (trials are 1 to 3)"],
    ["workspace/executeCommand", { command: "now.runTrial", arguments: ["file:///elsewhere/x.py"] }, `now.runTrial needs the URI of a script in ${dir}`],
  ];
  try {
    for (const [method, params, message] of cases) {
      await t.test(`${method} ${JSON.stringify(params)}`, async () => {
        const e = errorOf(await s.request(method, params));
        assert.deepEqual(e, { code: INVALID_PARAMS, message });
        await check();
      });
    }

    await t.test("params absent where they are required", async () => {
      const e = errorOf(await s.request("textDocument/hover"));
      assert.deepEqual(e, { code: INVALID_PARAMS, message: "textDocument/hover: params must be an object" });
      await check();
    });

    await t.test("well-formed requests about unknown documents answer null or [], as LSP expects", async () => {
      const other = { uri: uri("nope.py") };
      assert.equal((await s.request("textDocument/hover", { textDocument: other, position: pos })).result, null);
      assert.equal((await s.request("textDocument/hover", { textDocument: { uri: "untitled:Untitled-1" }, position: pos })).result, null);
      assert.equal((await s.request("textDocument/hover", { textDocument: doc, position: { line: 99999, character: 0 } })).result, null);
      assert.deepEqual((await s.request("textDocument/codeLens", { textDocument: other })).result, []);
      assert.deepEqual((await s.request("textDocument/codeAction", { textDocument: other, range, context: { diagnostics: [] } })).result, []);
      // null params mean no params for the methods that take none.
      assert.equal((await s.request("now/trials", null)).result.length, 3);
      assert.equal((await s.request("now/trial", null)).result.trial.id, 3);
      await check();
    });
    assert.equal(s.stderr(), "", "InvalidParams is an answer, not a log line");
    await shutdown(s);
  } finally {
    s.child.kill();
  }
});

test("now lsp: initialize with bad params gets InvalidParams, and a good one after it works", async () => {
  const { dir } = demoProject();
  const s = startRaw(dir);
  try {
    const cases: [unknown, string][] = [
      [null, "initialize: params must be an object"],
      [{ processId: null, rootUri: null }, "initialize: params.capabilities is missing"],
      [{ processId: "me", capabilities: {} }, "initialize: params.processId must be an integer"],
      [{ rootUri: 5, capabilities: {} }, "initialize: params.rootUri must be a string"],
      [{ workspaceFolders: [{ name: "x" }], capabilities: {} }, "initialize: params.workspaceFolders[0].uri is missing"],
      [{ capabilities: { textDocument: { hover: { contentFormat: "markdown" } } } }, "initialize: params.capabilities.textDocument.hover.contentFormat must be an array"],
    ];
    for (const [params, message] of cases) {
      assert.deepEqual(errorOf(await s.request("initialize", params)), { code: INVALID_PARAMS, message });
    }
    assert.ok((await s.request("initialize", initParams(dir))).result.capabilities.hoverProvider);
    assert.equal((await s.request("now/trials")).result.length, 3);
    assert.equal(s.stderr(), "");
    await shutdown(s);
  } finally {
    s.child.kill();
  }
});

test("now lsp: without a store, selecting or describing a trial is InvalidParams, not a bug", async () => {
  const dir = tempProject("nowls-lsp-robust-empty-");
  fs.writeFileSync(path.join(dir, "a.py"), "x = 1\n");
  const s = startRaw(dir);
  try {
    assert.ok((await s.request("initialize", initParams(dir))).result);
    const a = pathToFileURL(path.join(dir, "a.py")).href;
    assert.deepEqual(errorOf(await s.request("now/selectTrial", { uri: a, trial: 1 })), { code: INVALID_PARAMS, message: "no trials recorded yet" });
    assert.deepEqual(errorOf(await s.request("now/trial", {})), { code: INVALID_PARAMS, message: "no trials recorded yet" });
    assert.deepEqual(errorOf(await s.request("now/graph", { kind: "history" })), { code: INVALID_PARAMS, message: "no trials recorded yet" });
    // Back to the default needs no store.
    assert.equal((await s.request("now/selectTrial", { uri: a, trial: null })).result, null);
    assert.equal(s.stderr(), "");
    await shutdown(s);
  } finally {
    s.child.kill();
  }
});

test("now lsp: an exception that is not bad input is InternalError, logged with its stack; the server goes on", async () => {
  const { dir, uri } = demoProject();
  const { s, check } = await ready(dir, uri);
  const db = new Database(path.join(dir, ".now", "db.sqlite"));
  try {
    const good = (await s.request("now/trial", { trial: 1 })).result;
    assert.equal(good.trial.id, 1);
    // The store changed under the server (a table gone): a bug's path, not the user's input.
    db.exec("ALTER TABLE deployment RENAME TO deployment_away");
    const e = errorOf(await s.request("now/trial", { trial: 1 }));
    assert.deepEqual(e, { code: INTERNAL_ERROR, message: "now/trial failed: no such table: deployment" });
    await waitFor(() => /at getDeployment/.test(s.stderr()));
    assert.match(s.stderr(), /^nowls: now\/trial failed: SqliteError: no such table: deployment\n\s+at /);
    db.exec("ALTER TABLE deployment_away RENAME TO deployment");
    assert.deepEqual((await s.request("now/trial", { trial: 1 })).result, good);
    await check();
    await shutdown(s);
  } finally {
    db.close();
    s.child.kill();
  }
});

test("now lsp: a client answering the server's refresh requests with errors does not bring it down", async () => {
  const { dir, uri } = demoProject();
  const s = startRaw(dir);
  try {
    await s.request("initialize", {
      ...initParams(dir),
      initializationOptions: { inlayHints: true },
      capabilities: { workspace: { codeLens: { refreshSupport: true }, inlayHint: { refreshSupport: true } } },
    });
    // Every request the server sends gets an error back, as from a client that claims a capability it lacks.
    const answered = new Set<any>();
    const answering = setInterval(() => {
      for (const m of s.received) {
        if (typeof m.method === "string" && "id" in m && !answered.has(m)) {
          answered.add(m);
          s.write(msg({ id: m.id, error: { code: METHOD_NOT_FOUND, message: `no ${m.method} here` } }));
        }
      }
    }, 10);
    try {
      const run = await s.request("now/run", { uri: uri("experiment.py"), args: ["2013", "2014"] });
      assert.equal(run.result.exitCode, 0);
      assert.deepEqual(run.result.trial.argv, ["experiment.py", "2013", "2014"]);
      // Neovim's empty Lua table for "no arguments" may arrive as {}: taken as [].
      const bare = await s.request("now/run", { uri: uri("experiment.py"), args: {} });
      assert.deepEqual(bare.result.trial.argv, ["experiment.py"]);
      await waitFor(() => [...answered].some((m) => m.method === "workspace/codeLens/refresh") && [...answered].some((m) => m.method === "workspace/inlayHint/refresh"));
      // A response to a request the server never sent: ignored.
      s.write(msg({ id: 987654, result: null }));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(s.child.exitCode, null, s.stderr());
      assert.equal((await s.request("now/trials")).result.length, 5);
    } finally {
      clearInterval(answering);
    }
    assert.equal(s.stderr(), "");
    await shutdown(s);
  } finally {
    s.child.kill();
  }
});
