// A FileIndex as text, one line per definition, call, global and import: for tests (the
// expected files beside the fixtures) and for reading an index by eye. Spans are printed
// 0-based, as stored: `line:column-line:column`.
import type { DefinitionChange, FileIndex, Param, Span } from "./types";

export function formatSpan(s: Span): string {
  return `${s.startLine}:${s.startColumn}-${s.endLine}:${s.endColumn}`;
}

export function formatParam(p: Param): string {
  if (p.kind === "separator") return p.name;
  const star = p.kind === "var-positional" ? "*" : p.kind === "var-keyword" ? "**" : "";
  const ann = p.annotation !== null ? `: ${p.annotation}` : "";
  const def = p.default === null ? "" : p.annotation !== null ? ` = ${p.default}` : `=${p.default}`;
  return `${star}${p.name}${ann}${def}`;
}

const where = (q: string | null) => q ?? "<module>";

export function formatIndex(index: FileIndex, options: { hash?: boolean } = {}): string {
  const lines: string[] = [];
  if (options.hash !== false) lines.push(`hash ${index.hash}`);
  if (index.skipped) lines.push(`skipped ${index.skipped}`);
  lines.push(`errors ${index.errors}`);
  for (const d of index.definitions) {
    const flags = [d.async ? "async" : "", d.method ? "method" : ""].filter(Boolean).join(" ");
    const head = d.kind === "class"
      ? `class ${d.qualname}${d.bases.length ? `(${d.bases.join(", ")})` : ""}`
      : `def ${d.qualname}(${d.params.map(formatParam).join(", ")})${d.returns !== null ? ` -> ${d.returns}` : ""}`;
    const decos = d.decorators.map((x) => ` @${x}`).join("");
    lines.push(`${head} ${formatSpan(d.span)}${flags ? ` ${flags}` : ""} in ${where(d.parent)}${decos}`);
  }
  for (const c of index.calls) lines.push(`call ${c.callee} ${formatSpan(c.span)} in ${where(c.in)}`);
  for (const g of index.globals) lines.push(`global ${g.name} ${formatSpan(g.span)} in ${where(g.in)}`);
  for (const i of index.imports) {
    const names = i.names.map((n) => (n.asname !== null ? `${n.name} as ${n.asname}` : n.name)).join(", ");
    const stmt = i.kind === "import" ? `import ${names}` : `from ${i.module} import ${names}`;
    lines.push(`${stmt} ${formatSpan(i.span)} in ${where(i.in)}`);
  }
  return lines.join("\n") + "\n";
}

export function formatChanges(changes: readonly DefinitionChange[]): string {
  return changes
    .map((c) => `${c.change} ${c.qualname}${c.before ? ` was ${formatSpan(c.before)}` : ""}${c.after ? ` now ${formatSpan(c.after)}` : ""}`)
    .join("\n") + "\n";
}
