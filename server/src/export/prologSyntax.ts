/**
 * Writing Prolog terms that any ISO reader (SWI-Prolog in particular) reads back exactly.
 */

const BARE_ATOM = /^[a-z][a-zA-Z0-9_]*$/;
/** Alphanumeric atoms that are operators in SWI-Prolog: written quoted so they read as plain atoms. */
const OPERATOR_WORDS = new Set([
  "is", "mod", "rem", "xor", "div", "rdiv", "as", "dynamic", "discontiguous", "initialization", "meta_predicate",
  "module_transparent", "multifile", "public", "thread_local", "thread_initialization", "volatile", "table",
]);

/**
 * A quoted atom: `'…'` with `\\` and `\'` escaped, line breaks and tabs as `\n` `\r` `\t`,
 * other control characters as `\xHH\`. Text that is not valid UTF-16 (a lone surrogate)
 * becomes U+FFFD, since it cannot be written as UTF-8.
 */
export function quoteAtom(text: string): string {
  let out = "'";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16)}\\`;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\uFFFD";
    else out += ch;
  }
  return out + "'";
}

/** An atom, bare when that reads back as the same atom, quoted otherwise. */
export function atom(text: string): string {
  return BARE_ATOM.test(text) && !OPERATOR_WORDS.has(text) ? text : quoteAtom(text);
}

/** `nil` for a missing value, else the atom. */
export function atomOrNil(text: string | null | undefined): string {
  return text === null || text === undefined ? "nil" : atom(text);
}

export function integer(n: number | null | undefined): string {
  if (n === null || n === undefined) return "nil";
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/**
 * A float in Prolog syntax: always with a fraction (`3.0`, not `3`) and with `1.0e-7`
 * instead of JavaScript's `1e-7`, which Prolog would not read as a number.
 */
export function float(n: number | null | undefined): string {
  if (n === null || n === undefined) return "nil";
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  const s = String(n);
  const [mantissa, exponent] = s.split("e");
  const m = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return exponent === undefined ? m : `${m}e${exponent.replace(/^\+/, "")}`;
}

export function bool(b: boolean): string {
  return b ? "true" : "false";
}

export function list(items: string[]): string {
  return `[${items.join(", ")}]`;
}

/** `name(arg, …).` */
export function fact(name: string, args: string[]): string {
  return `${name}(${args.join(", ")}).`;
}
