"""Safe, bounded reprs of the script's values (arguments, return values, yields).

Every value the tracer records goes through `safe_repr`. It must never raise,
never take long and never produce more than LIMIT characters, whatever the
user's `__repr__` does: a tracer that breaks or stalls the script is worse than
one that records less.
"""

from __future__ import annotations

import collections
import itertools
import json
import time

LIMIT = 200          # characters in one rendered value
MAX_DEPTH = 3        # nesting levels shown; deeper containers become `[…]`
HEAD, TAIL = 3, 2    # items shown from each end of a sampled container
SLOW_SECONDS = 0.010  # one repr slower than this: the type is not asked again
HUGE_CHARS = 10000   # one repr longer than this: the type is not asked again
TYPE_BUDGET = 0.5    # seconds of repr time per type over the whole trial
ELLIPSIS = "\u2026"

_perf = time.perf_counter
_encode = json.encoder.encode_basestring  # type: ignore[attr-defined]
_deque = collections.deque
_islice = itertools.islice


def _cut(text: str, limit: int = LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def type_name(tp: type) -> str:
    """`module.QualName`, or the bare name for builtins (like tracebacks show)."""
    try:
        mod = tp.__module__
        qual = tp.__qualname__
    except Exception:  # exotic metaclasses
        return "?"
    if not isinstance(qual, str):
        qual = getattr(tp, "__name__", "?")
    if mod in ("builtins", "__main__", None) or not isinstance(mod, str):
        return qual
    return mod + "." + qual


class Reprs:
    """Renders values; remembers which types are too slow or too big to ask."""

    def __init__(self) -> None:
        self.json = self._build_json()
        # type -> placeholder text, for types whose repr was slow, huge or over budget
        self.opaque: dict = {}
        self._spent: dict = {}
        self._seq_reprs = {
            list: list.__repr__,
            tuple: tuple.__repr__,
            dict: dict.__repr__,
            set: set.__repr__,
            frozenset: frozenset.__repr__,
            _deque: _deque.__repr__,
        }

    # The hot path: most arguments are small ints, strings, None or bools.
    def __call__(self, obj: object) -> str:
        tp = type(obj)
        if tp is int:
            if -(10 ** 18) < obj < 10 ** 18:
                return repr(obj)
            return self._int(obj)
        if tp is str:
            if len(obj) <= 60:
                r = repr(obj)
                return r if len(r) <= LIMIT else _cut(r)
            return self._str(obj)
        if obj is None or tp is bool or tp is float:
            return repr(obj)
        return self._render(obj, 0)

    def _build_json(self):
        render = self.__call__
        encode = _encode

        def json(obj):
            """safe repr as a JSON string literal (quotes included): the hot path
            of every call/return event, with the common types special-cased."""
            tp = type(obj)
            if tp is int:
                if -1000000000000000000 < obj < 1000000000000000000:
                    return '"%d"' % obj
            elif obj is None:
                return '"None"'
            elif tp is bool:
                return '"True"' if obj else '"False"'
            elif tp is float:
                return '"' + repr(obj) + '"'
            return encode(render(obj))

        return json

    def exc_message(self, exc: BaseException) -> str:
        try:
            text = str(exc)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # a broken __str__ must not break the tracer
            return "<str failed: %s>" % type(e).__name__
        if not isinstance(text, str):
            return "<str failed: TypeError>"
        return _cut(text)

    # -- pieces ---------------------------------------------------------------
    @staticmethod
    def _int(obj: int) -> str:
        bits = obj.bit_length()
        if bits <= 640:  # well under CPython's int->str digit limit, and fast
            return _cut(repr(obj))
        return "<int %s%d bits>" % ("-" if obj < 0 else "", bits)

    @staticmethod
    def _str(obj) -> str:
        if len(obj) > LIMIT:
            return _cut(repr(obj[:LIMIT]), LIMIT)
        return _cut(repr(obj))

    def _render(self, obj: object, depth: int) -> str:
        tp = type(obj)
        if tp is int or tp is bool or tp is float or obj is None:
            return self._int(obj) if tp is int else repr(obj)
        if tp is str or tp is bytes or tp is bytearray:
            return self._str(obj)
        opaque = self.opaque.get(tp)
        if opaque is not None:
            return opaque
        for base in _BASES:
            if issubclass(tp, base):
                return self._container(obj, tp, base, depth)
        return self._generic(obj, tp)

    def _container(self, obj, tp, base, depth: int) -> str:
        try:
            n = len(obj)
        except Exception:
            return self._generic(obj, tp)
        own_repr = getattr(tp, "__repr__", None) is not self._seq_reprs[base]
        if own_repr and n <= HEAD + TAIL:
            # Small namedtuple, OrderedDict, Counter…: their own repr is the most
            # faithful and cheap enough (and still guarded).
            return self._generic(obj, tp)
        if n == 0:
            return self._wrap(_EMPTY_INNER[base], tp, base, own_repr)
        if depth >= MAX_DEPTH:
            return self._wrap(_DEEP[base], tp, base, own_repr)
        try:
            items = self._sample(obj, base, n)
        except Exception:
            return self._generic(obj, tp)
        return self._assemble(items, tp, base, n, depth, own_repr)

    def _assemble(self, items, tp, base, n: int, depth: int, own_repr: bool) -> str:
        parts = []
        budget = LIMIT
        for item in items:
            if item is _GAP:
                parts.append(ELLIPSIS)
                continue
            if base is dict:
                k, v = item
                text = self._render(k, depth + 1) + ": " + self._render(v, depth + 1)
            else:
                text = self._render(item, depth + 1)
            parts.append(text)
            budget -= len(text) + 2
            if budget < 0:
                break
        body = ", ".join(parts)
        if base is tuple and n == 1:
            body += ","
        text = self._wrap(_BRACKETS[base] % body, tp, base, own_repr)
        if n > HEAD + TAIL:
            text += " (len=%d)" % n
        return _cut(text)

    # -- deferred rendering (fine mode's loop rings) ----------------------------
    def snapshot(self, obj):
        """What the repr of `obj` needs, taken now, to be rendered later exactly
        as `self(obj)` would render it now — or None. Only for exact list,
        tuple, dict, set and frozenset whose sampled items are immutable
        scalars (or tuples of them): the sample is all the repr looks at."""
        tp = type(obj)
        if tp not in _SNAP_TYPES:
            return None
        n = len(obj)
        if n == 0:
            return None
        try:
            items = self._sample(obj, tp, n)
        except Exception:
            return None
        for item in items:
            if item is _GAP:
                continue
            if tp is dict:
                k, v = item
                if not (_frozen(k) and _frozen(v)):
                    return None
            elif not _frozen(item):
                return None
        return (tp, n, items)

    def json_snapshot(self, snap) -> str:
        tp, n, items = snap
        return _encode(self._assemble(items, tp, tp, n, 0, False))

    @staticmethod
    def _wrap(inner: str, tp, base, own_repr: bool) -> str:
        # Mirrors the builtin reprs: `deque([…])`, `set()`, `frozenset({…})`,
        # `MySet({…})`; a list/tuple/dict subclass keeping the base repr looks
        # like the base; one with its own repr is shown as `Name(…)`.
        name = getattr(tp, "__name__", "?")
        if base is _deque:
            return name + "(" + inner + ")"
        if base is set or base is frozenset:
            if tp is set and inner:
                return inner
            return name + "(" + inner + ")"
        if own_repr:
            return name + "(" + inner + ")"
        return inner

    @staticmethod
    def _sample(obj, base, n: int):
        if base is dict:
            if n <= HEAD + TAIL:
                return list(dict.items(obj))
            head = list(_islice(dict.items(obj), HEAD))
            tail = list(_islice(reversed(dict.items(obj)), TAIL))
            tail.reverse()
            return head + [_GAP] + tail
        if base is set or base is frozenset:
            # Sets cannot be walked from the end without a full pass.
            if n <= HEAD + TAIL:
                return list(obj.__iter__())
            return list(_islice(obj.__iter__(), HEAD + TAIL)) + [_GAP]
        if base is _deque:
            if n <= HEAD + TAIL:
                return [obj[i] for i in range(n)]
            return [obj[0], obj[1], obj[2], _GAP, obj[-2], obj[-1]]
        # list / tuple: index through the base type so overridden __getitem__ is not run
        getitem = base.__getitem__
        if n <= HEAD + TAIL:
            return [getitem(obj, i) for i in range(n)]
        return [getitem(obj, i) for i in range(HEAD)] + [_GAP] + [getitem(obj, i) for i in range(n - TAIL, n)]

    def _generic(self, obj, tp) -> str:
        t0 = _perf()
        try:
            text = repr(obj)
            if not isinstance(text, str):
                raise TypeError("__repr__ returned non-string")
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit, GeneratorExit… from a __repr__ too
            return "<repr failed: %s>" % type(e).__name__
        finally:
            spent = _perf() - t0
        if spent > SLOW_SECONDS or len(text) > HUGE_CHARS:
            self._make_opaque(tp)
        elif spent > 0.0005:
            total = self._spent.get(tp, 0.0) + spent
            self._spent[tp] = total
            if total > TYPE_BUDGET:
                self._make_opaque(tp)
        return _cut(text)

    def _make_opaque(self, tp) -> None:
        try:
            self.opaque[tp] = "<%s object>" % _qualified(tp)
        except Exception:  # unhashable metaclass instances
            pass


def _qualified(tp) -> str:
    mod = getattr(tp, "__module__", None)
    qual = getattr(tp, "__qualname__", None) or getattr(tp, "__name__", "?")
    if isinstance(mod, str) and mod != "builtins":
        return mod + "." + str(qual)
    return str(qual)


class _Gap:
    pass


_GAP = _Gap()
_SNAP_TYPES = frozenset((list, tuple, dict, set, frozenset))
_SCALARS = frozenset((str, int, float, bool, type(None), bytes, complex))


def _frozen(item) -> bool:
    """Immutable: a scalar, or a short tuple of scalars."""
    tp = type(item)
    if tp in _SCALARS:
        return True
    if tp is tuple and len(item) <= HEAD + TAIL:
        for x in item:
            if type(x) not in _SCALARS:
                return False
        return True
    return False
_BRACKETS = {list: "[%s]", tuple: "(%s)", dict: "{%s}", set: "{%s}", frozenset: "{%s}", _deque: "[%s]"}
_DEEP = {list: "[…]", tuple: "(…)", dict: "{…}", set: "{…}", frozenset: "{…}", _deque: "[…]"}
_BASES = (list, tuple, dict, set, frozenset, _deque)
_EMPTY_INNER = {list: "[]", tuple: "()", dict: "{}", set: "", frozenset: "", _deque: "[]"}
