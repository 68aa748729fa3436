// What a Python syntax tree defines: functions and classes (qualified names as CPython
// builds __qualname__), calls, module-level assignments and imports. Pure: a tree and its
// text in, plain data out; nothing here reads files or knows LSP, SQL or the daemon.
//
// The work is split by top-level statement ("segment"): each is analysed on its own, since
// nothing a module-level statement contributes depends on its neighbours. indexTree() runs
// every segment; AnalysedDocument keeps the segments of its last index and re-analyses only
// those an edit touched, shifting the positions of the others.
import { createHash } from "crypto";
import type { Tree, TreeCursor } from "./parser";
import {
  childByField, childOfType, collapsedText, LineIndex, readSubtree, spanOf, textOf, tokenText,
  type PlainNode, type Position,
} from "./syntax";
import type { CallSite, Definition, FileIndex, GlobalVar, ImportRow, ImportedName, Param, Span } from "./types";

/** The index of one top-level statement (or of a whole tree whose root is not a module). */
export interface Segment {
  /** UTF-16 offsets of the statement in the text the results were computed from. */
  start: number;
  end: number;
  /** Position of `start` when the results were computed: their spans are relative to it. */
  origin: Position;
  definitions: Definition[];
  calls: CallSite[];
  globals: GlobalVar[];
  imports: ImportRow[];
  errors: number;
}

/** Indexes a whole tree (parsed from `text`). */
export function indexTree(tree: Tree, text: string): FileIndex {
  const lines = LineIndex.of(text);
  return assembleIndex(hashText(text), readAllSegments(tree, text, lines));
}

export function hashText(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export function assembleIndex(hash: string, segments: Segment[]): FileIndex {
  let nd = 0, nc = 0, ng = 0, ni = 0, errors = 0;
  for (const s of segments) {
    nd += s.definitions.length;
    nc += s.calls.length;
    ng += s.globals.length;
    ni += s.imports.length;
    errors += s.errors;
  }
  const definitions = new Array<Definition>(nd);
  const calls = new Array<CallSite>(nc);
  const globals = new Array<GlobalVar>(ng);
  const imports = new Array<ImportRow>(ni);
  nd = nc = ng = ni = 0;
  for (const s of segments) {
    for (const d of s.definitions) definitions[nd++] = d;
    for (const c of s.calls) calls[nc++] = c;
    for (const g of s.globals) globals[ng++] = g;
    for (const i of s.imports) imports[ni++] = i;
  }
  return { hash, definitions, calls, globals, imports, errors };
}

/** Every top-level statement of the tree, in order. */
export function readAllSegments(tree: Tree, text: string, lines: LineIndex): Segment[] {
  const cursor = tree.walk();
  if (cursor.nodeType !== "module") {
    // Error recovery can make the root itself an ERROR node: index it as one piece.
    return [analyseSegment(readSubtree(cursor), text, lines)];
  }
  const out: Segment[] = [];
  if (!cursor.gotoFirstChild()) return out;
  do out.push(analyseSegment(readSubtree(cursor), text, lines));
  while (cursor.gotoNextSibling());
  return out;
}

/**
 * The top-level statements that touch one of the ranges (UTF-16 offsets; touching an end
 * counts), in order and without duplicates. The ranges must be sorted and disjoint; the root
 * must be a module.
 */
export function readSegmentsIn(tree: Tree, text: string, lines: LineIndex, ranges: Array<[number, number]>): Segment[] {
  const out: Segment[] = [];
  for (const [from, to] of ranges) {
    const cursor: TreeCursor = tree.walk();
    // The first child that ends at or after `from`. The binding returns the child's number
    // (0 is a hit) or null, not the boolean its typings promise.
    const hit = cursor.gotoFirstChildForIndex(Math.max(0, from - 1)) as unknown;
    if (hit === null || hit === undefined || hit === false) continue;
    do {
      const start = cursor.startIndex;
      if (start > to) break;
      const end = cursor.endIndex;
      if (end < from) continue;
      // A statement that spans two ranges was read with the first one.
      const last = out[out.length - 1];
      if (last && start < from && last.start === start && last.end === end) continue;
      out.push(analyseSegment(readSubtree(cursor), text, lines));
    } while (cursor.gotoNextSibling());
  }
  return out;
}

/**
 * Every top-level statement of the tree, taking the analysis from `known` for statements
 * with the same extent (zero-width ones, inserted by error recovery, are always read).
 */
export function reconcileSegments(tree: Tree, text: string, lines: LineIndex, known: Segment[]): Segment[] {
  const byStart = new Map<number, Segment>();
  for (const s of known) if (s.end > s.start) byStart.set(s.start, s);
  const out: Segment[] = [];
  const cursor = tree.walk();
  if (!cursor.gotoFirstChild()) return out;
  do {
    const start = cursor.startIndex;
    const end = cursor.endIndex;
    const seg = end > start ? byStart.get(start) : undefined;
    out.push(seg && seg.end === end ? seg : analyseSegment(readSubtree(cursor), text, lines));
  } while (cursor.gotoNextSibling());
  return out;
}

/**
 * The same segment after the text before it changed: spans on its first line move by the
 * column change, all spans by the line change. Returns the segment itself if nothing moved.
 */
export function shiftSegment(seg: Segment, start: number, origin: Position): Segment {
  const from = seg.origin;
  if (from.line === origin.line && from.character === origin.character) {
    if (start === seg.start) return seg;
    return { ...seg, start, end: seg.end + (start - seg.start) };
  }
  const dLine = origin.line - from.line;
  const dChar = origin.character - from.character;
  const line0 = from.line;
  const shift = (s: Span): Span => ({
    startLine: s.startLine + dLine,
    startColumn: s.startLine === line0 ? s.startColumn + dChar : s.startColumn,
    endLine: s.endLine + dLine,
    endColumn: s.endLine === line0 ? s.endColumn + dChar : s.endColumn,
  });
  return {
    start,
    end: seg.end + (start - seg.start),
    origin,
    definitions: seg.definitions.map((d) => ({
      kind: d.kind, name: d.name, qualname: d.qualname, parent: d.parent, method: d.method, async: d.async,
      params: d.params, returns: d.returns, bases: d.bases, decorators: d.decorators, span: shift(d.span),
      signatureHash: d.signatureHash, bodyHash: d.bodyHash,
    })),
    calls: seg.calls.map((c) => ({ callee: c.callee, span: shift(c.span), in: c.in })),
    globals: seg.globals.map((g) => ({ name: g.name, span: shift(g.span), in: g.in })),
    imports: seg.imports.map((i) => ({ kind: i.kind, module: i.module, names: i.names, span: shift(i.span), in: i.in })),
    errors: seg.errors,
  };
}

// ---------------------------------------------------------------------------------------
// Analysis of one subtree

interface Scope {
  /** module, a function body, a class body, or a lambda (which defines nothing we index). */
  kind: "module" | "function" | "class" | "lambda";
  /** Qualname of the code that runs here; null for the module. */
  owner: string | null;
  /** Names this scope declares `global`. */
  globals: Set<string> | null;
}

const MODULE_SCOPE: Scope = { kind: "module", owner: null, globals: null };

interface Frame {
  node: PlainNode;
  scope: Scope;
  decorators: PlainNode[] | null;
}

const TARGET_CONTAINERS = new Set([
  "pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "parenthesized_expression",
  "expression_list", "list_splat_pattern", "list_splat", "as_pattern_target",
]);

/** Indexes one subtree: a top-level statement, or a whole tree. */
export function analyseSegment(root: PlainNode, text: string, lines: LineIndex): Segment {
  const seg: Segment = {
    start: root.start, end: root.end, origin: lines.position(root.start),
    definitions: [], calls: [], globals: [], imports: [], errors: 0,
  };
  const span = (n: PlainNode): Span => spanOf(lines, n.start, n.end);

  const bind = (target: PlainNode | null, scope: Scope) => {
    if (!target || scope.kind === "lambda") return;
    const stack = [target];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.type === "identifier") {
        const name = textOf(text, n);
        if (scope.kind === "module") seg.globals.push({ name, span: span(n), in: null });
        else if (scope.globals?.has(name)) seg.globals.push({ name, span: span(n), in: scope.owner });
      } else if (TARGET_CONTAINERS.has(n.type)) {
        for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
      }
    }
  };

  const stack: Frame[] = [{ node: root, scope: MODULE_SCOPE, decorators: null }];
  const pushChildren = (node: PlainNode, scope: Scope) => {
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i], scope, decorators: null });
  };

  while (stack.length > 0) {
    const { node, scope, decorators } = stack.pop()!;
    if (node.type === "ERROR" || node.missing) seg.errors++;
    switch (node.type) {
      case "function_definition":
      case "class_definition": {
        const inner = define(node, scope, decorators ?? [], text, span, seg.definitions);
        // The body runs in the new scope; decorators, defaults, annotations and bases run
        // in the scope around the definition.
        for (let i = node.children.length - 1; i >= 0; i--) {
          const child = node.children[i];
          stack.push({ node: child, scope: inner && child.field === "body" ? inner : scope, decorators: null });
        }
        continue;
      }
      case "decorated_definition": {
        const decos = node.children.filter((c) => c.type === "decorator");
        for (let i = node.children.length - 1; i >= 0; i--) {
          const child = node.children[i];
          stack.push({ node: child, scope, decorators: child.field === "definition" ? decos : null });
        }
        continue;
      }
      case "lambda": {
        const lambdaScope: Scope = { kind: "lambda", owner: scope.owner, globals: null };
        for (let i = node.children.length - 1; i >= 0; i--) {
          const child = node.children[i];
          stack.push({ node: child, scope: child.field === "body" ? lambdaScope : scope, decorators: null });
        }
        continue;
      }
      case "call": {
        const fn = childByField(node, "function");
        if (fn && !isBrokenDef(node, text, root.start)) seg.calls.push({ callee: calleeText(text, fn), span: span(node), in: scope.owner });
        break;
      }
      case "assignment":
        // An annotation alone (`x: int`) binds nothing.
        if (childByField(node, "right")) bind(childByField(node, "left"), scope);
        break;
      case "augmented_assignment":
      case "for_statement":
        bind(childByField(node, "left"), scope);
        break;
      case "named_expression":
        bind(childByField(node, "name"), scope);
        break;
      case "as_pattern":
        if (node.parent?.type === "with_item") bind(childByField(node, "alias"), scope);
        break;
      case "import_statement":
      case "import_from_statement":
      case "future_import_statement":
        for (const row of importRows(node, text)) seg.imports.push({ ...row, span: span(node), in: scope.owner });
        break;
    }
    pushChildren(node, scope);
  }
  return seg;
}

/** Records a function or class; returns the scope of its body (null if it has no name). */
function define(
  node: PlainNode, outer: Scope, decorators: PlainNode[], text: string,
  span: (n: PlainNode) => Span, out: Definition[],
): Scope | null {
  const nameNode = childByField(node, "name");
  const name = nameNode ? textOf(text, nameNode) : "";
  if (name === "" || outer.kind === "lambda") return null;
  const isClass = node.type === "class_definition";
  const qualname = qualnameIn(outer, name);
  const isAsync = !isClass && childOfType(node, "async") !== null;
  const paramsNode = isClass ? null : childByField(node, "parameters");
  const returnsNode = isClass ? null : childByField(node, "return_type");
  const basesNode = isClass ? childByField(node, "superclasses") : null;
  const decoratorExprs = decorators.map((d) => d.children.find((c) => c.type !== "@" && c.type !== "comment") ?? d);
  const body = childByField(node, "body");

  const signature = [
    node.type, isAsync ? "async" : "", name,
    paramsNode ? tokenText(text, paramsNode) : "",
    returnsNode ? tokenText(text, returnsNode) : "",
    basesNode ? tokenText(text, basesNode) : "",
    ...decoratorExprs.map((d) => "@" + tokenText(text, d)),
  ].join("\n");

  out.push({
    kind: isClass ? "class" : "function",
    name,
    qualname,
    parent: outer.owner,
    method: !isClass && outer.kind === "class",
    async: isAsync,
    params: paramsNode ? readParams(paramsNode, text) : [],
    returns: returnsNode ? collapsedText(text, returnsNode) : null,
    bases: basesNode ? basesNode.children.filter(isArgument).map((b) => collapsedText(text, b)) : [],
    decorators: decoratorExprs.map((d) => collapsedText(text, d)),
    span: span(node),
    signatureHash: shortHash(signature),
    bodyHash: shortHash(normalizeBody(text.slice(bodyStart(node, body, text), node.end))),
  });

  return { kind: isClass ? "class" : "function", owner: qualname, globals: body ? declaredGlobals(body, text) : null };
}

/**
 * CPython's rule (compiler_set_qualname): a name declared `global` in the enclosing scope
 * gets no prefix; otherwise a function's children get `<function>.<locals>.`, a class's
 * children `<class>.`.
 */
function qualnameIn(outer: Scope, name: string): string {
  if (outer.kind === "module" || outer.owner === null || outer.globals?.has(name)) return name;
  return outer.kind === "class" ? `${outer.owner}.${name}` : `${outer.owner}.<locals>.${name}`;
}

/**
 * Where the body text starts: after the `:` that ends the signature, which is the first `:`
 * after the last part of the header (only blanks and line continuations can come between).
 */
function bodyStart(node: PlainNode, body: PlainNode | null, text: string): number {
  let after = node.start;
  for (const c of node.children) {
    if (c === body) break;
    if (c.named && c.type !== "comment") after = c.end;
  }
  const limit = body ? body.start : node.end;
  const colon = text.indexOf(":", after);
  return colon !== -1 && colon < limit ? colon + 1 : limit;
}

/**
 * Body text without its layout: common indentation removed, trailing spaces and blank lines
 * dropped. So re-indenting a whole definition (moving it into an `if`) or putting a one-line
 * body on the `def` line changes nothing; any other edit, comments included, does.
 */
function normalizeBody(body: string): string {
  const lines = body.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  if (lines.length === 0) return "";
  // The first piece is what follows the `:` on the signature's line, if anything.
  const onDefLine = !/^[ \t]*(\r?\n|$)/.test(body);
  const head = onDefLine ? [lines[0].trim()] : [];
  const rest = onDefLine ? lines.slice(1) : lines;
  let indent = Infinity;
  for (const l of rest) indent = Math.min(indent, l.length - l.trimStart().length);
  return [...head, ...rest.map((l) => l.slice(indent))].join("\n");
}

/** The names of the `global` statements that belong to this body's scope (not to nested definitions). */
function declaredGlobals(body: PlainNode, text: string): Set<string> | null {
  let names: Set<string> | null = null;
  const stack = [body];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === "global_statement") {
      for (const c of n.children) if (c.type === "identifier") (names ??= new Set()).add(textOf(text, c));
      continue;
    }
    if (n.type === "function_definition" || n.type === "class_definition" || n.type === "decorated_definition" || n.type === "lambda") continue;
    for (const c of n.children) stack.push(c);
  }
  return names;
}

/**
 * `def name(args)` of a definition tree-sitter could not recover (inside an ERROR node)
 * reads as a call preceded by `def` on its line: that is not a call. (In code that parses,
 * `def` never precedes a call.) Only text of the segment itself is looked at, so that its
 * analysis depends on nothing outside it.
 */
function isBrokenDef(call: PlainNode, text: string, segmentStart: number): boolean {
  const before = text.slice(Math.max(segmentStart, call.start - 40), call.start);
  return /(^|[^\w])def[ \t]+$/.test(before.slice(before.lastIndexOf("\n") + 1));
}

function isArgument(n: PlainNode): boolean {
  return n.type !== "(" && n.type !== ")" && n.type !== "," && n.type !== "comment";
}

function readParams(paramsNode: PlainNode, text: string): Param[] {
  const params: Param[] = [];
  const children = paramsNode.children;
  const slash = children.findIndex((c) => c.type === "positional_separator");
  let keywordOnly = false;
  const simpleKind = (i: number): Param["kind"] =>
    keywordOnly ? "keyword-only" : i < slash ? "positional-only" : "positional-or-keyword";
  children.forEach((c, i) => {
    const field = (f: string) => {
      const n = childByField(c, f);
      return n ? collapsedText(text, n) : null;
    };
    switch (c.type) {
      case "identifier":
      case "tuple_pattern":
        params.push({ name: collapsedText(text, c), kind: simpleKind(i), annotation: null, default: null });
        break;
      case "default_parameter":
        params.push({ name: field("name") ?? "", kind: simpleKind(i), annotation: null, default: field("value") });
        break;
      case "typed_default_parameter":
        params.push({ name: field("name") ?? "", kind: simpleKind(i), annotation: field("type"), default: field("value") });
        break;
      case "typed_parameter": {
        const inner = c.children.find((x) => x.field !== "type" && x.type !== ":" && x.type !== "comment");
        const p = inner ? splatParam(inner, text, simpleKind(i)) : { name: "", kind: simpleKind(i) };
        if (p.kind === "var-positional") keywordOnly = true;
        params.push({ ...p, annotation: field("type"), default: null });
        break;
      }
      case "list_splat_pattern":
      case "dictionary_splat_pattern": {
        const p = splatParam(c, text, simpleKind(i));
        if (p.kind === "var-positional") keywordOnly = true;
        params.push({ ...p, annotation: null, default: null });
        break;
      }
      case "keyword_separator":
        keywordOnly = true;
        params.push({ name: "*", kind: "separator", annotation: null, default: null });
        break;
      case "positional_separator":
        params.push({ name: "/", kind: "separator", annotation: null, default: null });
        break;
    }
  });
  return params;
}

function splatParam(node: PlainNode, text: string, plain: Param["kind"]): { name: string; kind: Param["kind"] } {
  const ident = node.children.find((x) => x.type === "identifier");
  const name = ident ? textOf(text, ident) : collapsedText(text, node);
  if (node.type === "list_splat_pattern") return { name, kind: "var-positional" };
  if (node.type === "dictionary_splat_pattern") return { name, kind: "var-keyword" };
  return { name, kind: plain };
}

function calleeText(text: string, fn: PlainNode): string {
  return collapsedText(text, fn).replace(/ ?\. ?/g, ".");
}

function dotted(text: string, n: PlainNode): string {
  return textOf(text, n).replace(/\s+/g, "");
}

function importedName(n: PlainNode, text: string): ImportedName | null {
  if (n.type === "aliased_import") {
    const name = childByField(n, "name");
    const alias = childByField(n, "alias");
    return { name: name ? dotted(text, name) : "", asname: alias ? textOf(text, alias) : null };
  }
  if (n.type === "dotted_name") return { name: dotted(text, n), asname: null };
  return null;
}

function importRows(node: PlainNode, text: string): Array<Omit<ImportRow, "span" | "in">> {
  const names: ImportedName[] = [];
  for (const c of node.children) {
    if (c.field === "name") {
      const n = importedName(c, text);
      if (n) names.push(n);
    } else if (c.type === "wildcard_import") {
      names.push({ name: "*", asname: null });
    }
  }
  if (node.type === "import_statement") return names.map((n) => ({ kind: "import", module: n.name, names: [n] }));
  const moduleNode = childByField(node, "module_name");
  const module = node.type === "future_import_statement" ? "__future__" : moduleNode ? dotted(text, moduleNode) : "";
  return [{ kind: "from", module, names }];
}

/** The first 64 bits of SHA-256, as 16 hex digits (a flat string: no slice of a longer one kept alive). */
function shortHash(s: string): string {
  return createHash("sha256").update(s, "utf8").digest().toString("hex", 0, 8);
}
