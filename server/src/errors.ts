/**
 * An error the user caused or can fix (bad argument, missing file, newer store). The CLI
 * prints its message as one line and exits non-zero; anything else is a bug and keeps its
 * stack trace.
 */
export class NowError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = "NowError";
  }
}
