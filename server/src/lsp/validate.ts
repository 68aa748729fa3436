// What the language server accepts, checked once for every message before any handler
// (ours or vscode-languageserver's, which read `params.workDoneToken` and
// `params.processId` before our code runs) sees it. A frame's body that is not JSON gets
// ParseError, one that is not a JSON-RPC message InvalidRequest, a request whose params do
// not fit its method's schema InvalidParams with a one-line message naming the field; a
// notification that fails (it cannot be answered) is dropped and logged. Valid shapes
// with unknown content (a document never opened, a position past the end) are the
// handlers' business: they answer null or [] as LSP expects.
import { ErrorCodes, type Message, type ResponseMessage } from "vscode-jsonrpc/node";
import { DIFF_TRIAL_COMMAND, LspMethods, RUN_TRIAL_COMMAND } from "../../../protocol/lsp";

/** A message naming what is wrong at `at`, or null when `v` fits. */
export type Check = (v: unknown, at: string) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const any: Check = () => null;
export const str: Check = (v, at) => (typeof v === "string" ? null : `${at} must be a string`);
export const bool: Check = (v, at) => (typeof v === "boolean" ? null : `${at} must be true or false`);
/** LSP's uinteger: lines, characters, versions counted from 0. */
export const uint: Check = (v, at) =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2 ** 31 - 1 ? null : `${at} must be a whole number`;
export const int: Check = (v, at) =>
  Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 ? null : `${at} must be an integer`;
/** A DocumentUri: any scheme (untitled:, file:); a document we do not know is the handler's null, not an error. */
export const uri: Check = (v, at) => {
  if (typeof v !== "string") return `${at} must be a URI string`;
  return URL.canParse(v) ? null : `${at} must be a URI, got ${JSON.stringify(v.slice(0, 80))}`;
};

export const nullable = (c: Check): Check => (v, at) => (v === null ? null : c(v, at));
export const oneOf = (...values: string[]): Check => (v, at) =>
  typeof v === "string" && values.includes(v) ? null : `${at} must be one of ${values.join(", ")}`;
export const either = (what: string, ...checks: Check[]): Check => (v, at) =>
  checks.some((c) => c(v, at) === null) ? null : `${at} must be ${what}`;
export const arrayOf = (c: Check): Check => (v, at) => {
  if (!Array.isArray(v)) return `${at} must be an array`;
  for (let i = 0; i < v.length; i++) {
    const e = c(v[i], `${at}[${i}]`);
    if (e) return e;
  }
  return null;
};
/** An object with `required` fields and `optional` ones (absent, or present and fitting); other fields are ignored. */
export const obj = (required: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at) => {
  if (!isObject(v)) return `${at} must be an object`;
  for (const [k, c] of Object.entries(required)) {
    if (!(k in v) || v[k] === undefined) return `${at}.${k} is missing`;
    const e = c(v[k], `${at}.${k}`);
    if (e) return e;
  }
  for (const [k, c] of Object.entries(optional)) {
    if (v[k] === undefined) continue;
    const e = c(v[k], `${at}.${k}`);
    if (e) return e;
  }
  return null;
};
/** Positional arguments: the required ones first, then optional ones; extra ones are ignored. */
export const tuple = (required: Check[], optional: Check[] = []): Check => (v, at) => {
  if (!Array.isArray(v)) return `${at} must be an array`;
  if (v.length < required.length) return `${at} needs ${required.length} argument${required.length === 1 ? "" : "s"}, got ${v.length}`;
  const all = [...required, ...optional];
  for (let i = 0; i < Math.min(v.length, all.length); i++) {
    if (i >= required.length && (v[i] === null || v[i] === undefined)) continue;
    const e = all[i](v[i], `${at}[${i}]`);
    if (e) return e;
  }
  return null;
};
/** No params, null, or an object whose fields are checked. */
const noneOr = (c: Check): Check => (v, at) => (v === undefined || v === null ? null : c(v, at));

const textDocument = obj({ uri });
const position = obj({ line: uint, character: uint });
const range = obj({ start: position, end: position });
const trialRef = either("a trial number, tag or UUID", uint, str);

// Lua has one empty table for [] and {}; Neovim may encode an empty argument list as {}.
const emptyObject: Check = (v, at) => (isObject(v) && Object.keys(v).length === 0 ? null : `${at} must be empty`);
const scriptArgs = either("an array of strings", arrayOf(str), emptyObject);

const COMMAND_ARGUMENTS: Record<string, Check> = {
  [RUN_TRIAL_COMMAND]: tuple([uri], [scriptArgs, bool]),
  [DIFF_TRIAL_COMMAND]: tuple([uri, trialRef]),
};

const executeCommand: Check = (v, at) => {
  const e = obj({ command: oneOf(...Object.keys(COMMAND_ARGUMENTS)) }, { arguments: arrayOf(any) })(v, at);
  if (e) return e;
  const p = v as { command: string; arguments?: unknown[] };
  return COMMAND_ARGUMENTS[p.command](p.arguments ?? [], `${at}.arguments`);
};

/** Requests answered by the server; a method not here is not checked (the connection answers MethodNotFound). */
export const REQUEST_PARAMS: Record<string, Check> = {
  // Only what NowServer.initialize and the library's watchdog read; the rest of the
  // client's capabilities are its own business.
  initialize: obj(
    {
      capabilities: obj({}, {
        textDocument: nullable(obj({}, { hover: nullable(obj({}, { contentFormat: nullable(arrayOf(str)) })) })),
      }),
    },
    {
      processId: nullable(int), rootUri: nullable(str), rootPath: nullable(str),
      workspaceFolders: nullable(arrayOf(obj({ uri: str }))), trace: nullable(oneOf("off", "messages", "verbose")),
    },
  ),
  "textDocument/hover": obj({ textDocument, position }),
  "textDocument/inlayHint": obj({ textDocument, range }),
  "textDocument/codeLens": obj({ textDocument }),
  "textDocument/codeAction": obj({ textDocument, range }, { context: obj({}) }),
  "workspace/executeCommand": executeCommand,
  [LspMethods.trials]: noneOr(obj({})),
  [LspMethods.trial]: noneOr(obj({}, { trial: trialRef })),
  // `trial` absent or null: back to the document's default trial.
  [LspMethods.selectTrial]: obj({ uri }, { trial: nullable(trialRef) }),
  [LspMethods.graph]: obj(
    { kind: oneOf("activation", "dataflow", "history", "definitions") },
    { trial: trialRef, format: oneOf("json", "dot", "mermaid"), focus: str, depth: uint },
  ),
  // a and b are checked for presence by diffOf, whose message says what the pair is for.
  [LspMethods.diff]: obj({}, { a: trialRef, b: trialRef, fine: bool }),
  [LspMethods.run]: obj({ uri }, { args: scriptArgs, fine: bool }),
};

/** Notifications the server acts on; a failing one is dropped (there is no one to answer). */
export const NOTIFICATION_PARAMS: Record<string, Check> = {
  "textDocument/didOpen": obj({ textDocument: obj({ uri, languageId: str, version: int, text: str }) }),
  // A change with a range is incremental and its range must be sound, or the buffer would be garbled.
  "textDocument/didChange": obj({
    textDocument: obj({ uri, version: int }),
    contentChanges: arrayOf(obj({ text: str }, { range, rangeLength: uint })),
  }),
  "textDocument/didClose": obj({ textDocument }),
  "textDocument/didSave": obj({ textDocument }, { text: str }),
  "workspace/didChangeConfiguration": obj({}, { settings: any }),
  "$/cancelRequest": obj({ id: either("a request id", int, str) }),
  "$/setTrace": obj({ value: oneOf("off", "messages", "verbose") }),
};

export type Admission =
  | { message: Message }
  /** Answer with this instead of dispatching. */
  | { reply: ResponseMessage }
  /** Neither dispatch nor answer (a notification or a response): say why in the log. */
  | { drop: string };

function errorReply(id: number | string | null, code: number, message: string): { reply: ResponseMessage } {
  return { reply: { jsonrpc: "2.0", id, error: { code, message } } };
}

const validId = (id: unknown): id is number | string => typeof id === "string" || Number.isInteger(id);

/** Decides what to do with one frame's body. */
export function admit(body: Buffer): Admission {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    return errorReply(null, ErrorCodes.ParseError, `body is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(m)) return errorReply(null, ErrorCodes.InvalidRequest, "batches are not supported: send one message per frame");
  if (!isObject(m)) return errorReply(null, ErrorCodes.InvalidRequest, "a JSON-RPC message must be an object");
  const id = validId(m.id) ? m.id : null;
  if (m.jsonrpc !== "2.0") return errorReply(id, ErrorCodes.InvalidRequest, 'jsonrpc must be "2.0"');
  if (!("method" in m)) {
    // A response to one of our requests (e.g. workDoneProgress/create). Answering a bad one
    // with its id would look to the client like the answer to a request of its own.
    if ("result" in m || "error" in m) {
      return m.id === null || validId(m.id) ? { message: m as unknown as Message } : { drop: "response with an invalid id" };
    }
    return errorReply(null, ErrorCodes.InvalidRequest, "message has neither a method nor a result or error");
  }
  if (typeof m.method !== "string") return errorReply(id, ErrorCodes.InvalidRequest, "method must be a string");
  const method = m.method;
  if ("id" in m && id === null) return errorReply(null, ErrorCodes.InvalidRequest, `${method}: id must be an integer or a string`);
  if (m.params !== undefined && m.params !== null && typeof m.params !== "object") {
    // JSON-RPC allows only an object or an array; null is left to the method's schema below,
    // which answers InvalidParams as LSP clients expect for `params: null`.
    if (id !== null) return errorReply(id, ErrorCodes.InvalidParams, `${method}: params must be an object`);
    return { drop: `${method}: params must be an object` };
  }
  if (id !== null) {
    const check = REQUEST_PARAMS[method];
    const e = check?.(m.params, "params");
    return e ? errorReply(id, ErrorCodes.InvalidParams, `${method}: ${e}`) : { message: m as unknown as Message };
  }
  const check = NOTIFICATION_PARAMS[method];
  const e = check?.(m.params, "params");
  return e ? { drop: `${method}: ${e}` } : { message: m as unknown as Message };
}
