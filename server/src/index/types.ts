// The definition index as data: what one version of a Python file defines, calls, assigns
// at module level and imports. Plain, immutable objects (JSON-safe), the same whether they
// come from a file on disk or from an editor buffer.
//
// Positions are 0-based lines and UTF-16 code-unit columns: what LSP uses and what the
// tree-sitter Node binding reports. Lines are split on "\n" ("\r\n" works; a lone "\r" is
// not a line break here). Python's own line numbers (co_firstlineno, the event log's
// `line`) are these lines + 1.

export interface Span {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}

/** Why a file was not parsed. */
export type SkipReason = "binary" | "too large";

/**
 * One parameter, or one of the markers `/` and `*`, in source order. `kind` follows
 * inspect.Parameter.kind; the markers have kind "separator" and their own text as name.
 */
export interface Param {
  name: string;
  kind: "positional-only" | "positional-or-keyword" | "var-positional" | "keyword-only" | "var-keyword" | "separator";
  /** Annotation text, whitespace collapsed, or null. */
  annotation: string | null;
  /** Default value text, whitespace collapsed, or null. */
  default: string | null;
}

export interface Definition {
  kind: "function" | "class";
  name: string;
  /** As Python's __qualname__ / co_qualname: `Cls.method`, `outer.<locals>.inner`. */
  qualname: string;
  /** Qualname of the enclosing function or class, null at module level. */
  parent: string | null;
  /** A function defined directly in a class body. */
  method: boolean;
  async: boolean;
  /** Functions only (empty for classes). */
  params: Param[];
  /** Return annotation text (functions), or null. */
  returns: string | null;
  /** Classes only: the bases and keywords between the parentheses, as text. */
  bases: string[];
  /** Decorator expressions without the `@`, outermost first. */
  decorators: string[];
  /** From `def` (or `async`, `class`) to the end of the body; decorators are not in it. */
  span: Span;
  /** Hash of the normalized signature: kind, async, name, params, return, bases, decorators. */
  signatureHash: string;
  /** Hash of the body text (everything after the signature's `:`). */
  bodyHash: string;
}

export interface CallSite {
  /** The called expression's text, whitespace collapsed: `np.arange`, `self.save`, `read`. */
  callee: string;
  span: Span;
  /**
   * Qualname of the function or class body the call runs in; null at module level. Calls in
   * decorators, defaults and annotations run in the scope around the definition; calls in
   * lambdas and comprehensions are counted in the definition around them.
   */
  in: string | null;
}

/** A module-level name bound by an assignment, `+=`, `for`, `with … as`, `:=`, or by a `global` declaration inside a function. */
export interface GlobalVar {
  name: string;
  /** The name's own span. */
  span: Span;
  /** The function or class that assigns it through `global`, null at module level. */
  in: string | null;
}

export interface ImportedName {
  /** `os.path` for `import os.path`, `x` for `from m import x`, `*` for a wildcard. */
  name: string;
  asname: string | null;
}

/**
 * `import a.b as c, d` gives one row per module (a.b, d), each with one name; `from .m import
 * x, y as z` gives one row with module `.m` and both names. The span is the statement's.
 */
export interface ImportRow {
  kind: "import" | "from";
  module: string;
  names: ImportedName[];
  span: Span;
  /** Qualname of the definition the import is in, null at module level. */
  in: string | null;
}

export interface FileIndex {
  /** SHA-256 (hex) of the text as UTF-8: the content store's name for these bytes. */
  hash: string;
  /** Set when the text was not parsed; the lists are then empty. */
  skipped?: SkipReason;
  definitions: Definition[];
  calls: CallSite[];
  globals: GlobalVar[];
  imports: ImportRow[];
  /** ERROR and MISSING nodes in what tree-sitter recovered: 0 for a file that parses. */
  errors: number;
}

/** A file that could not be read (deleted meanwhile, a folder, no permission …). */
export interface IndexError {
  error: string;
}

export type IndexResult = FileIndex | IndexError;

export function isIndexError(result: IndexResult): result is IndexError {
  return (result as IndexError).error !== undefined;
}

/** How one definition differs between two versions of a file. */
export interface DefinitionChange {
  qualname: string;
  /** signature wins over body; "moved" means only the span changed. */
  change: "added" | "removed" | "signature" | "body" | "moved";
  before: Span | null;
  after: Span | null;
}

/** Files larger than this (in UTF-8 bytes) are not parsed. */
export const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;

export interface IndexOptions {
  /** Files larger than this many UTF-8 bytes are skipped ("too large"). Default 2 MB. */
  maxBytes?: number;
}
