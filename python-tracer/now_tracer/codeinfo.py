"""Qualified names and `def` lines of code objects, the same on Python 3.8–3.13.

`co_qualname` exists only on 3.11+, and `co_firstlineno` is the first
decorator's line, not the `def`'s. So each project file is parsed once with
`ast` into a map (line, co_name) -> (qualname, def line), keyed by both the
`def`/`class` line and the first decorator's line.

`_ast` and compile() rather than the `ast` module, which costs a few ms of every
start to import (fine mode's fineast.py still uses it).

List/set/dict comprehensions are not scopes here: 3.12 inlines them, and the
tracer skips their code objects on older versions, so `f.<locals>.<lambda>`
is reported for a lambda inside a comprehension in `f` on every version.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import _ast
import re
import sys

_HAS_QUALNAME = sys.version_info >= (3, 11)
_COMP_SCOPE = re.compile(r"<(?:listcomp|setcomp|dictcomp)>\.(?:<locals>\.)?")
_FUNCS = (_ast.FunctionDef, _ast.AsyncFunctionDef)
_AST = _ast.AST


class CodeInfo:
    def __init__(self, read_source) -> None:
        # read_source(filename) -> bytes or None; must not be a recorded open.
        self._read = read_source
        self._files: dict = {}

    def describe(self, code, filename: str):
        """(qualname, line of the def/class keyword) for a code object."""
        name = code.co_name
        if name == "<module>":
            return "<module>", 1
        first = code.co_firstlineno
        table = self._table(filename)
        hit = table.get((first, name)) if table else None
        if _HAS_QUALNAME:
            qual = code.co_qualname
            if "<" in qual:
                qual = _COMP_SCOPE.sub("", qual)
            return qual, (hit[1] if hit else first)
        if hit:
            return hit
        return name, first

    def _table(self, filename: str):
        table = self._files.get(filename, False)
        if table is False:
            table = None
            try:
                source = self._read(filename)
                if source is not None:
                    table = _build(compile(source, filename, "exec", _ast.PyCF_ONLY_AST, dont_inherit=True))
            except Exception:  # SyntaxError, ValueError, RecursionError…
                table = None
            self._files[filename] = table
        return table


def _build(tree) -> dict:
    table: dict = {}
    # Iterative walk: the tracer must not recurse (deeply nested sources, and
    # it may run at the bottom of a 10 000-frame recursion).
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in _child_nodes(node):
            if isinstance(child, _FUNCS) or isinstance(child, _ast.ClassDef):
                qual = prefix + child.name
                line = child.lineno
                entry = (qual, line)
                table.setdefault((line, child.name), entry)
                if child.decorator_list:
                    first = min([d.lineno for d in child.decorator_list] + [line])
                    table.setdefault((first, child.name), entry)
                inner = qual + (".<locals>." if not isinstance(child, _ast.ClassDef) else ".")
                # Decorators and defaults are evaluated in the enclosing scope.
                for d in child.decorator_list:
                    stack.append((d, prefix))
                args = getattr(child, "args", None)
                if args is not None:
                    stack.append((args, prefix))
                for b in getattr(child, "bases", ()):
                    stack.append((b, prefix))
                for stmt in child.body:
                    stack.append((_Body(stmt), inner))
            elif isinstance(child, _ast.Lambda):
                qual = prefix + "<lambda>"
                table.setdefault((child.lineno, "<lambda>"), (qual, child.lineno))
                stack.append((child.args, prefix))
                stack.append((_Body(child.body), qual + ".<locals>."))
            elif isinstance(child, _ast.GeneratorExp):
                qual = prefix + "<genexpr>"
                table.setdefault((child.lineno, "<genexpr>"), (qual, child.lineno))
                stack.append((child, qual + ".<locals>."))
            else:
                stack.append((child, prefix))
    return table


def _child_nodes(node):
    """ast.iter_child_nodes: the nodes in the node's fields, in order."""
    for name in node._fields:
        field = getattr(node, name, None)
        if isinstance(field, _AST):
            yield field
        elif isinstance(field, list):
            for item in field:
                if isinstance(item, _AST):
                    yield item


class _Body(_AST):
    """Wraps one node so the walk visits the node itself, not only its children."""

    _fields = ("node",)

    def __init__(self, node) -> None:
        super().__init__()
        self.node = node
