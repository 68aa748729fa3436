// What the cursor is on, read from the buffer's text alone (no parse: a broken file
// still answers).

export interface Word {
  name: string;
  start: number;
  end: number;
  /** `def name` (or `async def`): the cursor is on a function's definition. */
  definition: boolean;
  /** `name(`: a call. */
  call: boolean;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;

export function wordAt(lineText: string, character: number): Word | null {
  for (const m of lineText.matchAll(IDENT)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (character < start || character > end) continue;
    if (/^\d/.test(m[0])) return null;
    const before = lineText.slice(0, start);
    const after = lineText.slice(end);
    if (/#/.test(before.replace(/(["'])(?:\\.|(?!\1).)*\1/g, ""))) return null; // in a comment
    return {
      name: m[0], start, end,
      definition: /^\s*(async\s+)?def\s+$/.test(before),
      call: /^\s*\(/.test(after) && !/\bdef\s+$/.test(before),
    };
  }
  return null;
}

/** The string literal the cursor is in (plain or f-string quotes), with its content. */
export function stringAt(lineText: string, character: number): { text: string; start: number; end: number } | null {
  for (const m of lineText.matchAll(/[rbfu]{0,2}(["'])((?:\\.|(?!\1).)*)\1/gi)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (character > start && character < end) return { text: m[2], start, end };
  }
  return null;
}
