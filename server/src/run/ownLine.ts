import fs from "fs";
import tty from "tty";

/** O_APPEND in /proc/self/fdinfo's octal flags (Linux, all architectures Node runs on). */
const O_APPEND = 0o2000;

/**
 * Writes nowls' own line (`now: trial …`) to stderr after the script's output, at the start
 * of a line of its own. The script may have left its last line unterminated (on stderr, or
 * on stdout when both are the same terminal or file), and the tracer no longer sees its
 * output, so the decision is made here, from what stderr is:
 *
 * - a regular file: its byte before the write position is read back (a newline is added
 *   only when that byte is not one), through /proc/self/fd/2 since fd 2 itself may be
 *   write-only;
 * - a terminal: zsh's PROMPT_SP. An inverse `%` and COLUMNS−1 spaces, then `\r` and
 *   erase-to-end-of-line: from column 0 these fill exactly one row (the cursor waits at its
 *   end without wrapping) and are erased, leaving no trace; from any other column they
 *   wrap, so the unterminated text stays followed by the `%` and the line starts on the
 *   next row. Not on TERM=dumb, which has neither inverse nor erase;
 * - a pipe or socket (and anything else): what went through cannot be read back, so
 *   nothing is added: a script that ended its output cleanly (nearly all) gets no blank
 *   line, one that left stderr unterminated gets nowls' line glued to it (a documented
 *   limitation: docs/ARCHITECTURE.md, test/cli.test.ts).
 */
export function writeOwnLine(line: string): void {
  process.stderr.write(lineStart() + line + "\n");
}

/** What must precede a line written to stderr so that it starts a line: "", "\n" or the PROMPT_SP sequence. */
function lineStart(): string {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(2);
  } catch {
    return "";
  }
  if (st.isFile()) {
    const last = lastByteBefore(2, st.size);
    return last === null || last === 0x0a ? "" : "\n";
  }
  if (tty.isatty(2)) {
    if (process.env.TERM === "dumb") return "";
    const columns = (process.stderr as tty.WriteStream).columns || 80;
    return `\x1b[7m%\x1b[27m${" ".repeat(Math.max(columns - 1, 0))}\r\x1b[K`;
  }
  return "";
}

/**
 * The byte just before where the next write to `fd` lands (its offset, or the end when it
 * appends), or null when there is none (an empty file, a write at offset 0) or it cannot
 * be read.
 */
function lastByteBefore(fd: number, size: number): number | null {
  let pos = size;
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const p = /^pos:\s*(\d+)/m.exec(info);
    const f = /^flags:\s*([0-7]+)/m.exec(info);
    if (p && f && (parseInt(f[1], 8) & O_APPEND) === 0) pos = Number(p[1]);
  } catch {
    // No /proc (not Linux): appending is the usual case (`>>`, `> log` at its end).
  }
  if (pos <= 0) return null;
  const buf = Buffer.alloc(1);
  const read = (from: number) => fs.readSync(from, buf, 0, 1, pos - 1) === 1 ? buf[0] : null;
  try {
    const r = fs.openSync(`/proc/self/fd/${fd}`, "r");
    try {
      return read(r);
    } finally {
      fs.closeSync(r);
    }
  } catch {
    try {
      return read(fd); // opened read-write (`2<>file`), or no /proc
    } catch {
      return null;
    }
  }
}
