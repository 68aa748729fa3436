import fs from "fs";
import { EVENT_FORMAT, EVENT_VERSION, type TraceEvent } from "../../../protocol/events";

export interface Chunk {
  events: TraceEvent[];
  /** Lines that could not be used, as one-line messages; never fatal. */
  problems: string[];
  /** Offset just after the last complete line read. */
  offset: number;
}

const MAX_CHUNK = 8 * 1024 * 1024;

/**
 * Reads the complete lines of an event log from `offset` on. Text after the last newline
 * is left for the next call: the tracer may be in the middle of writing it.
 */
export function readEvents(file: string, offset: number): Chunk {
  const events: TraceEvent[] = [];
  const problems: string[] = [];
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return { events, problems, offset };
  }
  try {
    for (;;) {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) break;
      const buf = Buffer.alloc(Math.min(size - offset, MAX_CHUNK));
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      const end = buf.lastIndexOf(0x0a, n - 1);
      if (end < 0) {
        if (n === MAX_CHUNK) {
          problems.push(`event log line longer than ${MAX_CHUNK} bytes at offset ${offset} skipped`);
          offset += n;
          continue;
        }
        break;
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
      offset += end + 1;
      if (n < MAX_CHUNK) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { events, problems, offset };
}

function checkHeader(e: { format?: unknown; version?: unknown }): void {
  if (e.format !== EVENT_FORMAT) throw new Error(`not a nowls event log (format ${String(e.format)})`);
  if (typeof e.version !== "number" || e.version > EVENT_VERSION) {
    throw new Error(`event log version ${String(e.version)} is newer than this nowls reads (${EVENT_VERSION})`);
  }
}
