"""Atomic outputs: every file the package writes appears under its final name only when complete.

The one place for that fact.  A writer writes to a temporary name in the
same folder (:func:`temp_name`: ``.NAME.PID-XXXXXX.part.EXT``, hidden, with
the final extension so tools that infer a format from the suffix still
work), flushes and fsyncs it, and renames it into place with
:func:`os.replace` (atomic within one file system).  An exception, Ctrl-C
or SIGTERM (turned into :class:`cppsns3.errors.Interrupted` while a run
is :func:`interruptible`) removes the temporary instead, so an interrupted
run leaves either the complete file or nothing under a final name, and no
temporaries.  A process killed outright (SIGKILL, the OOM killer) cannot
clean up; its temporaries are recognisable by :func:`is_temporary`.

- :func:`write_atomic` (bytes or text), :func:`atomic_open` (a file
  object), :func:`atomic_path` (a path for writers that take one:
  ``savefig``, ``to_parquet``, ns-3's FlowMonitor XML, pcap);
- :class:`AtomicBatch`: several files of one result (a run directory)
  staged, then renamed together at the end, or all discarded;
- :func:`interruptible`: SIGTERM (and SIGINT) as an exception while a run
  is in progress, so ``finally`` clauses stop children and remove
  temporaries.

This module imports nothing of the package (the chain layer uses it too).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from pathlib import Path

__all__ = ["TEMP_MARK", "temp_name", "is_temporary", "register_temporary", "commit_temporary",
           "discard_temporary", "write_atomic", "atomic_open", "atomic_path",
           "AtomicBatch", "remove_temporaries", "live_temporaries", "interruptible"]

#: Marks a temporary name (``.NAME.PID-XXXXXX.part.EXT``).
TEMP_MARK = ".part"

#: Temporaries of this process not yet renamed into place or removed.
_LIVE: set = set()
_LOCK = threading.Lock()


def temp_name(path) -> Path:
    """A fresh temporary name for ``path`` in the same folder (not created).

    ``.NAME.PID-XXXXXX.part.EXT``: hidden, unique per process and call, and
    ending in the final name's extension.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}{TEMP_MARK}{path.suffix}")


def is_temporary(name) -> bool:
    """True if ``name`` (a file name or path) is one of :func:`temp_name`'s names."""
    base = Path(name).name
    return base.startswith(".") and TEMP_MARK in base


def register_temporary(tmp: Path) -> None:
    """Count ``tmp`` among this process's temporaries (for writers that manage their own file)."""
    with _LOCK:
        _LIVE.add(Path(tmp))


def discard_temporary(tmp: Path) -> None:
    """Remove a temporary and whatever was written under names derived from it
    (a child asked to write ``tmp`` may itself write ``.tmp...part`` first)."""
    tmp = Path(tmp)
    with _LOCK:
        _LIVE.discard(tmp)
    for p in [tmp, *(tmp.parent.glob(f".{tmp.name}.*{TEMP_MARK}*") if tmp.parent.is_dir() else ())]:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_temporary(tmp: Path, path: Path, *, sync: bool = True) -> None:
    """fsync ``tmp`` (if ``sync``) and rename it to ``path``; it is no longer a temporary."""
    if sync:
        _fsync_file(tmp)
    os.replace(tmp, path)
    with _LOCK:
        _LIVE.discard(Path(tmp))


@contextlib.contextmanager
def atomic_path(path, *, sync: bool = True):
    """A temporary path to write ``path`` through; renamed into place on success.

    Parameters
    ----------
    path : str or Path
        The final name.
    sync : bool
        fsync the file before the rename (default).

    Yields
    ------
    Path
        The temporary name (same folder, same extension).

    Raises
    ------
    FileNotFoundError
        If the body wrote nothing to the temporary name.
    OSError
        If the rename fails (the temporary is removed).

    Examples
    --------
    >>> with atomic_path(out / "plot.png") as tmp:   # doctest: +SKIP
    ...     fig.savefig(tmp, format="png")
    """
    path = Path(path)
    tmp = temp_name(path)
    register_temporary(tmp)
    try:
        yield tmp
        commit_temporary(tmp, path, sync=sync)
    finally:
        if Path(tmp) in _LIVE:
            discard_temporary(tmp)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """``open`` a temporary name of ``path``; on a clean exit flush, fsync and rename into place.

    Parameters
    ----------
    path : str or Path
    mode : str
        A write mode (``"w"``, ``"wb"``, ...).
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``).

    Raises
    ------
    ValueError
        If ``mode`` does not write.
    OSError
        If the file cannot be written or renamed (the temporary is removed).
    """
    if not any(c in mode for c in "wxa"):
        raise ValueError(f"mode: atomic_open writes, got {mode!r}")
    with atomic_path(path, sync=False) as tmp:
        with open(tmp, mode.replace("a", "w"), **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def write_atomic(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that no half-written file ever has its name.

    Raises
    ------
    OSError
        If the file cannot be written or renamed (the temporary is removed).
    """
    with atomic_open(path, "wb" if isinstance(data, (bytes, bytearray, memoryview)) else "w") as fh:
        fh.write(data)


class AtomicBatch:
    """The files of one result, staged under temporary names and renamed together.

    Use as a context manager: a clean exit commits (every staged file renamed
    into place, in staging order), an exception discards (every temporary
    removed).  The renames are the only step between "none of the new files"
    and "all of them"; they do no I/O beyond metadata.

    Examples
    --------
    >>> with AtomicBatch() as b:                      # doctest: +SKIP
    ...     b.write(out / "flows.csv", text)
    ...     xml = b.stage(out / "flowmon-qtdr.xml")   # a child writes there
    """

    def __init__(self):
        self._staged: dict = {}  # final path -> temporary path
        self.closed = False

    def stage(self, path) -> Path:
        """Reserve a temporary name for ``path`` (someone else writes it); returned.

        Staging the same final path twice returns the same temporary name.
        """
        path = Path(path)
        if path in self._staged:
            return self._staged[path]
        tmp = temp_name(path)
        register_temporary(tmp)
        self._staged[path] = tmp
        return tmp

    def staged(self, tmp) -> bool:
        """True if ``tmp`` is one of this batch's temporary names."""
        return Path(tmp) in self._staged.values()

    def write(self, path, data: str | bytes) -> Path:
        """Write ``data`` to the temporary name of ``path`` (fsynced); renamed at :meth:`commit`."""
        tmp = self.stage(path)
        with open(tmp, "wb" if isinstance(data, (bytes, bytearray, memoryview)) else "w") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def commit(self) -> list:
        """Rename every staged file that exists into place; return the final paths.

        A staged name nobody wrote is dropped.

        Raises
        ------
        OSError
            If a rename fails (the remaining temporaries are removed).
        """
        done = []
        try:
            for path, tmp in self._staged.items():
                if tmp.exists():
                    commit_temporary(tmp, path, sync=False)
                    done.append(path)
                else:
                    discard_temporary(tmp)
        finally:
            self.discard()
        return done

    def discard(self) -> None:
        """Remove every temporary not yet renamed."""
        for tmp in self._staged.values():
            if Path(tmp) in _LIVE:
                discard_temporary(tmp)
        self._staged.clear()
        self.closed = True

    def __enter__(self) -> "AtomicBatch":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def live_temporaries() -> list:
    """The temporaries of this process not yet renamed or removed (sorted)."""
    with _LOCK:
        return sorted(_LIVE)


def remove_temporaries() -> None:
    """Remove every temporary of this process not yet renamed (last-resort cleanup)."""
    for tmp in live_temporaries():
        discard_temporary(tmp)


def _raise_interrupted(signum, frame):
    from cppsns3.errors import Interrupted

    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible(sigint: bool = False):
    """While inside, SIGTERM (and SIGINT if ``sigint``) raise :class:`cppsns3.errors.Interrupted`.

    So a termination request unwinds the run like Ctrl-C does: ``finally``
    clauses stop ns-3 children (:class:`cppsns3.sim.runner.ChildRun`) and
    remove temporaries.  A handler the caller installed is left alone, and
    outside the main thread this does nothing (Python delivers signals to
    the main thread only).  Without ``sigint``, Ctrl-C stays Python's own
    :class:`KeyboardInterrupt` (which unwinds the same way).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    wanted = [signal.SIGTERM] + ([signal.SIGINT] if sigint else [])
    for sig in wanted:
        cur = signal.getsignal(sig)
        if cur in (signal.SIG_DFL, signal.default_int_handler, None):
            saved[sig] = cur
            signal.signal(sig, _raise_interrupted)
    try:
        yield
    finally:
        for sig, cur in saved.items():
            signal.signal(sig, cur if cur is not None else signal.SIG_DFL)
