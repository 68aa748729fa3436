// The event log written by the Python tracer and read by the server: format version 1.
// protocol/README.md is the normative description; these types mirror it field by field.

export const EVENT_FORMAT = "now-events";
export const EVENT_VERSION = 1;

/** A safe repr made by now_tracer.values: at most 200 characters, never the object itself. */
export type Repr = string;
/** Lowercase hex SHA-256 of exact bytes; the bytes may be in the content store. */
export type Hash = string;

export interface HeaderEvent {
  e: "header";
  format: typeof EVENT_FORMAT;
  version: number;
  trial: string;
  tracer: string;
  core: "settrace" | "sysmon";
  core_reason: string | null;
  /** The sys.monitoring tool id held by the sysmon core (added within version 1). */
  core_tool_id?: number;
  /** sysmon with calls_keep: the second tool id, counting the activations past the cap. */
  core_counter_tool_id?: number;
  granularity: "coarse" | "fine";
  /** Coarse mode records the first K activations of each code object (0: all); added within version 1. */
  calls_keep?: number;
  t0: number;
  pid: number;
  root: string;
  script: string;
  script_hash: Hash | null;
  argv: string[];
  cwd: string;
}

export interface DeploymentEvent {
  e: "deployment";
  os: { system: string; release: string; version: string; name: string | null };
  hostname: string;
  machine: string;
  python: { implementation: string; version: string; executable: string; prefix: string };
  env: Record<string, string>;
  redacted: string[];
}

export interface CodeEvent {
  e: "code";
  code: number;
  file: string;
  name: string;
  qualname: string;
  line: number;
  /** Added within version 1; absent from older logs (then: module for `<module>`, else function). */
  kind?: "module" | "class" | "function" | "generator" | "coroutine" | "async_generator";
}

export interface CallEvent {
  e: "call";
  id: number;
  code: number;
  parent: number | null;
  t: number;
  args: [string, Repr][];
}

export interface ReturnEvent { e: "return"; id: number; t: number; value: Repr }
export interface ExceptionInfo { type: string; message: string }
export interface RaiseEvent { e: "raise"; id: number; t: number; exc: ExceptionInfo }
export interface YieldEvent { e: "yield"; id: number; t: number; value: Repr | null }
export interface ResumeEvent { e: "resume"; id: number; t: number }

export interface OpenEvent {
  e: "open";
  id: number;
  activation: number | null;
  t: number;
  path: string;
  mode: string;
  hash_before: Hash | null;
}

export interface CloseEvent { e: "close"; id: number; t: number; hash_after: Hash | null; at_exit: boolean }

export interface ModuleEvent {
  e: "module";
  name: string;
  version: string | null;
  path: string | null;
  hash: Hash | null;
  local: boolean;
}

/** At the end: activations of a code object after its first `calls_keep`, counted, not recorded. */
export interface CallsElidedEvent { e: "calls_elided"; code: number; count: number }
export interface OutputEvent { e: "output"; stdout: number | null; stderr: number | null }
export interface WarningEvent { e: "warning"; message: string }
/**
 * Recording stopped before the end (added within version 1): the log could not be written
 * (full disk…) or the process that started the tracer died. Nothing follows it; the trial
 * is `incomplete` with this reason, whatever the process's exit code.
 */
export interface IncompleteEvent { e: "incomplete"; t: number; reason: string }

export interface TracebackFrame { file: string; line: number; function: string }
export interface EndEvent {
  e: "end";
  t: number;
  exit_code: number;
  status: "finished" | "failed";
  exception: (ExceptionInfo & { traceback: TracebackFrame[] }) | null;
}

export type ValueKind =
  | "param" | "assign" | "augassign" | "annassign" | "for" | "with" | "walrus" | "except"
  | "import" | "def" | "class" | "comprehension" | "match" | "global" | "mutation";

/** Fine granularity: a target got a value. */
export interface ValueEvent {
  e: "value";
  id: number;
  act: number;
  line: number;
  col: number;
  target: string;
  kind: ValueKind;
  value: Repr;
  deps: number[];
  calls: number[];
  files: number[];
}

/** Fine granularity: an activation's return value as a value node. */
export interface ReturnedEvent {
  e: "returned"; id: number; act: number; line: number; value: Repr; deps: number[]; calls: number[]; files?: number[];
}
export interface ElidedEvent { e: "elided"; id: number; act: number; line: number; target: string; count: number }
export interface AliasEvent { e: "alias"; id: number; to: number }
export interface UnknownEvent { e: "unknown"; act: number; line: number; reason: string }

export type TraceEvent =
  | HeaderEvent | DeploymentEvent | CodeEvent | CallEvent | ReturnEvent | RaiseEvent
  | YieldEvent | ResumeEvent | OpenEvent | CloseEvent | ModuleEvent | OutputEvent
  | WarningEvent | EndEvent | ValueEvent | ReturnedEvent | ElidedEvent | AliasEvent | UnknownEvent
  | CallsElidedEvent | IncompleteEvent;

/** Path of a blob in the content store, relative to `.now/`. */
export function contentPath(hash: Hash): string {
  return `content/${hash.slice(0, 2)}/${hash.slice(2)}`;
}
