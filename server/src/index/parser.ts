// The one place that loads tree-sitter. Parsers are cheap to keep and safe to share between
// documents (parsing is synchronous and a parser holds no per-document state as long as no
// timeout or cancellation is set), so callers reuse one.
import Parser from "tree-sitter";
import Python from "tree-sitter-python";

export type Tree = Parser.Tree;
export type TreeCursor = Parser.TreeCursor;
export type PythonParser = Parser;

export function createParser(): Parser {
  const parser = new Parser();
  parser.setLanguage(Python as unknown as Parser.Language);
  return parser;
}

let shared: Parser | null = null;

/** A parser for the whole process: for callers that do not hold their own. */
export function sharedParser(): Parser {
  if (!shared) shared = createParser();
  return shared;
}

/**
 * Parses a whole text. The Node binding passes JavaScript strings to tree-sitter as UTF-16,
 * so every index, column and edit offset it deals in is a UTF-16 code unit (as in LSP).
 */
export function parseText(parser: Parser, text: string, oldTree?: Tree | null): Tree {
  // A larger buffer than the default means fewer calls back into JavaScript for big files.
  return parser.parse(text, oldTree ?? null, { bufferSize: 64 * 1024 });
}
