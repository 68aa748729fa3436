// Custom LSP methods of `now lsp` (beyond the standard ones). The server announces them
// under `capabilities.experimental.now`; a client mirrors this file.
import type { TrialSummary } from "./daemon";

export type { TrialSummary };

export const LspMethods = {
  /** Request, no params → `TrialSummary[]`, oldest first. */
  trials: "now/trials",
  /** Request `TrialParams` → `TrialDetails` (the last trial when `trial` is absent); an error for an unknown trial. */
  trial: "now/trial",
  /** Request `SelectTrialParams` → `TrialSummary`: the trial whose data a document shows (hover, diagnostics). */
  selectTrial: "now/selectTrial",
  /** Request `GraphParams` → a dot or Mermaid string, or `GraphData` for json. */
  graph: "now/graph",
  /** Request `DiffParams` → `DiffResult`: what differs between two trials. */
  diff: "now/diff",
  /** Request `RunParams` → `{trial: TrialSummary, exitCode}` when the trial ends; `$/progress` with a workDoneToken. */
  run: "now/run",
  /** Notification server → client `TrialFinishedParams`: a trial of the project ended. */
  trialFinished: "now/trialFinished",
} as const;

/**
 * The command of the "Run trial of F …" code actions: arguments `[uri, args?, fine?]` — the
 * script's document, its command-line arguments (none when absent) and whether to record
 * values (`--fine`). The code actions give the last trial's arguments of that script, one
 * action without values and one with. Answers `{trial: TrialSummary, exitCode}` when the
 * trial ends, as `now/run` does.
 */
export const RUN_TRIAL_COMMAND = "now.runTrial";

export interface TrialParams {
  /** A trial number, tag or UUID. */
  trial?: number | string;
}

export interface TrialDetails {
  trial: TrialSummary & { granularity: string; exception: string | null; finished_at: number | null };
  deployment: Record<string, string | null> | null;
  summary: { activations: number; functions: number; values: number; elided: number; fileAccesses: number; modules: number };
}

export interface SelectTrialParams {
  uri: string;
  /** A trial number, tag or UUID; null goes back to the default (the latest trial of the document). */
  trial: number | string | null;
}

export interface TrialFinishedParams { trial: TrialSummary }

/** What `capabilities.experimental.now` holds. */
export interface NowExperimentalCapabilities {
  requests: string[];
  notifications: string[];
}

/** The command of the "Show diff with trial N" code action: arguments `[uri, trial]`; returns the diff as text. */
export const DIFF_TRIAL_COMMAND = "now.diffTrial";

export interface GraphParams {
  /** A trial number, tag or UUID (default: the last); ignored by kind history. */
  trial?: number | string;
  kind: "activation" | "dataflow" | "history" | "definitions";
  format?: "json" | "dot" | "mermaid";
  /** activation: an activation (a12) whose subtree to show; dataflow: a node key (v12, a3, f1) to slice back from. */
  focus?: string;
  /** activation: deepest level shown; dataflow with focus: how far back. */
  depth?: number;
}

export interface GraphData {
  kind: string;
  trial: number | null;
  nodes: { key: string; kind: string; label: string; [more: string]: unknown }[];
  edges: { from: string; to: string }[];
}

export interface DiffParams { a: number | string; b: number | string; fine?: boolean }

/** The difference as `now diff` prints it (`text`), and as data. */
export interface DiffResult { text: string; data: unknown }

export interface RunParams { uri: string; args?: string[]; fine?: boolean }
