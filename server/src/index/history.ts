// The history of definitions between two versions of a file: which were added, removed, or
// changed in signature, body or only in place. Pure.
import type { Definition, DefinitionChange, FileIndex, Span } from "./types";

/**
 * Compares two indexes of one file. Definitions are matched by qualname; when a qualname
 * occurs more than once (a property's getter and setter, a function defined in both
 * branches of an `if`) the n-th occurrence before is matched with the n-th after.
 *
 * A change is "signature" when the signature hash differs (whatever the body did), else
 * "body" when the body hash differs, else "moved" when only the span differs; unchanged
 * definitions are left out. Changes come in the order of `after`, then the removed ones in
 * the order of `before`. With no `before` every definition is added; when either side was
 * skipped (binary, too large) nothing is known and the result is empty.
 */
export function diffDefinitions(before: FileIndex | null, after: FileIndex): DefinitionChange[] {
  if (after.skipped || before?.skipped) return [];
  const remaining = new Map<string, Definition[]>();
  for (const d of before?.definitions ?? []) {
    const list = remaining.get(d.qualname);
    if (list) list.push(d);
    else remaining.set(d.qualname, [d]);
  }
  const changes: DefinitionChange[] = [];
  for (const d of after.definitions) {
    const old = remaining.get(d.qualname)?.shift();
    if (!old) {
      changes.push({ qualname: d.qualname, change: "added", before: null, after: d.span });
      continue;
    }
    const change: DefinitionChange["change"] | null =
      old.signatureHash !== d.signatureHash ? "signature"
        : old.bodyHash !== d.bodyHash ? "body"
          : !sameSpan(old.span, d.span) ? "moved"
            : null;
    if (change) changes.push({ qualname: d.qualname, change, before: old.span, after: d.span });
  }
  for (const d of before?.definitions ?? []) {
    const list = remaining.get(d.qualname);
    if (list && list[0] === d) {
      list.shift();
      changes.push({ qualname: d.qualname, change: "removed", before: d.span, after: null });
    }
  }
  return changes;
}

function sameSpan(a: Span, b: Span): boolean {
  return a.startLine === b.startLine && a.startColumn === b.startColumn && a.endLine === b.endLine && a.endColumn === b.endColumn;
}
