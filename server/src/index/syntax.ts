// Pure helpers over text and trees, with no Python knowledge: line/column arithmetic and a
// plain JavaScript copy of a syntax subtree.
//
// Why a copy: every property of a tree-sitter node read through the Node binding is a call
// into native code (~0.2 µs each). Reading a subtree once with a cursor, asking each node
// only for its type, range and (where it matters) field name, and then analysing plain
// objects is several times faster than walking SyntaxNode objects, and keeps the analysis
// testable without a parser.
import type { Span } from "./types";
import type { TreeCursor } from "./parser";

export interface Position {
  line: number;
  character: number;
}

/**
 * Line starts of a text ("\n"-separated, as tree-sitter counts rows), kept up to date by
 * edits so that converting positions never rescans the whole text.
 */
export class LineIndex {
  private constructor(private starts: number[]) {}

  static of(text: string): LineIndex {
    const starts = [0];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    return new LineIndex(starts);
  }

  get lineCount(): number {
    return this.starts.length;
  }

  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line, this.starts.length - 1))];
  }

  /** Line and UTF-16 column of an offset. */
  position(offset: number): Position {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - starts[lo] };
  }

  /**
   * Offset of an LSP position in `text` (the text this index describes). As LSP asks, a
   * line past the end means the end of the text and a character past the end of its line
   * means the end of the line (before "\r\n" or "\n").
   */
  offset(text: string, pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return text.length;
    const start = this.starts[pos.line];
    let end = pos.line + 1 < this.starts.length ? this.starts[pos.line + 1] - 1 : text.length;
    if (end > start && pos.line + 1 < this.starts.length && text.charCodeAt(end - 1) === 13) end--;
    return start + Math.max(0, Math.min(pos.character, end - start));
  }

  /** Updates the index for `text.slice(start, end)` replaced by `inserted`. */
  applyEdit(start: number, end: number, inserted: string): void {
    const starts = this.starts;
    const delta = inserted.length - (end - start);
    // Line starts strictly inside (start, end] disappear: their "\n" was removed.
    let first = upperBound(starts, start); // first line start > start
    let last = upperBound(starts, end); // first line start > end
    const added: number[] = [];
    for (let i = inserted.indexOf("\n"); i !== -1; i = inserted.indexOf("\n", i + 1)) added.push(start + i + 1);
    for (let i = last; i < starts.length; i++) starts[i] += delta;
    starts.splice(first, last - first, ...added);
  }
}

function upperBound(xs: number[], value: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a text ends when it is inserted at `start`, as tree-sitter points count (rows by "\n"). */
export function endPosition(start: Position, inserted: string): Position {
  const last = inserted.lastIndexOf("\n");
  if (last === -1) return { line: start.line, character: start.character + inserted.length };
  let lines = 0;
  for (let i = inserted.indexOf("\n"); i !== -1; i = inserted.indexOf("\n", i + 1)) lines++;
  return { line: start.line + lines, character: inserted.length - last - 1 };
}

export function spanOf(lines: LineIndex, start: number, end: number): Span {
  const s = lines.position(start);
  const e = lines.position(end);
  return { startLine: s.line, startColumn: s.character, endLine: e.line, endColumn: e.character };
}

/**
 * A syntax node copied out of tree-sitter. Anonymous tokens ("def", "(", "*") keep their
 * text as type and are not given offsets (start and end are -1): their type is their text.
 */
export interface PlainNode {
  type: string;
  named: boolean;
  /** Field name in the parent, read only below the parents listed in FIELD_PARENTS. */
  field: string | null;
  /** UTF-16 offsets into the text (-1 for anonymous tokens). */
  start: number;
  end: number;
  missing: boolean;
  parent: PlainNode | null;
  children: PlainNode[];
}

/** Node types whose children's field names the analysis uses. */
const FIELD_PARENTS = new Set([
  "function_definition", "class_definition", "decorated_definition", "call", "lambda",
  "default_parameter", "typed_default_parameter", "typed_parameter",
  "assignment", "augmented_assignment", "for_statement", "named_expression", "as_pattern",
  "import_statement", "import_from_statement", "future_import_statement", "aliased_import",
  "with_item",
]);

/** Named node types that never have children (from the grammar's node-types). */
const LEAF_TYPES = new Set([
  "comment", "ellipsis", "escape_interpolation", "escape_sequence", "false", "float", "identifier", "integer",
  "line_continuation", "none", "string_end", "string_start", "true", "type_conversion",
]);

/**
 * What a node type id stands for, learnt the first time the id is met (ids are per
 * grammar, and this module reads one grammar). A number crosses from native code more
 * cheaply than a string.
 */
interface TypeInfo {
  name: string;
  named: boolean;
  leaf: boolean;
  fields: boolean;
}
const typeInfos: Array<TypeInfo | undefined> = [];
const fieldNames: Array<string | undefined> = [];

function typeInfo(cursor: TreeCursor): TypeInfo {
  const id = cursor.nodeTypeId;
  let info = typeInfos[id];
  if (info === undefined) {
    const name = cursor.nodeType;
    const named = cursor.nodeIsNamed;
    info = { name, named, leaf: !named || LEAF_TYPES.has(name), fields: FIELD_PARENTS.has(name) };
    typeInfos[id] = info;
  }
  return info;
}

function fieldName(cursor: TreeCursor): string | null {
  const id = cursor.currentFieldId;
  if (!id) return null;
  let name = fieldNames[id];
  if (name === undefined) {
    name = cursor.currentFieldName;
    fieldNames[id] = name;
  }
  return name;
}

/**
 * Copies the subtree at the cursor (iteratively: nesting depth is unbounded in broken or
 * generated code). The cursor ends where it started. Every native call counts here (this
 * is most of the cost of indexing): anonymous tokens get their type and MISSING flag
 * only, and leaves are not asked for children.
 */
export function readSubtree(cursor: TreeCursor): PlainNode {
  const rootInfo = typeInfo(cursor);
  const root: PlainNode = {
    type: rootInfo.name, named: rootInfo.named, field: null, start: cursor.startIndex, end: cursor.endIndex,
    missing: false, parent: null, children: [],
  };
  root.missing = root.start === root.end && cursor.nodeIsMissing;
  if (rootInfo.leaf || !cursor.gotoFirstChild()) return root;
  const stack: PlainNode[] = [root];
  const fieldsOf: boolean[] = [rootInfo.fields];
  for (;;) {
    const parent = stack[stack.length - 1];
    const info = typeInfo(cursor);
    const field = fieldsOf[fieldsOf.length - 1] ? fieldName(cursor) : null;
    let node: PlainNode;
    if (info.named) {
      const start = cursor.startIndex;
      const end = cursor.endIndex;
      node = {
        type: info.name, named: true, field, start, end,
        // Only a zero-width node can be one that the parser inserted.
        missing: start === end && cursor.nodeIsMissing,
        parent, children: [],
      };
    } else {
      node = { type: info.name, named: false, field, start: -1, end: -1, missing: cursor.nodeIsMissing, parent, children: [] };
    }
    parent.children.push(node);
    if (!info.leaf && cursor.gotoFirstChild()) {
      stack.push(node);
      fieldsOf.push(info.fields);
      continue;
    }
    while (!cursor.gotoNextSibling()) {
      cursor.gotoParent();
      stack.pop();
      fieldsOf.pop();
      if (stack.length === 0) return root;
    }
  }
}

export function childByField(node: PlainNode, field: string): PlainNode | null {
  for (const c of node.children) if (c.field === field) return c;
  return null;
}

export function childrenByField(node: PlainNode, field: string): PlainNode[] {
  return node.children.filter((c) => c.field === field);
}

export function childOfType(node: PlainNode, type: string): PlainNode | null {
  for (const c of node.children) if (c.type === type) return c;
  return null;
}

export function textOf(text: string, node: PlainNode): string {
  return node.named ? text.slice(node.start, node.end) : node.type;
}

/** Source text with every run of whitespace made one space: for display. */
export function collapsedText(text: string, node: PlainNode): string {
  return textOf(text, node).replace(/\s+/g, " ").trim();
}

const SKIPPED_IN_TOKENS = new Set(["comment", "line_continuation"]);

/**
 * The tokens of a subtree joined by single spaces: the same for any layout, line breaks
 * and comments, while string literals are kept exactly. For hashing signatures.
 */
export function tokenText(text: string, node: PlainNode): string {
  const out: string[] = [];
  const stack: PlainNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (SKIPPED_IN_TOKENS.has(n.type)) continue;
    if (!n.named) {
      out.push(n.type);
      continue;
    }
    if (n.children.length === 0 || n.type === "string") {
      out.push(text.slice(n.start, n.end));
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out.join(" ");
}
