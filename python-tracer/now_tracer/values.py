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
import sys
import time
import types

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


# What the tracer may read of the script's objects: the C-level accessors of
# `type`, taken once. `tp.__mro__` or `tp.__dict__` would go through the
# metaclass (a user `__getattribute__`), `isinstance` through `obj.__class__`
# (a user property or `__getattr__`); these descriptors do neither.
_mro_of = type.__dict__["__mro__"].__get__
_dict_of = type.__dict__["__dict__"].__get__        # the class's own namespace (a mappingproxy)
_flags_of = type.__dict__["__flags__"].__get__
_qualname_of = type.__dict__["__qualname__"].__get__
_name_of = type.__dict__["__name__"].__get__
_raw_module_of = type.__dict__["__module__"].__get__


def _module_of(tp):
    """A class's `__module__` if it is a str, else "?": a class statement may
    set any object there, whose __eq__/__hash__/__str__ are the script's."""
    mod = _raw_module_of(tp)
    return mod if type(mod) is str else "?"


_type_repr = type.__repr__
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class statement (or type()); else defined in C
_IMMUTABLE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE (3.10+): never set on a class statement's type
_GETSET = type(type.__dict__["__dict__"])
_MEMBER = type(types.FunctionType.__dict__["__globals__"])  # a __slots__ entry
_WRAPPER = type(object.__dict__["__repr__"])                # a C slot's method
_FUNCTION = types.FunctionType
_METHOD = types.MethodType
_MODULE = types.ModuleType
_module_dict = _MODULE.__dict__["__dict__"].__get__
_method_func = _METHOD.__dict__["__func__"].__get__
_method_self = _METHOD.__dict__["__self__"].__get__
_exc_args = BaseException.__dict__["args"].__get__
_slice_parts = (slice.__dict__["start"].__get__, slice.__dict__["stop"].__get__, slice.__dict__["step"].__get__)


def _own(klass, name):
    """`klass`'s own attribute `name` (not inherited), or None; no user code."""
    return _dict_of(klass).get(name)


def _find(mro, name):
    """(class, attribute) of the first class in `mro` defining `name`."""
    for klass in mro:
        attr = _dict_of(klass).get(name)
        if attr is not None:
            return klass, attr
    return None, None


def _is_c(klass) -> bool:
    return not (_flags_of(klass) & _HEAPTYPE)


def _user_class(klass) -> bool:
    """Made by a class statement (or type()): a heap type that is not immutable.
    A C extension's heap types (3.12's _io, 3.13's _struct) are immutable
    (Py_TPFLAGS_IMMUTABLETYPE, 3.10+; the bit is unused before)."""
    return _flags_of(klass) & (_HEAPTYPE | _IMMUTABLE) == _HEAPTYPE


def _made_by_new(mro) -> bool:
    """Whether an instance is complete once `__new__` returned: no class but
    object defines `__init__`. A C type that also has its own init may be
    seen between the two, where its C getters and repr read uninitialised
    fields (struct.Struct.__new__(struct.Struct): repr segfaults on 3.13)."""
    klass, _ = _find(mro, "__init__")
    return klass is None or klass is object


def _has(mro, base) -> bool:
    # identity, not `in`: `in` compares with ==, which a metaclass may define
    for klass in mro:
        if klass is base:
            return True
    return False


def type_name(tp: type) -> str:
    """`module.QualName`, or the bare name for builtins and `__main__` (as
    tracebacks show), read without running a metaclass's code."""
    try:
        qual = _qualname_of(tp)
        mod = _raw_module_of(tp)
    except Exception:  # not a type
        return "?"
    if type(qual) is not str:
        return "?"
    if type(mod) is not str or mod == "builtins" or mod == "__main__":
        return qual
    return mod + "." + qual


def _plain(value, depth: int) -> bool:
    """A built-in scalar, or a tuple of them (SyntaxError's `(msg, (file, line,
    col, text, …))`): what a C `__str__` formats without reaching the script's code."""
    tp = type(value)
    if tp in _SCALARS:
        return True
    if tp is tuple and depth < 2:
        for item in value:
            if not _plain(item, depth + 1):
                return False
        return True
    return False


def _allowed(tp: type, allow) -> bool:
    """Whether the project allows this type's own `__repr__`: named as
    `module.QualName` (`__main__.Money` for the script's own) or as shown (`Money`)."""
    name = type_name(tp)
    if name in allow:
        return True
    try:
        return "%s.%s" % (_module_of(tp), _qualname_of(tp)) in allow
    except Exception:
        return False


class Reprs:
    """Renders values without running the script's code: built-in types by the
    tracer itself, the script's objects from their fields (see `_render`).
    `allow` names types (`module.QualName`) whose own `__repr__` may be
    called (the project's `repr_types`); those, and C types' reprs, are timed,
    and a type too slow or too big is not asked again."""

    def __init__(self, allow=None) -> None:
        self.json = self._build_json()
        # type -> placeholder text, for types whose repr was slow, huge or over budget
        self.opaque: dict = {}
        self._spent: dict = {}
        self.allow = frozenset(ALLOW_REPR if allow is None else allow)

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
        try:
            return _cut(self._render(obj, 0))
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # a bug here must not break the script
            return "<repr failed: %s>" % type(e).__name__

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
        """str(exc) when only C code runs for it (a built-in exception's
        `__str__` with arguments of built-in scalar types); else the arguments
        as the tracer renders them: a user `__str__` is not called."""
        try:
            tp = type(exc)
            args = _exc_args(exc)
            klass, _ = _find(_mro_of(tp), "__str__")
            if klass is not None and _is_c(klass):
                for a in args:
                    if not _plain(a, 0):
                        break
                else:
                    text = str(exc)
                    if type(text) is str:
                        return _cut(text)
            if len(args) == 1:
                a = args[0]
                return _cut(a if type(a) is str else self._render(a, 1))
            if not args:
                return ""
            return _cut(self._render(args, 0))
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # a broken __str__ must not break the tracer
            return "<str failed: %s>" % type(e).__name__

    # -- pieces ---------------------------------------------------------------
    @staticmethod
    def _int(obj: int) -> str:
        bits = obj.bit_length()
        if bits <= 640:  # well under CPython's int->str digit limit, and fast
            return _cut(int.__repr__(obj))
        return "<int %s%d bits>" % ("-" if obj < 0 else "", bits)

    @staticmethod
    def _str(obj) -> str:
        if str.__len__(obj) > LIMIT:
            obj = str.__getitem__(obj, slice(0, LIMIT))
        return _cut(str.__repr__(obj))

    @staticmethod
    def _bytes(obj, base) -> str:
        if base.__len__(obj) > LIMIT:
            obj = base.__getitem__(obj, slice(0, LIMIT))
        return _cut(base.__repr__(obj))

    def _render(self, obj: object, depth: int) -> str:
        tp = type(obj)
        if tp is int or tp is bool or tp is float or obj is None:
            return self._int(obj) if tp is int else repr(obj)
        if tp is str:
            return self._str(obj)
        if tp is bytes or tp is bytearray:
            return self._bytes(obj, tp)
        if tp is complex or tp is range:
            return repr(obj)
        if tp is _FUNCTION:  # `<function f at 0x…>`: C, names only
            return _function_repr(obj)
        opaque = self.opaque.get(id(tp))
        if opaque is not None and opaque[0] is tp:
            return opaque[1]
        mro = _mro_of(tp)
        if _has(mro, type):  # a class: type.__repr__ reads its own dict, never the metaclass's code
            return _type_repr(obj)
        klass, meth = _find(mro, "__repr__")
        if self.allow and _allowed(tp, self.allow):
            return self._generic(obj, tp)
        # a slot wrapper is C code (also in the heap types C extensions make,
        # like 3.12's _io); a function is Python's
        user_repr = type(meth) is not _WRAPPER
        for base in _BASES:
            if _has(mro, base):
                if base is tuple and _own_fields(mro) is not None:
                    return self._namedtuple(obj, tp, mro, depth)
                return self._container(obj, tp, base, depth, klass is not base)
        if _ENUM is not None and _has(mro, _ENUM):
            return self._enum(obj, tp, depth)
        for base in _SCALAR_BASES:
            if _has(mro, base):
                text = self._str(obj) if base is str else self._bytes(obj, base) if base in _BYTES else base.__repr__(obj)
                if klass is base or klass is object:
                    return text
                if not user_repr and klass is not object:  # e.g. numpy.float64: a C repr
                    return self._generic(obj, tp)
                return _qualname_of(tp) + "(" + text + ")"
        if _has(mro, BaseException):
            return self._exception(obj, tp, depth)
        special = _SPECIAL.get(_qualname_of(tp) if _module_of(tp) == "builtins" else None)
        if special is not None:
            return special(self, obj, tp, depth)
        for k in mro:
            renderer = _LIBRARY.get((_module_of(k), _qualname_of(k)))
            if renderer is not None:
                text = renderer(self, obj, tp, depth)
                if text is not None:
                    return text
                break
        if klass is object and _is_c(tp):
            return object.__repr__(obj)
        if not user_repr and klass is not object and not _user_class(tp) and (_made_by_new(mro) or _qualified_key(tp) in _GUARDED_C_REPRS):
            # A C type's own repr (re.Pattern, datetime, numpy scalars…) is the
            # library's code, not the script's — unless it shows other objects'
            # reprs, which might be the script's.
            if _qualified_key(klass) in _NESTING_C_REPRS:
                return "<%s object>" % _qualified(tp)
            return self._generic(obj, tp)
        # The script's class (even one inheriting a C repr: its `self` reaches
        # the tracer before the C base's __init__ ran — struct.Struct's repr
        # then reads a NULL, a segfault on 3.13), or a C type with an __init__
        # of its own (`T.__new__(T)` makes one uninitialised): its fields only.
        return self._fields(obj, tp, mro, depth)

    def _container(self, obj, tp, base, depth: int, own_repr: bool) -> str:
        n = base.__len__(obj)
        if n == 0:
            return self._wrap(_EMPTY_INNER[base], tp, base, own_repr)
        if depth >= MAX_DEPTH:
            return self._wrap(_DEEP[base], tp, base, own_repr)
        items = self._sample(obj, base, n)
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

    # -- the script's objects ---------------------------------------------------
    def _namedtuple(self, obj, tp, mro, depth: int) -> str:
        fields = _own_fields(mro)
        n = tuple.__len__(obj)
        if depth >= MAX_DEPTH:
            return _qualname_of(tp) + "(…)"
        parts = []
        for i in range(min(n, len(fields), HEAD + TAIL)):
            parts.append(fields[i] + "=" + self._render(tuple.__getitem__(obj, i), depth + 1))
        if n > HEAD + TAIL:
            parts.append(ELLIPSIS)
        return _cut(_qualname_of(tp) + "(" + ", ".join(parts) + ")")

    def _enum(self, obj, tp, depth: int) -> str:
        d = _instance_dict(obj, _mro_of(tp))
        member = d.get("_name_") if d is not None else None
        value = d.get("_value_", _GAP) if d is not None else _GAP
        if type(member) is not str:
            member = str(member) if member is None else "?"  # a Flag combination has no name
        text = "<" + _qualname_of(tp) + "." + member
        if value is not _GAP:
            text += ": " + self._render(value, depth + 1)
        return text + ">"

    def _exception(self, obj, tp, depth: int) -> str:
        args = _exc_args(obj)
        if depth >= MAX_DEPTH:
            return _qualname_of(tp) + "(…)"
        parts = [self._render(a, depth + 1) for a in _islice(args, HEAD + TAIL)]
        if len(args) > HEAD + TAIL:
            parts.append(ELLIPSIS)
        return _qualname_of(tp) + "(" + ", ".join(parts) + ")"

    def _fields(self, obj, tp, mro, depth: int) -> str:
        """`Point(x=1, y=2)` for a dataclass (its own repr's form), else
        `<Name a=1, b=2>`: the instance's fields, read from its dict and slots
        by the C descriptors, never through getattr."""
        dc = _dataclass_fields(mro)
        if dc is not None:
            head, sep, tail = _qualname_of(tp) + "(", "=", ")"
            names = dc
        else:
            # the default repr without its address (not stable between runs)
            head, sep, tail = "<" + _qualified(tp) + " object", "=", ">"
            names = None
        if depth >= MAX_DEPTH:
            return head + ("…" if dc is not None else " …") + tail
        pairs = _field_values(obj, tp, mro, names)
        parts = []
        budget = LIMIT
        for k, v in pairs:
            if k is _GAP:
                parts.append(ELLIPSIS)
                break
            text = k + sep + self._render(v, depth + 1)
            parts.append(text)
            budget -= len(text) + 2
            if budget < 0:
                break
        body = ", ".join(parts)
        if dc is not None:
            return _cut(head + body + tail)
        return _cut(head + (" " + body if body else "") + tail)

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
        # like the base; one with its own repr is shown as `Name(…)`, its repr
        # not called.
        name = _name_of(tp) if _is_c(tp) else _qualname_of(tp)
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
        # Always through the base type's C methods: a subclass's own
        # __iter__/__getitem__/__len__ is not run.
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
                return list(base.__iter__(obj))
            return list(_islice(base.__iter__(obj), HEAD + TAIL)) + [_GAP]
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
            total = self._spent.get(id(tp), 0.0) + spent
            self._spent[id(tp)] = total
            if total > TYPE_BUDGET:
                self._make_opaque(tp)
        return _cut(text)

    def _make_opaque(self, tp) -> None:
        # keyed by id: a metaclass's __hash__ is the script's code; the type is
        # kept in the entry so that the id cannot be reused
        self.opaque[id(tp)] = (tp, "<%s object>" % _qualified(tp))


def _qualified(tp) -> str:
    name = type_name(tp)
    mod = _module_of(tp)
    if mod == "__main__":
        return "__main__." + name
    return name


def _qualified_key(klass):
    return (_module_of(klass), _qualname_of(klass))


def _function_repr(fn) -> str:
    return _FUNCTION.__repr__(fn)


def _own_fields(mro):
    """A namedtuple's `_fields` (its class's own), or None."""
    fields = _own(mro[0], "_fields")
    if type(fields) is tuple:
        for f in fields:
            if type(f) is not str:
                return None
        return fields
    return None


def _dataclass_fields(mro):
    """Names of a dataclass's repr fields, or None."""
    dc_mod = sys.modules.get("dataclasses")
    if dc_mod is None:
        return None
    _, fields = _find(mro, "__dataclass_fields__")
    if type(fields) is not dict:
        return None
    field_cls = dc_mod.__dict__.get("Field")
    plain = dc_mod.__dict__.get("_FIELD")
    names = []
    for name, f in dict.items(fields):
        if type(f) is not field_cls or type(name) is not str:
            return None
        if f._field_type is plain and f.repr:
            names.append(name)
    return names


def _instance_dict(obj, mro):
    """The instance's own dict, or None — through the C getter CPython made
    for it (`subtype_dict`), found in the classes' own namespaces, so that a
    class defining `__dict__` as a property is not asked."""
    for klass in mro:
        attr = _dict_of(klass).get("__dict__")
        if type(attr) is _GETSET:
            try:
                d = attr.__get__(obj)
            except Exception:
                return None
            return d if type(d) is dict else None
    if _has(mro, _MODULE):
        return _module_dict(obj)
    return None


def _slot_values(obj, tp, mro):
    for klass in mro:
        cd = _dict_of(klass)
        if cd.get("__slots__") is None:
            continue
        for name, attr in _items(cd):
            if type(attr) is _MEMBER:
                try:
                    yield name, attr.__get__(obj, tp)
                except AttributeError:  # unset slot
                    pass


def _items(proxy):
    # a class namespace is a dict; mappingproxy.items() calls dict.items (C)
    return proxy.items()


def _field_values(obj, tp, mro, names):
    """(name, value) pairs, at most HEAD + TAIL then (_GAP, None)."""
    out = []
    d = _instance_dict(obj, mro)
    if names is not None:  # a dataclass: its fields, in order
        slots = None
        for name in names:
            if len(out) >= HEAD + TAIL:
                out.append((_GAP, None))
                break
            if d is not None and dict.__contains__(d, name):
                out.append((name, dict.__getitem__(d, name)))
                continue
            if slots is None:
                slots = dict(_slot_values(obj, tp, mro))
            if name in slots:
                out.append((name, slots[name]))
        return out
    if d is not None:
        for k, v in dict.items(d):
            if len(out) >= HEAD + TAIL:
                out.append((_GAP, None))
                return out
            out.append((k if type(k) is str else "?", v))
    for k, v in _slot_values(obj, tp, mro):
        if len(out) >= HEAD + TAIL:
            out.append((_GAP, None))
            return out
        out.append((k, v))
    return out


# -- built-in types whose C repr shows other objects' reprs -----------------------
def _render_method(self, obj, tp, depth):
    fn = _method_func(obj)
    who = _method_self(obj)
    try:
        qual = _FUNCTION.__dict__["__qualname__"].__get__(fn) if type(fn) is _FUNCTION else type_name(type(fn))
    except Exception:
        qual = "?"
    if depth >= MAX_DEPTH:
        return "<bound method %s>" % qual
    return "<bound method %s of %s>" % (qual, self._render(who, depth + 1))


def _render_module(self, obj, tp, depth):
    d = _module_dict(obj)
    name = d.get("__name__")
    path = d.get("__file__")
    text = "<module " + (self._str(name) if type(name) is str else "?")
    if type(path) is str:
        text += " from " + self._str(path)
    return text + ">"


def _render_slice(self, obj, tp, depth):
    return "slice(" + ", ".join(self._render(get(obj), depth + 1) for get in _slice_parts) + ")"


def _render_view(self, obj, tp, depth):
    # dict_keys([…]) etc.: iterating a view is C; its items are rendered by the rules
    items = list(_islice(iter(obj), HEAD + TAIL + 1))
    parts = [self._render(x, depth + 1) for x in items[: HEAD + TAIL]]
    if len(items) > HEAD + TAIL:
        parts.append(ELLIPSIS)
    return _name_of(tp) + "([" + ", ".join(parts) + "])"


def _render_namespace(self, obj, tp, depth):
    d = _instance_dict(obj, _mro_of(tp))
    parts = []
    for k, v in _islice(dict.items(d or {}), HEAD + TAIL):
        parts.append(str(k) + "=" + self._render(v, depth + 1))
    if d is not None and len(d) > HEAD + TAIL:
        parts.append(ELLIPSIS)
    return "namespace(" + ", ".join(parts) + ")"


_SPECIAL = {
    "method": _render_method,
    "module": _render_module,
    "slice": _render_slice,
    "dict_keys": _render_view,
    "dict_values": _render_view,
    "SimpleNamespace": _render_namespace,
}

# C types whose repr includes the repr (or a getattr) of an object they hold,
# which may be the script's: shown by name only.
_NESTING_C_REPRS = frozenset((
    ("builtins", "classmethod"), ("builtins", "staticmethod"), ("builtins", "mappingproxy"),
    ("builtins", "dict_items"), ("builtins", "cell"), ("functools", "partial"),
    ("itertools", "repeat"), ("itertools", "count"), ("operator", "itemgetter"),
    ("operator", "attrgetter"), ("operator", "methodcaller"), ("datetime", "datetime"),
    ("datetime", "time"), ("weakref", "ReferenceType"), ("weakref", "ProxyType"),
    ("weakref", "CallableProxyType"), ("types", "GenericAlias"), ("types", "SimpleNamespace"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
))


# C types with an __init__ of their own whose repr checks that it ran (the io
# stack's CHECK_INITIALIZED): their repr says what file a function was given.
_GUARDED_C_REPRS = frozenset((
    ("_io", "FileIO"), ("_io", "BufferedReader"), ("_io", "BufferedWriter"),
    ("_io", "BufferedRandom"), ("_io", "TextIOWrapper"),
))


# -- libraries: numpy, pandas, sympy (detected by name; never imported here) -------
def _render_ndarray(self, obj, tp, depth):
    nd = None
    for k in _mro_of(tp):
        if _qualified_key(k) == ("numpy", "ndarray"):
            nd = k
    if nd is None:
        return None
    shape = _dict_of(nd)["shape"].__get__(obj)
    dtype = _dict_of(nd)["dtype"].__get__(obj)
    size = _dict_of(nd)["size"].__get__(obj)
    # a plain ndarray view: no subclass __array_finalize__/__getitem__ runs
    base = nd.view(obj, nd)
    flat = _dict_of(nd)["flat"].__get__(base)
    if size <= HEAD + TAIL:
        items = flat[0:size].tolist()
    else:
        items = flat[0:HEAD].tolist() + [_GAP] + flat[size - TAIL:size].tolist()
    parts = [ELLIPSIS if x is _GAP else self._render(x, depth + 1) for x in items]
    name = "array" if tp is nd else _name_of(tp)
    try:
        dname = str(dtype)  # numpy's code; a dtype is never the script's class
    except Exception:
        dname = "?"
    return _cut("%s([%s], shape=%s, dtype=%s)" % (name, ", ".join(parts), self._render(shape, depth + 1), dname))


def _render_frame(self, obj, tp, depth):
    if tp is not _mro_of(tp)[0] or _qualname_of(tp) != "DataFrame":
        return None
    shape = obj.shape  # pandas' own code, for an exact DataFrame only
    cols = list(_islice(obj.columns, HEAD + TAIL + 1))
    parts = [self._render(c, depth + 1) for c in cols[: HEAD + TAIL]]
    if len(cols) > HEAD + TAIL:
        parts.append(ELLIPSIS)
    return _cut("<DataFrame shape=%s columns=[%s]>" % (self._render(shape, depth + 1), ", ".join(parts)))


def _render_sympy(self, obj, tp, depth):
    mro = _mro_of(tp)
    slots = dict(_slot_values(obj, tp, mro))
    name = _qualname_of(tp)
    args = slots.get("_args")
    if type(args) is tuple and args:
        if depth >= MAX_DEPTH:
            return name + "(…)"
        return _cut(name + "(" + ", ".join(self._render(a, depth + 1) for a in args[: HEAD + TAIL]) + (", …" if len(args) > HEAD + TAIL else "") + ")")
    if type(slots.get("name")) is str:
        return name + "(" + self._str(slots["name"]) + ")"
    if type(slots.get("p")) is int:
        q = slots.get("q")
        return name + "(%d%s)" % (slots["p"], ", %d" % q if type(q) is int and q != 1 else "")
    # other atoms (Permutation…): their instance dict, not Basic's slots (hash
    # cache, assumptions) — and never their repr, which fills caches
    d = _instance_dict(obj, mro) or {}
    parts = ["%s=%s" % (k, self._render(v, depth + 1)) for k, v in _islice(dict.items(d), HEAD + TAIL) if type(k) is str]
    return _cut(name + "(" + ", ".join(parts) + ")")


def _render_thread(self, obj, tp, depth):
    # its fields hold the thread's ident and handle: not the same twice
    d = _instance_dict(obj, _mro_of(tp)) or {}
    name = d.get("_name")
    return "<%s object name=%s>" % (_qualified(tp), self._str(name) if type(name) is str else "?")


_LIBRARY = {
    ("threading", "Thread"): _render_thread,
    ("numpy", "ndarray"): _render_ndarray,
    ("pandas.core.frame", "DataFrame"): _render_frame,
    ("sympy.core.basic", "Basic"): _render_sympy,
}

_ENUM = getattr(sys.modules.get("enum"), "Enum", None)
# names (`module.QualName`, as type_name gives) whose own __repr__ may be
# called: the project's `repr_types`, set by the command line
ALLOW_REPR: frozenset = frozenset()


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
_SCALAR_BASES = (int, float, complex, str, bytes, bytearray)
_BYTES = (bytes, bytearray)
_EMPTY_INNER = {list: "[]", tuple: "()", dict: "{}", set: "", frozenset: "", _deque: "[]"}
