import type { TraceEvent } from "../../../protocol/events";
import type { DB } from "../store/database";
import { TrialWriter } from "../store/writer";
import { MAX_CHUNK, readEvents } from "./logReader";

/**
 * Moves one trial's event log into the store, one bounded batch at a time, from where the
 * store says it stopped (read under the write lock, so several ingesters of one trial
 * never apply a line twice). Safe to call while the tracer is still writing.
 */
export class Ingester {
  private readonly writer: TrialWriter;

  constructor(
    db: DB, trialId: number, root: string, private readonly logFile: string,
    /** Sees each batch after it is stored (progress reports). */
    private readonly onEvents?: (events: TraceEvent[]) => void,
    /** The most one batch reads from the log: what bounds ingestion's memory. */
    private readonly batchBytes = MAX_CHUNK,
  ) {
    this.writer = new TrialWriter(db, trialId, root);
  }

  /** Ingests the next batch written since the last one stored; returns its number of events. */
  poll(): number {
    const batch = this.writer.ingest((offset) => readEvents(this.logFile, offset, this.batchBytes));
    if (batch.offset === batch.from) return 0;
    this.onEvents?.(batch.events);
    // A batch of only skipped lines still counts as progress: the caller goes on.
    return Math.max(batch.events.length, 1);
  }

  /** Ingests batches until the log has nothing more, or `budgetMs` has passed. */
  drain(budgetMs = Infinity): number {
    const until = Date.now() + budgetMs;
    let n = 0;
    for (let got = this.poll(); got > 0; got = Date.now() < until ? this.poll() : 0) n += got;
    return n;
  }

  get trialWriter(): TrialWriter {
    return this.writer;
  }
}
