// Maps line numbers between the text a trial ran and the editor's buffer (0-based both
// sides), by a line diff. A line the diff keeps is current; a line replaced in place
// (a removed run followed by an added run) is paired with its old version by position
// and marked stale; a line only added has no old version.
import { diffArrays } from "diff";

export interface Mapped { line: number; stale: boolean }

export class LineMap {
  private readonly toOld: (Mapped | null)[] = [];
  private readonly toNew: (Mapped | null)[] = [];

  constructor(readonly oldText: string, newText: string) {
    const oldLines = splitLines(oldText);
    const newLines = splitLines(newText);
    let o = 0;
    let n = 0;
    const parts = diffArrays(oldLines, newLines);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const count = p.value.length;
      if (!p.added && !p.removed) {
        for (let k = 0; k < count; k++) this.pair(o++, n++, false);
      } else if (p.removed) {
        const next = parts[i + 1];
        const added = next?.added ? next.value.length : 0;
        for (let k = 0; k < count; k++) {
          if (k < added) this.pair(o + k, n + k, true);
          else this.toNew[o + k] = null;
        }
        for (let k = count; k < added; k++) this.toOld[n + k] = null;
        o += count;
        n += added;
        if (added) i++;
      } else {
        for (let k = 0; k < count; k++) this.toOld[n++] = null;
      }
    }
  }

  private pair(o: number, n: number, stale: boolean): void {
    this.toOld[n] = { line: o, stale };
    this.toNew[o] = { line: n, stale };
  }

  /** The trial's line for a buffer line; null for a line added since. */
  oldLine(newLine: number): Mapped | null {
    return this.toOld[newLine] ?? null;
  }

  /** The buffer's line for a trial line; null for a line deleted since. */
  newLine(oldLine: number): Mapped | null {
    return this.toNew[oldLine] ?? null;
  }

  oldLineText(oldLine: number): string {
    return splitLines(this.oldText)[oldLine] ?? "";
  }
}

export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
