"""Recording the files the script opens through `open`, `io.open` and pathlib.

`builtins.open` and `io.open` are replaced by a wrapper that hashes the file
*before* calling the real open (mode "w" truncates it), emits `open`, and
hooks the close. The file object itself is returned untouched — no proxy — so
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
        self.recording = True

    @staticmethod
    def _patch(owner, name, value) -> None:
        setattr(owner, name, value)

    def _wrap(self, real):
        tracker = self

        def open(file, *args, **kwargs):
            info = None
            if tracker.recording and not isinstance(file, int):
                try:
                    info = tracker._before(file, args, kwargs, _getframe(1))
                except Exception as e:
                    tracker.recorder.warning("open: cannot record %r: %s" % (file, e))
            try:
                f = real(file, *args, **kwargs)
            except BaseException as e:
                hide(e)
                raise
            if info is not None:
                try:
                    tracker._after(f, info)
                except Exception as e:
                    tracker.recorder.warning("open: cannot track %r: %s" % (file, e))
            return f

        open.__doc__ = real.__doc__
        open.__wrapped__ = real  # type: ignore[attr-defined]
        return open

    # -- one access -----------------------------------------------------------------
    def _before(self, file, args, kwargs, caller):
        if caller is not None and caller.f_code.co_filename == _TOKENIZE_PY and caller.f_code.co_name == "open":
            return None  # linecache reading a source for a traceback or warning: the interpreter's read
        mode = args[0] if args else kwargs.get("mode", "r")
        if not isinstance(mode, str):
            return None
        try:
            path = os.fspath(file)
        except TypeError:
            return None  # the real open will say why
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
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
        try:
            raw.close = self._close_hook(raw, access, fd, strong=raw is not f)
        except (AttributeError, TypeError):
            rec.warning("cannot watch close of %s (%s): recorded at exit" % (path, type(raw).__name__))

    def _close_hook(self, raw, access, fd, strong: bool):
        tracker = self
        if strong:
            # raw is under a text/buffer layer, which closes it as soon as that
            # layer is closed or dropped: the cycle raw -> hook -> raw only
            # keeps a closed FileIO shell alive until the next GC.
            def close():
                try:
                    type(raw).close(raw)
                except BaseException as e:
                    hide(e)
                    raise
                finally:
                    tracker._closed(access)

            return close

        # raw is the object the script holds (binary, buffering=0): a strong
        # reference would delay its refcount close, so only a weak one.
        ref = weakref.ref(raw)

        def close_weak():
            r = ref()
            try:
                if r is not None:
                    type(r).close(r)
                elif fd >= 0:
                    # Collected in a reference cycle: weakrefs are cleared before
                    # finalizers run, so do what FileIO.close would: close the fd
                    # (there is no buffer above it that could still write).
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            except BaseException as e:
                hide(e)
                raise
            finally:
                tracker._closed(access)

        return close_weak

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
