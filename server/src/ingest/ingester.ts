import type { TraceEvent } from "../../../protocol/events";
import type { DB } from "../store/database";
import { TrialWriter } from "../store/writer";
import { readEvents } from "./logReader";

/**
 * Moves one trial's event log into the store, a batch at a time, from where the store
 * says it stopped. Safe to call while the tracer is still writing.
 */
export class Ingester {
  private readonly writer: TrialWriter;

  constructor(
    db: DB, trialId: number, root: string, private readonly logFile: string, private offset: number,
    /** Sees each batch after it is stored (progress reports). */
    private readonly onEvents?: (events: TraceEvent[]) => void,
  ) {
    this.writer = new TrialWriter(db, trialId, root);
  }

  /** Ingests what has been written since the last call; returns the number of events. */
  poll(): number {
    const chunk = readEvents(this.logFile, this.offset);
    if (chunk.offset === this.offset && chunk.problems.length === 0) return 0;
    this.writer.apply(chunk.events, chunk.problems, chunk.offset);
    this.offset = chunk.offset;
    this.onEvents?.(chunk.events);
    return chunk.events.length;
  }

  get trialWriter(): TrialWriter {
    return this.writer;
  }
}
