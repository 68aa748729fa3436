"""Static part of fine-grained tracing: what each statement line assigns and reads.

Each project file is parsed once with `ast` and walked iteratively (never
recursively: deeply nested sources must not overflow the stack of a tracer
that may run at the bottom of a deep recursion). The result is, per scope
(the module, each class body, each function), a table

    line -> group

where a *group* gathers the statements that start on that line (several with
`;`, or a one-line compound statement and its body) and every continuation
line of a multi-line statement maps to the group of its first line. A group
says which targets the line assigns (see `Target`), which names it reads
(Load context; for compound statements only the header; the loop variables of
a comprehension and the parameters of a lambda are not reads of the line) and
a few flags the dynamic part needs.

Scopes are keyed like code objects are seen at run time: "<module>", or
(first line, co_name) for functions and class bodies, registered under both
the `def`/`class` line and the first decorator's line (co_firstlineno is one
or the other depending on the version). Lambdas are keyed (line, "<lambda>")
and only have reads (their body) and parameters.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import ast
import re
import sys
from now_tracer.runner import decode_source  # not importlib.util's: it imports tokenize

from now_tracer.eventlog import encode_str

# How a target's value is read at run time.
HOW_NAME = 0      # a name: locals (or globals for a `global` name)
HOW_ATTR = 1      # name.attr: instance/class dict or slot, never a property
HOW_SUBSCR = 2    # name[name] / name[constant]: builtin containers only
HOW_NOEVAL = 3    # anything else: recorded as "<not evaluated>"
HOW_MUT = 4       # `name.method(…)` as a statement: the name's object, maybe changed
# T_EXTRA of a HOW_MUT target that is an argument of a call statement: recorded only
# when its value is a file the script opened for writing (`json.dump(obj, f)`)
FILE_ONLY = "file"

# Target spec tuple fields.
T_HOW, T_NAME, T_EXTRA, T_FMT, T_STORE, T_GLOBAL, T_RANGE, T_COND, T_LINE, T_TEXT, T_KIND, T_COL, T_FAST = range(13)
# T_FAST: a plain local name (read from f_locals, no range, not conditional, not a mutation)
# Group tuple fields. G_PARTS: one (targets, reads) per statement of the line
# that assigns something, in source order (`a = 1; b = a`: b depends on the new a).
# G_RET: 1 if the line has a return statement, 2 if only in a one-line body.
# G_HAS: close() has something to do (targets, an unknown reason, a return).
G_FIRST, G_PARTS, G_READS, G_LOOP, G_UNKNOWN, G_RET, G_HAS, G_COND = range(8)

MODULE_KEY = "<module>"

_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_MATCH = getattr(ast, "Match", None)
_TRYSTAR = getattr(ast, "TryStar", None)
_TYPEALIAS = getattr(ast, "TypeAlias", None)
_TRIES = tuple(t for t in (ast.Try, _TRYSTAR) if t is not None)
_INDEX = getattr(ast, "Index", None)  # 3.8: Subscript.slice is Index(value)
_SIMPLE_CONST = (int, float, str, bytes, bool, type(None))


class FileTable:
    __slots__ = ("scopes", "params", "lambdas", "singles", "error")

    def __init__(self) -> None:
        self.scopes: dict = {}   # scope key -> {line: group}
        self.params: dict = {}   # scope key -> {param name: (line, col)}
        self.lambdas: dict = {}  # line -> tuple of names read by lambda bodies on it
        # scope key -> first line of the only statement of a function whose body
        # (after its docstring) is one simple statement: it needs no line events
        self.singles: dict = {}
        self.error = None        # why the file could not be analysed (then scopes is empty)


def analyse(source: bytes, filename: str = "<unknown>") -> FileTable:
    """The tables of one file; never raises (an error is kept in .error)."""
    table = FileTable()
    try:
        text = decode_source(source)
        tree = ast.parse(source, filename)
        _Analyser(text, table).run(tree)
    except Exception as e:  # SyntaxError, ValueError, RecursionError, MemoryError…
        table.scopes = {}
        table.error = "cannot analyse the source: %s: %s" % (type(e).__name__, " ".join(str(e).split())[:200])
    return table


def first_line(node) -> int:
    decos = getattr(node, "decorator_list", None)
    if decos:
        return min([d.lineno for d in decos] + [node.lineno])
    return node.lineno


class _Scope:
    __slots__ = ("groups", "order", "spans", "globals", "is_function")

    def __init__(self, is_function: bool, globals_: frozenset) -> None:
        self.groups: dict = {}   # first line -> [_Part]
        self.order: list = []    # group first lines in source order
        self.spans: list = []    # (first, last) of every statement header
        self.globals = globals_
        self.is_function = is_function


class _Part:
    """One statement (or except/case clause) starting on a group's line."""

    __slots__ = ("targets", "reads", "loop", "unknown", "ret")

    def __init__(self) -> None:
        self.targets: list = []
        self.reads: dict = {}
        self.loop = False
        self.unknown = None
        self.ret = 0  # 1: a return statement, 2: one in a one-line body (`if c: return x`)


class _Analyser:
    def __init__(self, text: str, table: FileTable) -> None:
        self.lines = text.split("\n")
        self.table = table
        self._blines: dict = {}

    # -- source positions --------------------------------------------------------
    def _line(self, n: int) -> str:
        return self.lines[n - 1] if 0 < n <= len(self.lines) else ""

    def _bline(self, n: int) -> bytes:
        b = self._blines.get(n)
        if b is None:
            b = self._blines[n] = self._line(n).encode("utf-8")
        return b

    def col(self, line: int, byte_col: int) -> int:
        """Character column from ast's UTF-8 byte offset."""
        text = self._line(line)
        if text.isascii():
            return byte_col
        return len(self._bline(line)[:byte_col].decode("utf-8", "replace"))

    def segment(self, node) -> str:
        l1, c1 = node.lineno, node.col_offset
        l2, c2 = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if l2 is None or c2 is None:
            return ""
        if l1 == l2:
            return self._bline(l1)[c1:c2].decode("utf-8", "replace")
        parts = [self._bline(l1)[c1:].decode("utf-8", "replace")]
        for n in range(l1 + 1, l2):
            parts.append(self._line(n))
        parts.append(self._bline(l2)[:c2].decode("utf-8", "replace"))
        return " ".join(" ".join(parts).split())

    def find(self, line_from: int, line_to: int, pattern: str, start_col: int = 0):
        """(line, char col) of group 1 of the first match of `pattern`, or None."""
        rx = re.compile(pattern)
        for n in range(line_from, max(line_from, line_to) + 1):
            m = rx.search(self._line(n), start_col if n == line_from else 0)
            if m:
                return n, m.start(1)
        return None

    # -- the walk ------------------------------------------------------------------
    def run(self, tree) -> None:
        module = _Scope(False, frozenset())
        scopes = [(MODULE_KEY, module)]
        # (statements, scope, line whose header may not run its body: the
        # targets of a body statement starting on that line are conditional)
        work = [(tree.body, module, None)]
        while work:
            body, scope, cond_line = work.pop()
            for stmt in body:
                try:
                    self.stmt(stmt, scope, cond_line, work, scopes)
                except Exception as e:  # one odd statement never costs the file
                    g = self.group(scope, first_line(stmt), getattr(stmt, "end_lineno", stmt.lineno) or stmt.lineno)
                    g.unknown = "cannot analyse this statement: %s" % type(e).__name__
        for key, scope in scopes:
            lines = self.freeze(scope)
            old = self.table.scopes.get(key)
            if old is None:
                self.table.scopes[key] = lines
            else:  # two defs of the same name on one line: merge
                for k, v in lines.items():
                    old.setdefault(k, v)

    def group(self, scope: _Scope, first: int, last: int) -> _Part:
        """A new part in the group of line `first` (the statement spans to `last`)."""
        parts = scope.groups.get(first)
        if parts is None:
            parts = scope.groups[first] = []
            scope.order.append(first)
        scope.spans.append((first, last))
        part = _Part()
        parts.append(part)
        return part

    def freeze(self, scope: _Scope) -> dict:
        out: dict = {}
        for first in scope.order:
            parts = scope.groups[first]
            reads: dict = {}
            frozen = []
            cond = loop = False
            ret = 0
            unknown = None
            for p in parts:
                reads.update(p.reads)
                loop = loop or p.loop
                ret = max(ret, p.ret)
                unknown = unknown or p.unknown
                if p.targets:
                    frozen.append((tuple(p.targets), tuple(p.reads)))
                    cond = cond or any(t[T_COND] for t in p.targets)
            out[first] = (first, tuple(frozen), tuple(reads), loop, unknown, ret, bool(frozen or unknown or ret), cond)
        for first, last in scope.spans:
            grp = out[first]
            for n in range(first + 1, last + 1):
                if n not in out:
                    out[n] = grp
        return out

    def stmt(self, s, scope: _Scope, cond_line, work, scopes) -> None:
        first = first_line(s)
        cond = cond_line is not None and first == cond_line
        T = self.targets
        if isinstance(s, ast.Assign):
            kind = "comprehension" if isinstance(s.value, _COMPS) else "assign"
            g = self.group(scope, first, s.end_lineno)
            reads, walrus = self.names([s.value] + list(s.targets), scope, cond)
            for t in s.targets:
                g.targets.extend(T(t, kind, scope, None, cond))
            g.targets.extend(walrus)
            g.reads.update(reads)
        elif isinstance(s, ast.AugAssign):
            g = self.group(scope, first, s.end_lineno)
            reads, walrus = self.names([s.value, s.target], scope, cond)
            if isinstance(s.target, ast.Name):
                reads[s.target.id] = None
            g.targets.extend(T(s.target, "augassign", scope, None, cond))
            g.targets.extend(walrus)
            g.reads.update(reads)
        elif isinstance(s, ast.AnnAssign):
            g = self.group(scope, first, s.end_lineno)
            if s.value is not None:
                reads, walrus = self.names([s.value, s.target], scope, cond)
                kind = "comprehension" if isinstance(s.value, _COMPS) else "annassign"
                g.targets.extend(T(s.target, kind, scope, None, cond))
                g.targets.extend(walrus)
                g.reads.update(reads)
        elif isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            g = self.group(scope, first, self.header_end(s, s.body))
            if isinstance(s, ast.While):
                reads, walrus = self.names([s.test], scope, cond)
            else:
                rng = self.body_range(s.body)
                reads, walrus = self.names([s.iter, s.target], scope, cond)
                g.targets.extend(T(s.target, "for", scope, rng, cond))
            g.targets.extend(walrus)
            g.reads.update(reads)
            one_line = first_line(s.body[0]) == s.lineno
            g.loop = one_line
            work.append((s.orelse, scope, None))
            work.append((s.body, scope, s.lineno if one_line else None))
        elif isinstance(s, ast.If):
            g = self.group(scope, first, self.header_end(s, s.body))
            reads, walrus = self.names([s.test], scope, cond)
            g.targets.extend(walrus)
            g.reads.update(reads)
            work.append((s.orelse, scope, None))
            work.append((s.body, scope, s.lineno))
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            g = self.group(scope, first, self.header_end(s, s.body))
            rng = self.body_range(s.body)
            exprs = []
            for item in s.items:
                exprs.append(item.context_expr)
                if item.optional_vars is not None:
                    exprs.append(item.optional_vars)
            reads, walrus = self.names(exprs, scope, cond)
            for item in s.items:
                if item.optional_vars is not None:
                    g.targets.extend(T(item.optional_vars, "with", scope, rng, cond))
            g.targets.extend(walrus)
            g.reads.update(reads)
            work.append((s.body, scope, None))
        elif _TRIES and isinstance(s, _TRIES):
            self.group(scope, first, self.header_end(s, s.body))
            work.append((s.finalbody, scope, None))
            work.append((s.orelse, scope, None))
            for h in s.handlers:
                hg = self.group(scope, h.lineno, self.header_end(h, h.body))
                reads, walrus = self.names([h.type] if h.type is not None else [], scope, False)
                hg.reads.update(reads)
                hg.targets.extend(walrus)
                if h.name:
                    pos = self.find(h.lineno, self.header_end(h, h.body), r"\bas\s+(%s)\b" % re.escape(h.name))
                    line, col = pos if pos else (h.lineno, self.col(h.lineno, h.col_offset))
                    hg.targets.append(self.spec(HOW_NAME, h.name, None, h.name, line, col, h.name, "except", scope, self.body_range(h.body), False))
                one_line = first_line(h.body[0]) == h.lineno
                work.append((h.body, scope, h.lineno if one_line else None))
            work.append((s.body, scope, None))
        elif _MATCH is not None and isinstance(s, _MATCH):
            g = self.group(scope, first, self.header_end(s, [c.pattern for c in s.cases]))
            subject, walrus = self.names([s.subject], scope, cond)
            g.targets.extend(walrus)
            g.reads.update(subject)
            for case in s.cases:
                p = case.pattern
                last = self.header_end(p, case.body)
                cg = self.group(scope, p.lineno, last)
                caps, exprs = self.pattern(p, scope, self.body_range(case.body), last)
                if case.guard is not None:
                    exprs.append(case.guard)
                reads, walrus = self.names(exprs, scope, False)
                cg.reads.update(subject)
                cg.reads.update(reads)
                cg.targets.extend(caps)
                cg.targets.extend(walrus)
                one_line = first_line(case.body[0]) == p.lineno
                work.append((case.body, scope, p.lineno if one_line else None))
        elif isinstance(s, _DEFS):
            self.definition(s, first, scope, cond, work, scopes)
        elif isinstance(s, ast.Return):
            g = self.group(scope, first, s.end_lineno)
            g.ret = 2 if cond else 1
            if s.value is not None:
                reads, walrus = self.names([s.value], scope, cond)
                g.reads.update(reads)
                g.targets.extend(walrus)
        elif isinstance(s, ast.Expr):
            g = self.group(scope, first, s.end_lineno)
            reads, walrus = self.names([s.value], scope, cond)
            g.reads.update(reads)
            g.targets.extend(walrus)
            root = _mutated(s.value)
            if root is not None:
                g.targets.append(self.mutation_spec(root, scope, cond))
            # `json.dump(obj, f)`, `print(x, file=f)`: a name passed to a call is a
            # file written through, if its value turns out to be a file the script
            # opened for writing (fine.py decides; nothing is recorded otherwise).
            seen = {root.id} if root is not None else set()
            for arg in _call_args(s.value):
                if isinstance(arg, ast.Name) and arg.id not in seen:
                    seen.add(arg.id)
                    g.targets.append(self.mutation_spec(arg, scope, cond, FILE_ONLY))
        elif isinstance(s, ast.Delete):
            g = self.group(scope, first, s.end_lineno)
            reads, walrus = self.names(list(s.targets), scope, cond)
            g.reads.update(reads)
            for t in s.targets:
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    root = _root_name(t)
                    if root is not None:
                        g.targets.append(self.mutation_spec(root, scope, cond))
        elif isinstance(s, ast.Import):
            g = self.group(scope, first, s.end_lineno)
            col_from = 0
            for a in s.names:
                bound = a.asname or a.name.partition(".")[0]
                line, col, col_from = self.alias_pos(s, a, bound, col_from)
                g.targets.append(self.spec(HOW_NAME, bound, None, bound, line, col, bound, "import", scope, None, cond))
        elif isinstance(s, ast.ImportFrom):
            g = self.group(scope, first, s.end_lineno)
            if any(a.name == "*" for a in s.names):
                g.unknown = "from %s import *: the names it binds are not known statically" % ("." * (s.level or 0) + (s.module or ""))
            else:
                col_from = 0
                for a in s.names:
                    bound = a.asname or a.name
                    line, col, col_from = self.alias_pos(s, a, bound, col_from)
                    g.targets.append(self.spec(HOW_NAME, bound, None, bound, line, col, bound, "import", scope, None, cond))
        elif _TYPEALIAS is not None and isinstance(s, _TYPEALIAS):
            g = self.group(scope, first, s.end_lineno)
            g.targets.extend(T(s.name, "assign", scope, None, cond))
        else:
            # Raise, Assert, Global, Nonlocal, Pass, Break, Continue…: reads only.
            g = self.group(scope, first, getattr(s, "end_lineno", None) or s.lineno)
            exprs = [c for c in ast.iter_child_nodes(s) if isinstance(c, ast.expr)]
            if exprs:
                reads, walrus = self.names(exprs, scope, cond)
                g.reads.update(reads)
                g.targets.extend(walrus)

    def header_end(self, s, body) -> int:
        if not body:
            return getattr(s, "end_lineno", None) or s.lineno
        return max(s.lineno, first_line(body[0]) - 1)

    @staticmethod
    def body_range(body):
        if not body:
            return None
        return (first_line(body[0]), max(getattr(b, "end_lineno", None) or b.lineno for b in body))

    def alias_pos(self, s, a, bound, col_from):
        if getattr(a, "lineno", None) is not None and sys.version_info >= (3, 10):
            if a.asname:
                pos = self.find(a.lineno, a.end_lineno, r"\bas\s+(%s)\b" % re.escape(bound), self.col(a.lineno, a.col_offset))
                if pos:
                    return pos[0], pos[1], 0
            return a.lineno, self.col(a.lineno, a.col_offset), 0
        # 3.8/3.9: aliases have no position; search the statement's text in order.
        name = a.name if not a.asname else a.asname
        pattern = r"(?<![\w.])(%s)\b" % re.escape(name)
        if a.asname:
            pattern = r"\bas\s+(%s)\b" % re.escape(name)
        start = col_from
        if start == 0:
            imp = self.find(s.lineno, s.end_lineno, r"\b(import)\b")
            if imp and imp[0] == s.lineno:
                start = imp[1] + len("import")
        pos = self.find(s.lineno, s.end_lineno, pattern, start)
        if pos is None:
            return s.lineno, self.col(s.lineno, s.col_offset), col_from
        return pos[0], pos[1], (pos[1] + len(name) if pos[0] == s.lineno else col_from)

    def definition(self, s, first, scope: _Scope, cond, work, scopes) -> None:
        last = self.header_end(s, s.body)
        g = self.group(scope, first, last)
        exprs = list(s.decorator_list)
        if isinstance(s, ast.ClassDef):
            kind = "class"
            exprs.extend(s.bases)
            exprs.extend(k.value for k in s.keywords)
        else:
            kind = "def"
            exprs.extend(s.args.defaults)
            exprs.extend(d for d in s.args.kw_defaults if d is not None)
        reads, walrus = self.names(exprs, scope, cond)
        g.reads.update(reads)
        g.targets.extend(walrus)
        pos = self.find(s.lineno, last, r"\b(?:def|class)\s+(%s)\b" % re.escape(s.name))
        line, col = pos if pos else (s.lineno, self.col(s.lineno, s.col_offset))
        g.targets.append(self.spec(HOW_NAME, s.name, None, s.name, line, col, s.name, kind, scope, None, cond))
        inner = _Scope(not isinstance(s, ast.ClassDef), _globals_of(s.body))
        keys = {(s.lineno, s.name), (first, s.name)}
        for key in keys:
            scopes.append((key, inner))
        if not isinstance(s, ast.ClassDef):
            params = self.params(s.args)
            for key in keys:
                self.table.params.setdefault(key, {}).update(params)
        work.append((s.body, inner, None))
        if not isinstance(s, ast.ClassDef):
            body = s.body
            if len(body) > 1 and _is_docstring(body[0]):
                body = body[1:]
            if len(body) == 1 and isinstance(body[0], _SIMPLE) and body[0].lineno > last:
                for key in keys:
                    self.table.singles[key] = first_line(body[0])

    def params(self, args) -> dict:
        out = {}
        every = list(getattr(args, "posonlyargs", ())) + list(args.args)
        if args.vararg is not None:
            every.append(args.vararg)
        every.extend(args.kwonlyargs)
        if args.kwarg is not None:
            every.append(args.kwarg)
        for a in every:
            out[a.arg] = (a.lineno, self.col(a.lineno, a.col_offset))
        return out

    # -- targets -------------------------------------------------------------------
    def spec(self, how, name, extra, store, line, col, text, kind, scope, rng, cond):
        glob = bool(scope.is_function and store is not None and store in scope.globals)
        if glob and how == HOW_NAME:
            kind = "global"
        static = ('"line":%d,"col":%d,"target":%s,"kind":"%s",' % (line, col, encode_str(text), kind)).replace("%", "%%")
        fmt = '{"e":"value","id":%d,"act":%d,' + static + '"value":%s,"deps":[%s],"calls":[%s],"files":[%s]}'
        fast = how == HOW_NAME and not glob and rng is None and not cond
        return (how, name, extra, fmt, store, glob, rng, bool(cond), line, text, kind, col, fast)

    def mutation_spec(self, node, scope, cond, extra=None):
        return self.spec(HOW_MUT, node.id, extra, node.id, node.lineno, self.col(node.lineno, node.col_offset), node.id, "mutation", scope, None, cond)

    def name_spec(self, node, kind, scope, rng, cond):
        return self.spec(HOW_NAME, node.id, None, node.id, node.lineno, self.col(node.lineno, node.col_offset), node.id, kind, scope, rng, cond)

    def targets(self, node, kind, scope, rng, cond) -> list:
        """Specs of the names/attributes/items a target expression binds, in
        source order (tuples, lists and starred unpacked)."""
        out = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Name):
                out.append(self.name_spec(n, kind, scope, rng, cond))
            elif isinstance(n, (ast.Tuple, ast.List)):
                stack.extend(reversed(n.elts))
            elif isinstance(n, ast.Starred):
                stack.append(n.value)
            elif isinstance(n, (ast.Attribute, ast.Subscript)):
                text = self.segment(n)
                line, col = n.lineno, self.col(n.lineno, n.col_offset)
                root = _root_name(n)
                store = root.id if root is not None else None
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
                    out.append(self.spec(HOW_ATTR, n.value.id, n.attr, store, line, col, text, kind, scope, rng, cond))
                    continue
                if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
                    index = _index(n.slice)
                    if index is not None:
                        out.append(self.spec(HOW_SUBSCR, n.value.id, index, store, line, col, text, kind, scope, rng, cond))
                        continue
                out.append(self.spec(HOW_NOEVAL, None, None, store, line, col, text, kind, scope, rng, cond))
        return out

    def pattern(self, p, scope, rng, last):
        """(capture target specs, expressions read) of a match pattern."""
        caps = []
        exprs = []
        stack = [p]
        while stack:
            n = stack.pop()
            name = type(n).__name__
            if name == "MatchAs":
                if n.name is not None:
                    if n.pattern is None:
                        line, col = n.lineno, self.col(n.lineno, n.col_offset)
                    else:
                        pos = self.find(n.lineno, getattr(n, "end_lineno", last), r"\bas\s+(%s)\b" % re.escape(n.name))
                        line, col = pos if pos else (n.lineno, self.col(n.lineno, n.col_offset))
                    caps.append(self.spec(HOW_NAME, n.name, None, n.name, line, col, n.name, "match", scope, rng, False))
                if n.pattern is not None:
                    stack.append(n.pattern)
            elif name == "MatchStar":
                if n.name is not None:
                    pos = self.find(n.lineno, getattr(n, "end_lineno", last), r"\*\s*(%s)\b" % re.escape(n.name))
                    line, col = pos if pos else (n.lineno, self.col(n.lineno, n.col_offset))
                    caps.append(self.spec(HOW_NAME, n.name, None, n.name, line, col, n.name, "match", scope, rng, False))
            elif name == "MatchMapping":
                exprs.extend(n.keys)
                stack.extend(reversed(n.patterns))
                if n.rest is not None:
                    pos = self.find(n.lineno, getattr(n, "end_lineno", last), r"\*\*\s*(%s)\b" % re.escape(n.rest))
                    line, col = pos if pos else (n.lineno, self.col(n.lineno, n.col_offset))
                    caps.append(self.spec(HOW_NAME, n.rest, None, n.rest, line, col, n.rest, "match", scope, rng, False))
            elif name == "MatchClass":
                exprs.append(n.cls)
                stack.extend(reversed(list(n.patterns) + list(n.kwd_patterns)))
            elif name in ("MatchSequence", "MatchOr"):
                stack.extend(reversed(n.patterns))
            elif name == "MatchValue":
                exprs.append(n.value)
            # MatchSingleton: nothing
        caps.sort(key=lambda t: (t[T_LINE], t[T_COL]))
        return caps, exprs

    # -- reads -----------------------------------------------------------------------
    def names(self, exprs, scope, cond):
        """(names read, as an ordered dict; walrus target specs) of expressions.

        Comprehension variables are not reads (the first iterable is evaluated
        outside the comprehension); lambda bodies are evaluated later, in the
        lambda's own activation, and are recorded per line for it."""
        reads: dict = {}
        walrus = []
        empty = frozenset()
        stack = [(e, empty) for e in reversed(exprs) if e is not None]
        while stack:
            n, shadow = stack.pop()
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Load) and n.id not in shadow:
                    reads[n.id] = None
            elif isinstance(n, ast.NamedExpr):
                walrus.append(self.name_spec(n.target, "walrus", scope, None, cond))
                stack.append((n.value, shadow))
            elif isinstance(n, ast.Lambda):
                for d in n.args.defaults:
                    stack.append((d, shadow))
                for d in n.args.kw_defaults:
                    if d is not None:
                        stack.append((d, shadow))
                self.lambda_scope(n)
            elif isinstance(n, _COMPS):
                bound = set(shadow)
                for gen in n.generators:
                    for t in ast.walk(gen.target):
                        if isinstance(t, ast.Name):
                            bound.add(t.id)
                inner = frozenset(bound)
                children = []
                for i, gen in enumerate(n.generators):
                    children.append((gen.iter, shadow if i == 0 else inner))
                    children.extend((c, inner) for c in gen.ifs)
                    children.append((gen.target, inner))
                if isinstance(n, ast.DictComp):
                    children.append((n.key, inner))
                    children.append((n.value, inner))
                else:
                    children.append((n.elt, inner))
                stack.extend(reversed(children))
            else:
                for c in ast.iter_child_nodes(n):
                    if isinstance(c, ast.AST) and not isinstance(c, (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)):
                        stack.append((c, shadow))
        return reads, walrus

    def lambda_scope(self, node) -> None:
        key = (node.lineno, "<lambda>")
        params = self.params(node.args)
        self.table.params.setdefault(key, {}).update(params)
        reads, _ = self.names([node.body], _LAMBDA_SCOPE, False)
        old = self.table.lambdas.get(node.lineno, ())
        merged = dict.fromkeys(old)
        merged.update(reads)
        self.table.lambdas[node.lineno] = tuple(merged)


_LAMBDA_SCOPE = _Scope(True, frozenset())


_SIMPLE = tuple(
    t for t in (
        ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr, ast.Delete, ast.Pass,
        ast.Raise, ast.Assert, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, _TYPEALIAS,
    ) if t is not None
)


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def _call_args(value):
    """The arguments (positional and keyword) of a call statement (`await` too)."""
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return []
    return [a.value if isinstance(a, ast.Starred) else a for a in value.args] + [k.value for k in value.keywords]


def _mutated(value):
    """`name.method(…)` / `name.a.method(…)` as a statement: the root name,
    whose object the call may change in place (list.append, dict.update, f.write…)."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return _root_name(value.func.value)
    return None


def _index(sl):
    if _INDEX is not None and isinstance(sl, _INDEX):
        sl = sl.value  # type: ignore[attr-defined]
    if isinstance(sl, ast.Name):
        return ("n", sl.id)
    if isinstance(sl, ast.Constant) and type(sl.value) in _SIMPLE_CONST:
        return ("c", sl.value)
    if (
        isinstance(sl, ast.UnaryOp)
        and isinstance(sl.op, ast.USub)
        and isinstance(sl.operand, ast.Constant)
        and type(sl.operand.value) in (int, float)
    ):
        return ("c", -sl.operand.value)
    return None


def _globals_of(body) -> frozenset:
    """Names declared `global` in a function body (not in nested scopes)."""
    out = set()
    stack = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Global):
            out.update(n.names)
        elif isinstance(n, _DEFS) or isinstance(n, ast.Lambda):
            continue
        else:
            stack.extend(c for c in ast.iter_child_nodes(n) if isinstance(c, (ast.stmt, ast.excepthandler)) or type(c).__name__ == "match_case")
    return frozenset(out)
