// A script's command-line arguments as one editable line, the way a POSIX shell writes and
// reads them, so that an argument with spaces or quotes survives the round trip through an
// input box: quoteArgs(["a b", "c"]) is "'a b' c", and splitArgs gives the list back.

/** The arguments as a shell command line would hold them (the server's titles quote alike). */
export function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * Splits a line into arguments as a shell would, without expanding anything: blanks
 * separate, '…' is literal, "…" and a bare backslash escape the next character (inside
 * double quotes only $ ` " \ and a newline). A quote left open runs to the end of the line.
 */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") {
      inWord = true;
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (ch === '"') {
      inWord = true;
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1])) i++;
        cur += line[i];
      }
    } else if (ch === "\\") {
      inWord = true;
      if (i + 1 < line.length) cur += line[++i];
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      inWord = true;
      cur += ch;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
