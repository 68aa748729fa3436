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
  /** Notification server → client `TrialFinishedParams`: a trial of the project ended. */
  trialFinished: "now/trialFinished",
} as const;

/** The command of the "Run trial" code action: arguments `[uri]`. */
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
