// The custom requests' answers: trials as summaries and one trial in detail.
import type { TrialDetails, TrialSummary } from "../../../protocol/lsp";
import { resolveTrial } from "../commands/common";
import type { DB } from "../store/database";
import { countActivations, countRows, countValues, getDeployment, listTrials, type TrialRow } from "../store/queries";

export function summary(t: TrialRow): TrialSummary {
  return {
    id: t.id, uuid: t.uuid, script: t.script, argv: t.argv, status: t.status,
    exit_code: t.exit_code, started_at: t.started_at, duration: t.duration,
  };
}

export function trialList(db: DB | null): TrialSummary[] {
  return db ? listTrials(db).map(summary) : [];
}

/** One trial with its deployment and counts; throws (NowError) on an unknown trial. */
export function trialDetails(db: DB, ref: number | string | undefined): TrialDetails {
  const t = resolveTrial(db, ref === undefined ? undefined : String(ref));
  const acts = countActivations(db, t.id);
  const vals = countValues(db, t.id);
  return {
    trial: {
      ...summary(t), granularity: t.granularity, finished_at: t.finished_at,
      exception: t.exception_type ? `${t.exception_type}: ${t.exception_message ?? ""}` : null,
    },
    deployment: getDeployment(db, t.id) as unknown as Record<string, string | null> | null,
    summary: {
      activations: acts.activations, functions: acts.functions, values: vals.values, elided: vals.elided,
      fileAccesses: countRows(db, "file_access", t.id), modules: countRows(db, "module", t.id),
    },
  };
}
