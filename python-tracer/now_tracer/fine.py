"""Dynamic part of fine-grained tracing (granularity "fine", `--fine`).

The core (core_settrace.py or core_sysmon.py, their `_build_fine`) calls, for
project frames:

    enter(frame, act, caller_state, code) -> state   on a new activation
    wants_lines(code) -> bool                          (sysmon: once per code object)
    line handling (in the core's line callback), which
        calls close(state, frame, group, new_line) for the statement that just ended
    returned(state, frame, value) / ended(state, frame)  a real return / a raise
    yielded(state)                                     a generator suspends
    note_call(state, act) / note_file(state, access)  children (and generators
                                                       resumed) and file accesses
    finish()                                           at the end of the trial

A statement's values are read when it is *closed*: at the next `line` event of
its frame (or at `return`), from frame.f_locals / f_globals. Its deps are the
latest value ids of the names it reads (a per-activation map name -> latest
value, falling back to a per-module-globals map), resolved before its own
targets update that map. See README.md "Fine mode" for the whole design.

Loop bounding: per (activation, target) — a target is one (line, target) of
the source — the first K values are written at once; after that, values go
to a ring of K entries; an entry pushed out of the ring is counted in the
slot's `elided` event (its id allocated at the first eviction) and, if some
written event already named it in `deps`, an `alias` {id, to} is written. The
ring is written when the activation ends. A value still in a ring is
referenced through a small record [id, slot, state, named] (state 1 pending,
2 evicted, 0 written), so a late reference to an evicted value is written as
the `elided` id without remembering every evicted id.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import collections
import io
import itertools
import sys
import types
import weakref

from now_tracer.eventlog import encode_str
from now_tracer.fineast import (
    FILE_ONLY,
    G_FIRST,
    G_HAS,
    G_READS,
    G_RET,
    G_PARTS,
    G_UNKNOWN,
    HOW_ATTR,
    HOW_MUT,
    HOW_NAME,
    HOW_NOEVAL,
    MODULE_KEY,
    T_COND,
    T_EXTRA,
    T_FAST,
    T_FMT,
    T_GLOBAL,
    T_HOW,
    T_KIND,
    T_LINE,
    T_NAME,
    T_RANGE,
    T_STORE,
    T_TEXT,
    FileTable,
    analyse,
)
from now_tracer.recorder import _CO_OPTIMIZED, _arg_names, local_names
from now_tracer.values import _dict_of, _find, _instance_dict, _mro_of

_CO_NEWLOCALS = 0x02
CALLS_CAP = 64  # ids kept in one value's calls/files: the first 32 and the last 32
NOT_EVALUATED_JSON = '"<not evaluated>"'

# Values kept raw in a ring (rendered when written): immutable, cheap to hold
# (and strings up to RAW_STR characters).
_RAW = frozenset((int, float, bool, type(None), complex))
RAW_STR = 4096
# Receivers whose method calls are not taken as changing them (`os.makedirs(p)`).
_NOT_MUTATED = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


class _NotEvaluated:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<not evaluated>"


NOT_EVALUATED = _NotEvaluated()


class _Code:
    __slots__ = ("code", "kind", "table", "reason", "params", "lambda_reads", "is_gen", "single", "names")


class State:
    """One activation's fine state (kept in the core's frame entry)."""

    __slots__ = (
        "act", "kind", "lines", "table", "reason", "cur", "cont", "calls", "files", "exc", "latest", "gmap",
        "slots", "rings", "fwd", "unknown", "snap", "yfirst", "ylast", "code", "ret", "ns", "loc",
    )


class _Slot:
    __slots__ = ("spec", "act", "ring", "eid", "n")

    def __init__(self, spec, act) -> None:
        self.spec = spec
        self.act = act
        self.ring = collections.deque()
        self.eid = None
        self.n = 0


class FineRecorder:
    def __init__(self, recorder, reprs, read_source, keep: int = 3) -> None:
        self.recorder = recorder
        self.reprs = reprs
        self.read_source = read_source  # filename -> bytes or None (never a recorded open)
        self.keep = keep
        self._tables: dict = {}
        self._codes: dict = {}
        self._gmaps: dict = {}  # id(globals dict) -> (the dict, name -> latest value)
        self._gmaps_sweep = 256
        self.live: dict = {}    # activation -> State, until it ends
        self._held = _no_hold
        self._pend: dict = {}
        self._track = False
        # id(file object) -> (weakref to it, the write access that opened it)
        self._wfiles: dict = {}
        # id(frame of a generator/coroutine not started) -> (code, deps, calls, files)
        # of the statement that made it
        self._born: dict = {}
        self._build()

    def set_held(self, release, track: bool) -> None:
        """Before the core builds its trace functions. Every f_locals read here is
        kept in the activation's state (`loc`: the core empties that dict when the
        frame calls another); with `track`, release (a recorder.LocalsRelease) is
        also told of it (held(frame, d), needed only when id(frame) is not in its
        `pend`)."""
        self._held = release.held
        self._pend = release.pend
        self._track = track
        self._build()

    # -- static tables -------------------------------------------------------------
    def _table(self, filename):
        t = self._tables.get(filename)
        if t is None:
            try:
                source = self.read_source(filename)
            except Exception:
                source = None
            if source is None:
                t = FileTable()
                t.error = "source not available"
            else:
                t = analyse(source, filename)
            self._tables[filename] = t
        return t

    def _new_code(self, code) -> _Code:
        ci = _Code()
        ci.code = code
        # the keys of its f_locals snapshot, for a function (None: a namespace, never emptied)
        ci.names = local_names(code) if code.co_flags & _CO_OPTIMIZED else None
        name = code.co_name
        # Generators and async generators: what their yield statements read feeds
        # their consumers (coroutines' awaits are not yields of values).
        ci.is_gen = bool(code.co_flags & (0x20 | 0x200))
        if name == "<module>":
            ci.kind = "m"
        elif name == "<genexpr>":
            ci.kind = "g"
        elif name == "<lambda>":
            ci.kind = "l"
        elif not code.co_flags & _CO_NEWLOCALS:
            ci.kind = "c"
        else:
            ci.kind = "f"
        ft = self._table(code.co_filename)
        key = MODULE_KEY if ci.kind == "m" else (code.co_firstlineno, name)
        ci.table = ft.scopes.get(key)
        ci.reason = None
        if ci.table is None and ci.kind in "mfc":
            ci.reason = ft.error or ("no statement table for %s at line %d (source changed?)" % (name, code.co_firstlineno))
        ci.lambda_reads = ft.lambdas.get(code.co_firstlineno, ()) if ci.kind == "l" else ()
        single = ft.singles.get(key)
        ci.single = ci.table.get(single) if (single is not None and ci.table is not None) else None
        params = []
        if ci.kind in "fl":
            positions = ft.params.get(key, {})
            for p in _arg_names(code):
                line, col = positions.get(p, (code.co_firstlineno, 0))
                static = ('"line":%d,"col":%d,"target":%s,"kind":"param",' % (line, col, encode_str(p))).replace("%", "%%")
                params.append((p, '{"e":"value","id":%d,"act":%d,' + static + '"value":%s,"deps":[%s],"calls":[%s],"files":[%s]}'))
        ci.params = tuple(params)
        self._codes[id(code)] = ci
        return ci

    def wants_lines(self, code) -> bool:
        """Whether activations of this code need line events (statement scopes:
        module, class body, function of more than one simple statement). The
        sys.monitoring core asks once per code object; enter() decides the same."""
        ci = self._codes.get(id(code))
        if ci is None or ci.code is not code:
            ci = self._new_code(code)
        return ci.kind in "mfc" and ci.single is None

    def _gmap(self, g) -> dict:
        gmaps = self._gmaps
        entry = gmaps.get(id(g))
        if entry is None or entry[0] is not g:
            if len(gmaps) >= self._gmaps_sweep:
                self._sweep_gmaps()
            entry = (g, {})
            gmaps[id(g)] = entry
        return entry[1]

    def _sweep_gmaps(self) -> None:
        """Forget the maps of globals dicts nobody else holds any more (code
        run with `exec(code, {})` in a loop would otherwise pile them up)."""
        getrefcount = sys.getrefcount
        gmaps = self._gmaps
        for key in list(gmaps):
            entry = gmaps[key]
            # held by: the entry, the argument of getrefcount, `entry` here
            if getrefcount(entry[0]) <= 3:
                del gmaps[key]
        entry = None
        self._gmaps_sweep = max(256, 2 * len(gmaps))

    # -- the hot parts, as closures over locals ----------------------------------------
    def _build(self) -> None:
        fine = self
        K = self.keep
        rec_ = self.recorder
        append = rec_.append_timed
        jrepr = self.reprs.json
        rsnap = self.reprs.snapshot
        rsnap_json = self.reprs.json_snapshot
        next_vid = itertools.count(1).__next__
        codes = self._codes
        new_code = self._new_code
        gmap_of = self._gmap
        live = self.live
        RAW = _RAW
        NOTEV = NOT_EVALUATED
        NOT_MUTATED = _NOT_MUTATED
        CAP = CALLS_CAP
        HALF = CALLS_CAP // 2
        deque = collections.deque
        held = self._held
        pend = self._pend
        track = self._track
        IO_TYPES = _IO_TYPES
        GEN_TYPES = _GEN_TYPES
        WATCHED = _IO_TYPES | _GEN_TYPES
        writes = rec_.write_accesses
        wfiles = self._wfiles
        born = self._born
        wref = weakref.ref

        def wrote(v, files):
            """v (a file object) was opened by its statement: if for writing, later
            statements that write through it are linked to that access."""
            for a in reversed(files):
                if a in writes:
                    if len(wfiles) >= 1024:
                        for k in [k for k, w in wfiles.items() if w[0]() is None]:
                            del wfiles[k]
                    wfiles[id(v)] = (wref(v), a)
                    return

        def born_now(v, deps, calls, files):
            """A generator or coroutine made by this statement and not started: its
            parameters come from here, not from the statement that first resumes it
            (`g = gen(n)`, later `next(g)`)."""
            fr = _unstarted_frame(v)
            if fr is not None:
                if len(born) >= 4096:
                    del born[next(iter(born))]
                born[id(fr)] = (fr.f_code, deps, calls, files)

        def ids(lst):
            if not lst:
                return ""
            return ",".join(map(str, lst))

        def deps_text(deps):
            if not deps:
                return ""
            out = []
            for d in deps:
                if d.__class__ is int:
                    out.append(d)
                else:
                    s = d[2]
                    if s == 1:
                        d[3] = True
                        out.append(d[0])
                    elif s == 2:
                        out.append(d[1].eid)
                    else:
                        out.append(d[0])
            if len(out) > 1:
                out = dict.fromkeys(out)
            return ",".join(map(str, out))

        def resolve(st, names):
            latest = st.latest
            gmap = st.gmap
            out = []
            if latest is gmap:
                for n in names:
                    d = latest.get(n)
                    if d is not None:
                        out.append(d)
            else:
                for n in names:
                    d = latest.get(n)
                    if d is None:
                        d = gmap.get(n)
                        if d is None:
                            continue
                    out.append(d)
            return out

        def value_json(v):
            if v is NOTEV:
                return NOT_EVALUATED_JSON
            return jrepr(v)

        def flush(st):
            rings = st.rings
            if not rings:
                return
            st.rings = []
            entries = []
            act = st.act
            for slot in rings:
                if slot.n:
                    t = slot.spec
                    append(
                        '{"e":"elided","id":%d,"act":%d,"line":%d,"target":%s,"count":%d}'
                        % (slot.eid, act, t[T_LINE], encode_str(t[T_TEXT]), slot.n)
                    )
                entries.extend(slot.ring)
                slot.ring = deque()
            entries.sort(key=_first_id)
            for ref, val, deps, calls, files in entries:
                ref[2] = 0
                if val.__class__ is tuple:
                    val = val[0] if len(val) == 1 else rsnap_json(val)
                else:
                    val = value_json(val)
                append(ref[1].spec[T_FMT] % (ref[0], act, val, deps_text(deps), ids(calls), ids(files)))

        def unknown_once(st, line, reason):
            seen = st.unknown
            if seen is None:
                seen = st.unknown = set()
            if line in seen:
                return
            seen.add(line)
            append('{"e":"unknown","act":%d,"line":%d,"reason":%s}' % (st.act, line, encode_str(reason)))

        def target_value(t, frame, loc):
            """(the target's value now, whether its root name is a global);
            raises KeyError when it is unbound. A name not declared `global`
            counts as global when it is not a local (`res.append(v)`,
            `cache[k] = v`, `config.x = 1` on a module-level object)."""
            how = t[T_HOW]
            if how == HOW_NAME:
                if t[T_GLOBAL]:
                    return frame.f_globals[t[T_NAME]], True
                return loc[t[T_NAME]], False
            if how == HOW_MUT:
                if not t[T_GLOBAL]:
                    try:
                        return loc[t[T_NAME]], False
                    except KeyError:
                        pass
                return frame.f_globals[t[T_NAME]], True
            if how == HOW_NOEVAL:
                root = t[T_STORE]
                return NOTEV, bool(t[T_GLOBAL] or (root is not None and root not in loc))
            base = t[T_NAME]
            glob = bool(t[T_GLOBAL])
            if glob:
                obj = frame.f_globals[base]
            else:
                try:
                    obj = loc[base]
                except KeyError:
                    obj = frame.f_globals[base]
                    glob = True
            if how == HOW_ATTR:
                return static_attr(obj, t[T_EXTRA]), glob
            kind, key = t[T_EXTRA]
            if kind == "n":
                try:
                    key = loc[key]
                except KeyError:
                    key = frame.f_globals[key]
            return static_item(obj, key), glob

        def close(st, frame, g, newline):
            """The statement(s) of group `g` have ended: record their targets'
            values. (record() and resolve() are inlined: this runs for every
            statement that assigns something.)"""
            if g[G_UNKNOWN] is not None:
                unknown_once(st, g[G_FIRST], g[G_UNKNOWN])
            if st.exc:
                return  # it raised: its targets were not (all) assigned
            ret = g[G_RET]
            if ret and (ret == 1 or newline < 0):
                # What the return value was computed from: kept for returned(),
                # since a `finally:` block may still run lines before it.
                st.ret = (resolve(st, g[G_READS]), st.calls, st.files)
            loc = st.ns
            if loc is None:
                loc = st.loc = frame.f_locals
                if track and id(frame) not in pend:
                    held(frame, loc)
            for targets, reads in g[G_PARTS]:
                deps = None
                for t in targets:
                    if t[T_FAST]:
                        try:
                            v = loc[t[T_NAME]]
                        except KeyError:
                            continue  # unbound (deleted, never reached)
                        glob = False
                    else:
                        rng = t[T_RANGE]
                        if rng is not None and not (rng[0] <= newline <= rng[1]):
                            continue  # for/with/except/case whose body did not start: not bound now
                        try:
                            v, glob = target_value(t, frame, loc)
                        except KeyError:
                            continue
                        except Exception:
                            v, glob = NOTEV, bool(t[T_GLOBAL])
                        if t[T_COND]:
                            snap = st.snap
                            if snap is not None and snap.get(t) == id(v):
                                continue  # a one-line body that did not run (the value is unchanged)
                    files = st.files
                    cls = type(v)  # not v.__class__: a property or __getattribute__ of the script
                    if not t[T_FAST]:
                        if t[T_KIND] == "mutation":
                            if issubclass(cls, NOT_MUTATED):
                                continue
                            # Written through a file the script opened for writing: this
                            # value is what went into the file (the server draws the edge
                            # from it to the file's written version).
                            w = wfiles.get(id(v)) if cls in IO_TYPES else None
                            if w is not None and w[0]() is v:
                                files = [w[1]] if not files else (files if w[1] in files else files + [w[1]])
                            elif t[T_EXTRA] is FILE_ONLY:
                                continue
                    if deps is None:
                        latest = st.latest
                        gmap = st.gmap
                        deps = []
                        for n in reads:
                            d = latest.get(n)
                            if d is None:
                                d = gmap.get(n)
                                if d is None:
                                    continue
                            deps.append(d)
                    if cls in WATCHED:
                        if cls in GEN_TYPES:
                            born_now(v, deps, st.calls, files)
                        elif files:
                            wrote(v, files)
                    # record(st, t, v, deps, st.calls, files), inlined
                    slots = st.slots
                    c = slots.get(t, 0)
                    vid = next_vid()
                    if c.__class__ is int:
                        if c < K:
                            slots[t] = c + 1
                            append(t[T_FMT] % (vid, st.act, value_json(v), deps_text(deps), ids(st.calls), ids(files)))
                            name = t[T_STORE]
                            if name is not None:
                                if glob:
                                    st.gmap[name] = vid
                                else:
                                    st.latest[name] = vid
                            continue
                        c = _Slot(t, st.act)
                        slots[t] = c
                        st.rings.append(c)
                    ref = [vid, c, 1, False]
                    ring = c.ring
                    if cls not in RAW:
                        # Rendered when written if that gives the same text:
                        # short strings, containers of scalars (a snapshot of
                        # what the repr samples); else rendered now, as (json,).
                        if cls is str:
                            if len(v) > RAW_STR:
                                v = (value_json(v),)
                        else:
                            v = rsnap(v) or (value_json(v),)
                    ring.append((ref, v, deps, st.calls, files))
                    if len(ring) > K:  # evict, inlined
                        r = ring.popleft()[0]
                        r[2] = 2
                        c.n += 1
                        if c.eid is None:
                            c.eid = next_vid()
                        if r[3]:
                            append('{"e":"alias","id":%d,"to":%d}' % (r[0], c.eid))
                    name = t[T_STORE]
                    if name is not None:
                        if glob:
                            st.gmap[name] = ref
                        else:
                            st.latest[name] = ref

        def snapshot(st, frame, g):
            loc = st.ns
            if loc is None:
                loc = st.loc = frame.f_locals
                if track and id(frame) not in pend:
                    held(frame, loc)
            snap = {}
            for targets, _ in g[G_PARTS]:
                for t in targets:
                    if t[T_COND]:
                        # The identity only: the object itself would be kept
                        # alive past a rebinding. (An object freed before the
                        # statement ends and another made at its address would
                        # hide that value: the old one is alive until the target
                        # is rebound, so only a `del` in between allows it.)
                        try:
                            snap[t] = id(target_value(t, frame, loc)[0])
                        except Exception:
                            pass
            st.snap = snap

        def enter(frame, act, pst, code):
            ci = codes.get(id(code))
            if ci is None or ci.code is not code:
                ci = new_code(code)
            st = State()
            st.act = act
            st.code = ci
            kind = st.kind = ci.kind
            st.table = ci.table
            st.reason = ci.reason
            # Line events for statement scopes; a function of one simple
            # statement needs none: that statement is current from the start.
            single = ci.single
            st.lines = kind in "mfc" and single is None
            st.cur = single
            st.cont = False
            st.calls = None
            st.files = None
            st.exc = False
            g = st.gmap = gmap_of(frame.f_globals)
            st.latest = g if kind == "m" else {}
            st.slots = {}
            st.rings = []
            st.fwd = None
            st.unknown = None
            st.snap = None
            st.yfirst = None
            st.ylast = None
            st.ret = None
            # A class body's f_locals is its namespace: read once, here. Each read
            # copies the frame's cells into it, which would undo the body's own
            # `__class__ = 413` (3.11: test_super).
            st.ns = frame.f_locals if kind == "c" else None
            st.loc = None
            if pst is not None:
                while pst.fwd is not None:
                    pst = pst.fwd
                if kind == "g":
                    st.fwd = pst
            params = ci.params
            if params:
                deps = calls = files = None
                b = born.pop(id(frame), None) if born else None
                if b is not None and b[0] is code:
                    deps, calls, files = b[1], b[2], b[3]
                elif pst is not None:
                    cur = pst.cur
                    if cur is not None:
                        deps = resolve(pst, cur[G_READS])
                    calls = pst.calls
                    files = pst.files
                dt = deps_text(deps)
                ct = ids(calls)
                ft = ids(files)
                loc = frame.f_locals
                st.loc = loc
                if track:
                    held(frame, loc)
                latest = st.latest
                for name, fmt in params:
                    try:
                        v = loc[name]
                    except KeyError:
                        continue
                    vid = next_vid()
                    append(fmt % (vid, act, jrepr(v), dt, ct, ft))
                    latest[name] = vid
            if pst is not None and kind != "g":
                note_call(pst, act)
            live[act] = st
            return st

        def note_call(st, act):
            while st.fwd is not None:
                st = st.fwd
            c = st.calls
            if c is None:
                st.calls = [act]
            elif c[-1] != act:
                if len(c) >= CAP:
                    del c[HALF]
                c.append(act)

        def note_file(st, access):
            while st.fwd is not None:
                st = st.fwd
            c = st.files
            if c is None:
                st.files = [access]
            else:
                if len(c) >= CAP:
                    del c[HALF]
                c.append(access)

        def returned(st, frame, value):
            kind = st.kind
            deps = None
            calls = files = None
            if kind == "l":
                deps = resolve(st, st.code.lambda_reads)
                calls = st.calls
            else:
                cur = st.cur
                if cur is not None and cur[G_HAS]:
                    close(st, frame, cur, -1)
                ret = st.ret
                if ret is not None:
                    deps, calls, files = ret
                if kind == "c":
                    deps = list(st.latest.values())
                elif kind == "m":
                    deps = list(st.gmap.values())
            if st.yfirst:
                deps = list(deps or ())
                for d in st.yfirst:
                    deps.extend(d)
                for d in st.ylast or ():
                    deps.extend(d)
            flush(st)
            live.pop(st.act, None)
            st.ns = st.loc = None
            if kind == "g":
                return  # a generator expression's values went to its consumer
            vid = next_vid()
            append(
                '{"e":"returned","id":%d,"act":%d,"line":%d,"value":%s,"deps":[%s],"calls":[%s],"files":[%s]}'
                % (vid, st.act, frame.f_lineno, jrepr(value), deps_text(deps), ids(calls), ids(files))
            )

        def ended(st, frame):
            """The activation raised. Its current statement is recorded if no
            exception passed through it (a `finally:` line before the re-raise)."""
            cur = st.cur
            if cur is not None and cur[G_HAS] and not st.exc:
                close(st, frame, cur, -1)
            flush(st)
            live.pop(st.act, None)
            st.ns = st.loc = None

        def yielded(st):
            if not st.code.is_gen:
                return
            cur = st.cur
            if cur is None or not cur[G_READS]:
                return
            d = resolve(st, cur[G_READS])
            if not d:
                return
            if st.yfirst is None:
                st.yfirst = []
            if len(st.yfirst) < max(K, 1):
                st.yfirst.append(d)
            else:
                if st.ylast is None:
                    st.ylast = deque(maxlen=max(K, 1))
                st.ylast.append(d)

        def finish():
            for act in sorted(live):
                st = live.pop(act, None)
                if st is not None:
                    try:
                        flush(st)
                    except Exception as e:
                        rec_.warning("fine: flush at exit: %s: %s" % (type(e).__name__, e))

        def blank(act):
            """A state that records nothing (enter() failed for this activation)."""
            st = State()
            st.act = act
            st.kind = "x"
            st.lines = False
            st.table = None
            st.reason = None
            st.cur = None
            st.cont = False
            st.calls = st.files = None
            st.exc = False
            st.latest = st.gmap = {}
            st.slots = {}
            st.rings = []
            st.fwd = None
            st.unknown = st.snap = st.yfirst = st.ylast = None
            st.code = None
            st.ret = None
            st.ns = None
            st.loc = None
            return st

        self.blank = blank
        self.enter = enter
        self.close = close
        self.snapshot = snapshot
        self.returned = returned
        self.ended = ended
        self.yielded = yielded
        self.note_call = note_call
        self.note_file = note_file
        self.unknown_once = unknown_once
        self.finish = finish


def _no_hold(frame, d):
    pass


_IO_TYPES = frozenset((io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom, io.FileIO))
_GEN_TYPES = frozenset((types.GeneratorType, types.CoroutineType))


def _unstarted_frame(v):
    """The frame of a generator or coroutine that has not started running, else
    None (attributes of the builtin types: no script code runs)."""
    if type(v) is types.GeneratorType:
        fr = v.gi_frame
        if fr is None or v.gi_running or getattr(v, "gi_suspended", False):
            return None
    else:
        fr = v.cr_frame
        if fr is None or v.cr_running or getattr(v, "cr_suspended", False):
            return None
    if sys.version_info < (3, 11) and fr.f_lasti != -1:
        return None
    return fr


def _first_id(entry):
    return entry[0][0]


def static_attr(obj, name):
    """obj.name without running properties, __getattr__, a metaclass's
    __getattribute__ or a `__dict__` property: the instance dict or a slot (read
    by the C descriptors), or (for a class or module) its own dict; else
    NOT_EVALUATED."""
    try:
        tp = type(obj)
        mro = _mro_of(tp)
        for klass in mro:
            cd = _dict_of(klass)
            if name in cd:
                attr = cd[name]
                if type(attr) is types.MemberDescriptorType:  # __slots__
                    try:
                        return attr.__get__(obj, tp)
                    except AttributeError:
                        return NOT_EVALUATED
                if _find(_mro_of(type(attr)), "__set__")[0] is not None:  # property or another data descriptor
                    return NOT_EVALUATED
                break
        d = _instance_dict(obj, mro)
        if d is not None and dict.__contains__(d, name):
            return dict.__getitem__(d, name)
        if issubclass(tp, type):
            for klass in _mro_of(obj):
                cd = _dict_of(klass)
                if name in cd:
                    return cd[name]
    except Exception:
        pass
    return NOT_EVALUATED


# Keys the tracer may look up in the script's dict: their hash and == are C
# code. Any other key's __hash__/__eq__ would run again for the record
# (CPython's test_dict counts them).
_SAFE_KEYS = frozenset((str, int, float, bool, type(None), bytes, complex))


def static_item(obj, key):
    """obj[key] for builtin dicts and lists (subclasses through the base
    methods: no __missing__, no overridden __getitem__); else NOT_EVALUATED."""
    try:
        tp = type(obj)
        if issubclass(tp, dict):  # not isinstance: that may ask obj.__class__
            if type(key) not in _SAFE_KEYS:
                return NOT_EVALUATED
            if dict.__contains__(obj, key):
                return dict.__getitem__(obj, key)
            return NOT_EVALUATED
        if issubclass(tp, list) and type(key) is int:
            return list.__getitem__(obj, key)
    except Exception:
        pass
    return NOT_EVALUATED
