import fs from "fs";
import { EVENT_FORMAT, EVENT_VERSION, type TraceEvent } from "../../../protocol/events";

export interface Chunk {
  events: TraceEvent[];
  /** Lines that could not be used, as one-line messages; never fatal. */
  problems: string[];
  /** Offset just after the last complete line read. */
  offset: number;
}

/** The most a batch reads: ingestion's memory is bounded by this, whatever the log's size. */
export const MAX_CHUNK = 1024 * 1024;

/**
 * Reads the complete lines of an event log from `offset` on, at most `maxBytes` of them
 * (one batch). Text after the last newline is left for the next call: the tracer may be
 * in the middle of writing it.
 */
export function readEvents(file: string, offset: number, maxBytes = MAX_CHUNK): Chunk {
  const events: TraceEvent[] = [];
  const problems: string[] = [];
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return { events, problems, offset };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return { events, problems, offset };
    const buf = Buffer.alloc(Math.min(size - offset, maxBytes));
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const end = buf.lastIndexOf(0x0a, n - 1);
    if (end < 0) {
      // A line longer than a whole batch cannot be a real event: skip it, so one bad line
      // cannot stop ingestion (the tracer bounds every value it writes).
      if (n === maxBytes) problems.push(`event log line longer than ${maxBytes} bytes at offset ${offset} skipped`);
      return { events, problems, offset: n === maxBytes ? offset + n : offset };
    }
    for (const line of buf.subarray(0, end).toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line);
        if (e === null || typeof e !== "object" || typeof e.e !== "string") throw new Error("not an event");
        if (e.e === "header") checkHeader(e);
        events.push(e as TraceEvent);
      } catch (err) {
        problems.push(`event log: unreadable line skipped (${(err as Error).message}): ${line.slice(0, 80)}`);
      }
    }
    return { events, problems, offset: offset + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

/** How many bytes of the log are complete lines (what the store must hold for it to go). */
export function completeLength(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    for (let pos = size; pos > 0; ) {
      const start = Math.max(0, pos - tail.length);
      const n = fs.readSync(fd, tail, 0, pos - start, start);
      const nl = tail.lastIndexOf(0x0a, n - 1);
      if (nl >= 0) return start + nl + 1;
      pos = start;
    }
    return 0;
  } finally {
    fs.closeSync(fd);
  }
}

function checkHeader(e: { format?: unknown; version?: unknown }): void {
  if (e.format !== EVENT_FORMAT) throw new Error(`not a nowls event log (format ${String(e.format)})`);
  if (typeof e.version !== "number" || e.version > EVENT_VERSION) {
    throw new Error(`event log version ${String(e.version)} is newer than this nowls reads (${EVENT_VERSION})`);
  }
}
