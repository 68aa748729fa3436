"""Recording the files the script opens through `open`, `io.open` and pathlib.

`builtins.open` and `io.open` are replaced by a callable object (`_Open`, not
a function: see there) that hashes the file *before* calling the real open
(mode "w" truncates it), emits `open`, and hooks the close. The file object itself is returned untouched — no proxy — so
`isinstance(f, io.TextIOWrapper)`, `type(f)`, C-level fast paths and every
attribute keep working.

The close hook is an instance attribute `close` set on the *raw* FileIO under
the returned object. TextIOWrapper.close and Buffered*.close call
`self.buffer.close()` / `self.raw.close()` by attribute lookup, which finds the
instance attribute, so `with`, explicit close() and CPython's close of a
dropped file all reach it after every buffered byte has been written — which
is when `hash_after` must be taken.

What the hook may hold matters for when CPython closes files:
- Under a text/buffer layer, the hook holds the raw file strongly. The layer
  the script holds is untouched, so dropping it closes it (and the raw file)
  at once by refcount, as without the tracer; and when a file is collected in
  a reference cycle, the raw file's finalizer can still really close it, in
  whatever order CPython finalizes the layers (which may lose buffered text —
  CPython does the same).
- When the raw file is itself what the script holds (binary, buffering=0), a
  strong reference would make a cycle (file -> __dict__ -> hook -> file) and
  delay its refcount close until the next GC: the hook holds a weak reference.
  If the file dies in a reference cycle, weakrefs are cleared before
  finalizers run, so the hook closes the saved descriptor itself.
"""

from __future__ import annotations
from now_tracer.snapshot import BUILTINS as __builtins__  # noqa: E402,F401 (snapshot.py)

import builtins
import io
import os
import sys
from stat import S_ISLNK
# _weakref (built in): weakref.ref without the weakref module's import (~0.5 ms)
import _weakref as weakref

if sys.version_info[:2] == (3, 10):
    import pathlib
else:
    pathlib = None

from now_tracer.tbtrim import hide

# Captured at import, before any patching: the tracer's own reads go through
# these (or os.* directly) and are never recorded.
REAL_OPEN = builtins.open
REAL_IO_OPEN = io.open

_getframe = sys._getframe
_new_object = object.__new__
_fspath = os.fspath
_fsdecode = os.fsdecode
_ALL = slice(None)
# io.open's parameters: a call naming another fails in the real open's argument
# parsing, before it would call the file's __fspath__, so the hook does not either
_OPEN_KEYWORDS = frozenset(("file", "mode", "buffering", "encoding", "errors", "newline", "closefd", "opener"))


_mro_of = type.__dict__["__mro__"].__get__
_dict_of = type.__dict__["__dict__"].__get__


def _defines(tp, name) -> bool:
    """Whether class `tp` has attribute `name`, read from the classes' own
    namespaces: hasattr would run a metaclass's __getattribute__."""
    for klass in _mro_of(tp):
        if name in _dict_of(klass):
            return True
    return False


# io.open's parameters after `file`, and the types its argument parsing takes
# without calling the script's code (__index__, __bool__) or failing
_PARAMS = (("mode", str), ("buffering", int), ("encoding", (str, type(None))), ("errors", (str, type(None))),
           ("newline", (str, type(None))), ("closefd", int), ("opener", object))


def _parsed_alike(args, kwargs) -> bool:
    for i, (name, kinds) in enumerate(_PARAMS):
        if i + 1 < len(args):
            value = args[i + 1]
        elif name in kwargs:
            value = kwargs[name]
        else:
            continue
        if not issubclass(type(value), kinds):
            return False
    return True


def _exact_str(s):
    """`s` as an exact str (a subclass copied: its methods are the script's), or None."""
    tp = type(s)
    if tp is str:
        return s
    if issubclass(tp, str):
        return str.__getitem__(s, _ALL)
    return None


# tokenize.open, through which linecache reads sources (tracebacks, warnings,
# inspect): not imported by the tracer (the script would find it imported), so
# it binds this hook when the script imports it; known by its file instead.
_TOKENIZE_PY = os.path.join(os.path.dirname(os.__file__), "tokenize.py")


class FileTracker:
    def __init__(self, recorder, store, core, store_dir: str) -> None:
        self.recorder = recorder
        self.store = store
        self.core = core
        self.recording = False
        # The store (<root>/.now): never the script's file access (see in_store).
        self._store_dir = store_dir
        self._store_real = None
        self._dir_in_store: dict = {}
        # access id -> (weakref to the returned file, path, writable, hash_before)
        self._open: dict = {}

    # -- patching -----------------------------------------------------------------
    def install(self) -> None:
        builtin_wrapper = self._wrap(REAL_OPEN)
        io_wrapper = builtin_wrapper if REAL_IO_OPEN is REAL_OPEN else self._wrap(REAL_IO_OPEN)
        if pathlib is not None:
            # 3.10's pathlib binds io.open when it is imported (_NormalAccessor.open
            # = io.open); every other version looks io.open up at each call. It is
            # imported (at the top) before io.open is replaced; the accessor is
            # patched too.
            acc = getattr(pathlib, "_NormalAccessor", None)
            if acc is not None and acc.__dict__.get("open") is REAL_IO_OPEN:
                self._patch(acc, "open", staticmethod(io_wrapper))
        self._patch(builtins, "open", builtin_wrapper)
        self._patch(io, "open", io_wrapper)
        # Not `_io.open`, where 3.12+'s builtin says it lives (its __module__):
        # the import system opens every .pyc through it (io.open_code). So on
        # 3.12+ pickle refuses the hook ("not the same object as _io.open").
        self.recording = True

    @staticmethod
    def _patch(owner, name, value) -> None:
        setattr(owner, name, value)

    def _wrap(self, real):
        return _Open(self, real)

    # -- one access -----------------------------------------------------------------
    def _before(self, path, args, kwargs, caller):
        """`path`: the file as an exact str (see _Open.__call__)."""
        if caller is not None and caller.f_code.co_filename == _TOKENIZE_PY and caller.f_code.co_name == "open":
            return None  # linecache reading a source for a traceback or warning: the interpreter's read
        mode = args[0] if args else kwargs.get("mode", "r")
        if type(mode) is not str:  # (inline: under settrace a call costs a trace event)
            mode = _exact_str(mode)
            if mode is None:
                return None
        given = path
        path = os.path.abspath(path)
        # In the store? (in_store, inlined.) abspath drops `..` lexically, but the
        # OS resolves a symlink before its `..`: such a path is taken as given.
        full = path if ".." not in given else os.path.join(os.getcwd(), given)
        folder, _, name = full.rpartition(os.sep)
        inside = self._dir_in_store.get(folder)
        if inside is None:
            inside = self._folder_in_store(folder)
        if inside:
            return None
        try:
            link = name in ("", ".", "..") or S_ISLNK(os.lstat(full).st_mode)
        except OSError:
            link = False
        if link and self._name_in_store(full, name):
            return None
        writable = any(c in mode for c in "wax+")
        hash_before = self.store.hash_file(path)
        activation = self.core.current_activation(caller)
        return (path, mode, writable, hash_before, activation, caller)

    def in_store(self, full: str) -> bool:
        """Whether the absolute path `full` is in the store, by its real path: a
        restore must never write there, whatever name the script used (relative,
        `..`, a symlinked folder or file). The real path of each folder is cached
        (os.path.realpath costs about as much as hashing a small file), so the
        common case is a dict lookup and one lstat. It is inlined in _before:
        under settrace every Python call the wrapper makes costs a trace event."""
        folder, _, name = full.rpartition(os.sep)
        inside = self._dir_in_store.get(folder)
        if inside is None:
            inside = self._folder_in_store(folder)
        if inside:
            return True
        return self._name_in_store(full, name)

    def _folder_in_store(self, folder: str) -> bool:
        real = self._store_real
        if real is None:
            real = self._store_real = os.path.realpath(self._store_dir) + os.sep
        if len(self._dir_in_store) > 4096:
            self._dir_in_store.clear()
        inside = self._dir_in_store[folder] = (os.path.realpath(folder or os.sep) + os.sep).startswith(real)
        return inside

    def _name_in_store(self, full: str, name: str) -> bool:
        """The last component: only a symlink (or `.`/`..`) can lead elsewhere."""
        if name not in ("", ".", ".."):
            try:
                if not S_ISLNK(os.lstat(full).st_mode):
                    return False
            except OSError:
                return False  # nothing there yet: a new file, in a folder outside the store
        if self._store_real is None:
            self._folder_in_store(os.sep)
        return (os.path.realpath(full) + os.sep).startswith(self._store_real)

    def _after(self, f, info) -> None:
        path, mode, writable, hash_before, activation, caller = info
        rec = self.recorder
        access = rec.new_access_id()
        rec.on_open(access, activation, path, mode, hash_before)
        if self.core.fine is not None:
            # fine mode: the statement running the open depends on this access
            self.core.note_file(caller, access)
        raw = getattr(f, "buffer", f)
        raw = getattr(raw, "raw", raw)
        try:
            fd = raw.fileno()
        except Exception:
            fd = -1
        self._open[access] = (weakref.ref(f), path, writable, hash_before)
        # the hook made without a Python-level __init__ (a trace event under settrace)
        hook = _new_object(_CloseHook)
        hook._tracker = self
        hook._access = access
        hook._fd = fd
        if raw is not f:
            hook._raw = raw
            hook._ref = None
        else:
            hook._raw = None
            hook._ref = weakref.ref(raw)
        try:
            raw.close = hook
        except (AttributeError, TypeError):
            rec.warning("cannot watch close of %s (%s): recorded at exit" % (path, type(raw).__name__))

    def _closed(self, access) -> None:
        entry = self._open.pop(access, None)
        if entry is None or not self.recording:
            return
        _, path, writable, hash_before = entry
        try:
            hash_after = self.store.hash_file(path) if writable else hash_before
            self.recorder.on_close(access, hash_after, False)
        except Exception as e:
            self.recorder.warning("close of %s: %s" % (path, e))

    # -- end of trial -----------------------------------------------------------------
    def finish(self) -> None:
        """Close events (at_exit) for files still open; then stop recording."""
        for access in sorted(self._open):
            entry = self._open.pop(access, None)
            if entry is None:
                continue
            ref, path, writable, hash_before = entry
            f = ref()
            if writable and f is not None:
                try:
                    if not f.closed:
                        f.flush()  # what CPython's finalization would do a bit later
                except Exception:
                    pass
            try:
                hash_after = self.store.hash_file(path) if writable else hash_before
                self.recorder.on_close(access, hash_after, True)
            except Exception as e:
                self.recorder.warning("close of %s: %s" % (path, e))
        self.recording = False


class _Open:
    """What `io.open`/`builtins.open` become: an object, not a function, because
    a function is a descriptor — a class body's `open = io.open` would make
    `self.open(path)` pass `self` as the file (the builtin does not bind). It
    looks like the builtin where a script can look (name, qualname, module,
    doc, repr, signature, copying, pickling up to 3.11) and passes every
    argument through, so that wrong calls fail with the builtin's own message.
    Still visible: its type, `dir()`, a `__dict__`."""

    def __init__(self, tracker, real) -> None:
        d = self.__dict__
        d["_tracker"] = tracker
        d["_real"] = real
        for name in ("__name__", "__qualname__", "__module__", "__doc__", "__self__", "__text_signature__"):
            try:
                d[name] = getattr(real, name)
            except AttributeError:
                pass

    def __call__(*args, **kwargs):
        # `self` taken from args: a keyword argument `self=` must reach the real
        # open (and fail there, as untraced), not collide with ours
        self = args[0]
        args = args[1:]
        tracker = self._tracker
        real = self._real
        info = None
        if tracker.recording and bool(args) is not ("file" in kwargs) and len(args) <= 8 and _OPEN_KEYWORDS.issuperset(kwargs):
            file = args[0] if args else kwargs["file"]
            tp = type(file)
            if tp is str or tp is bytes or issubclass(tp, (str, bytes)):
                path = file
            elif issubclass(tp, int) or not _defines(tp, "__fspath__") or not _parsed_alike(args, kwargs):
                # a descriptor; not a path (the real open says so); or arguments
                # the real open rejects, or converts by the script's code, before
                # it would call __fspath__: not recorded, the order kept
                path = None
            else:
                # An os.PathLike (a user class's __fspath__ is the script's code):
                # converted here, once, in the real open's stead — which calls it
                # at the same point (after parsing its arguments, before checking
                # the mode) and keeps only its result (f.name, OSError.filename).
                try:
                    file = path = _fspath(file)
                except BaseException as e:
                    hide(e)
                    raise
                else:
                    if args:
                        args = (file,) + args[1:]
                    else:
                        kwargs["file"] = file
            if path is not None and type(path) is not str:
                # an exact copy: a str subclass's own methods (startswith…) are
                # the script's, and abspath would call them
                ptp = type(path)
                if issubclass(ptp, str):
                    path = str.__getitem__(path, _ALL)
                elif issubclass(ptp, bytes):
                    path = _fsdecode(bytes.__getitem__(path, _ALL))
                else:
                    path = None
            if path is not None:
                try:
                    info = tracker._before(path, args[1:], kwargs, _getframe(1))
                except Exception as e:
                    tracker.recorder.warning("open: cannot record %r: %s" % (path, e))
        try:
            f = real(*args, **kwargs)
        except BaseException as e:
            hide(e)
            raise
        if info is not None:
            try:
                tracker._after(f, info)
            except Exception as e:
                tracker.recorder.warning("open: cannot track %r: %s" % (info[0], e))
        return f

    def __repr__(self) -> str:
        return repr(self._real)

    def __reduce__(self):
        # a builtin pickles (and copies) by name: `open`, looked up in `io`
        return self._real.__reduce__()

    @property
    def __signature__(self):
        # inspect asks for this first; inspect is already imported by whoever asks
        inspect = sys.modules.get("inspect")
        return inspect.signature(self._real) if inspect is not None else None


class _CloseHook:
    # What a tracked raw file's `close` becomes: an instance attribute, which
    # TextIOWrapper.close and Buffered*.close look up, so that the close is
    # seen after every buffered byte was written. An object, not a function:
    # stored in a class (`close = f.raw.close`) a function would be bound as a
    # method, the builtin method is not.
    #
    # Under a text/buffer layer (strong) the hook holds the raw file: that layer
    # closes it as soon as it is closed or dropped, so the cycle raw -> hook ->
    # raw only keeps a closed FileIO shell alive until the next GC. When the raw
    # file is what the script holds (binary, buffering=0), a strong reference
    # would delay its refcount close: a weak one.
    __slots__ = ("_tracker", "_access", "_raw", "_ref", "_fd")
    __doc__ = io.FileIO.close.__doc__

    def __call__(*args, **kwargs):
        self = args[0]
        raw = self._raw
        if raw is None:
            raw = self._ref()
        if (len(args) > 1 or kwargs) and raw is not None:
            # FileIO.close takes no arguments: its own error, and nothing closed
            try:
                return type(raw).close(raw, *args[1:], **kwargs)
            except BaseException as e:
                hide(e)
                raise
        try:
            if raw is not None:
                type(raw).close(raw)
            elif self._fd >= 0:
                # Collected in a reference cycle: weakrefs are cleared before
                # finalizers run, so do what FileIO.close would: close the fd
                # (there is no buffer above it that could still write).
                try:
                    os.close(self._fd)
                except OSError:
                    pass
        except BaseException as e:
            hide(e)
            raise
        finally:
            # once closed, the descriptor's number may be reused by another
            # file: a later call (the script kept this hook, not the file) must
            # not close that one
            self._fd = -1
            self._tracker._closed(self._access)

    def _bound(self):
        raw = self._raw
        if raw is None:
            raw = self._ref()
        # the owner passed too: 3.12.1's method descriptor __get__ with no
        # owner crashes the interpreter (segfault)
        return None if raw is None else type(raw).close.__get__(raw, type(raw))

    def __getattr__(self, name):
        # __name__, __qualname__, __self__, __text_signature__: the builtin method's
        bound = self._bound()
        if bound is None:
            raise AttributeError(name)
        return getattr(bound, name)

    def __repr__(self) -> str:
        bound = self._bound()
        return object.__repr__(self) if bound is None else repr(bound)
