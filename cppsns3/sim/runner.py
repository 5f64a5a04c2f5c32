"""Run ns-3 work in a child process, so an ns-3 abort never takes the caller down.

The child is forked (ns-3 state is per process; forking after the parent
imported only pure modules is cheap), its stdout/stderr file descriptors go to
a temporary log, and the function's return value comes back through a pipe.
A crash, abort or exception in the child becomes a :class:`SimulationError`
that names what ran and quotes the last lines the child printed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import tempfile
import traceback

from cppsns3.errors import CppsError, SimulationError

__all__ = ["run_in_child", "start_child", "ChildRun", "ChildFailure"]

_TAIL_LINES = 8


class ChildFailure(SimulationError):
    """A child run failed; ``.tail`` holds the last lines it printed."""

    def __init__(self, message: str, tail: str = "", exitcode: int | None = None):
        super().__init__(message)
        self.tail = tail
        self.exitcode = exitcode


def _child(conn, log_path, func, args, kwargs):
    # cppyy answers a fatal signal by attaching gdb and printing a long stack
    # trace, which buries ns-3's own message (NS_FATAL_ERROR, NS_ASSERT): die
    # at once instead, so the last output lines are ns-3's.
    for name in ("SIGABRT", "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    # The parent decides about Ctrl-C (it stops this child and cleans up);
    # a SIGTERM sent to the child ends it; and the child never outlives its
    # parent, however that ends (SIGKILL, the OOM killer).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # Python-level streams too (a test runner may have replaced them).
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    try:
        result = func(*args, **kwargs)
        conn.send(("ok", result))
    except CppsError as exc:
        conn.send(("error", (type(exc).__name__, str(exc), isinstance(exc, ValueError))))
    except ValueError as exc:
        conn.send(("error", ("ValueError", str(exc), True)))
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        traceback.print_exc()
        conn.send(("error", (type(exc).__name__, str(exc), False)))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.close()


def _die_with_parent() -> None:
    """Linux: ask for SIGKILL when the parent ends (prctl PR_SET_PDEATHSIG); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    parent = mp.parent_process()
    if parent is not None and parent.pid is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent ended before prctl took effect


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    lines = [ln for ln in lines if ln.strip() and "Failed to materialize symbols" not in ln]
    return "\n".join(lines[-_TAIL_LINES:])


def run_in_child(func, *args, label: str = "run", fresh: bool = False, **kwargs):
    """Call ``func(*args, **kwargs)`` in a forked child and return its result.

    Parameters
    ----------
    func : callable
        A picklable-result function; it may load ns-3.
    label : str
        Names the work in error messages (e.g. ``"scenario ieee39.toml seed 1"``).
    fresh : bool
        Start a new interpreter (spawn) instead of forking: for work that
        must run before the process has made any ns-3 packet, such as
        ``PacketMetadata::Enable`` (ASCII/pcap tracing).  ``func`` and the
        arguments must then be picklable.

    Raises
    ------
    ValueError
        If the child raised a ValueError (bad input), re-raised with its message.
    SimulationError
        If the child raised any other error, crashed or aborted.
    """
    return start_child(func, *args, label=label, fresh=fresh, **kwargs).wait()


class ChildRun:
    """A child started by :func:`start_child`; :meth:`wait` returns its result.

    The caller may do other work between the start and :meth:`wait` (the
    co-simulation prepares the next step's grid side while a round runs).
    """

    def __init__(self, func, args, kwargs, label: str, fresh: bool):
        self.label = label
        ctx = mp.get_context("spawn" if fresh else "fork")
        fd, self._log = tempfile.mkstemp(prefix="cppsns3-child-", suffix=".log")
        os.close(fd)
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(child, self._log, func, args, kwargs), daemon=True)
        try:
            self._proc.start()
        except BaseException:
            self._cleanup()
            raise
        finally:
            child.close()
        self._done = False

    def wait(self):
        """The child's return value (waits for it).

        Raises
        ------
        ValueError, SimulationError
            As :func:`run_in_child`.
        RuntimeError
            If called twice.
        """
        if self._done:
            raise RuntimeError(f"{self.label}: wait() was already called")
        self._done = True
        proc = self._proc
        try:
            try:
                status, payload = self._conn.recv()
            except EOFError:
                status, payload = "crash", None
            proc.join()
            if status == "ok":
                return payload
            tail = _tail(self._log)
            where = f" (last output: {' | '.join(tail.splitlines()[-3:])})" if tail else ""
            if status == "error":
                name, msg, is_value = payload
                if is_value:
                    from cppsns3 import errors

                    cls = getattr(errors, name, None)
                    if isinstance(cls, type) and issubclass(cls, ValueError):
                        raise cls(msg)  # e.g. ScenarioError keeps its class
                    raise ValueError(msg)
                raise ChildFailure(f"{self.label} failed: {name}: {msg}{where}", tail, proc.exitcode)
            raise ChildFailure(
                f"{self.label} crashed (exit code {proc.exitcode}){where}", tail, proc.exitcode
            )
        finally:
            self._cleanup()

    def cancel(self) -> None:
        """Kill the child if it still runs and release its resources."""
        self._done = True
        self._cleanup()

    def _cleanup(self) -> None:
        self._conn.close()
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        try:
            os.unlink(self._log)
        except OSError:
            pass


def start_child(func, *args, label: str = "run", fresh: bool = False, **kwargs) -> ChildRun:
    """Start ``func(*args, **kwargs)`` in a child (as :func:`run_in_child`) and return at once.

    Returns
    -------
    ChildRun
        Call :meth:`ChildRun.wait` for the result (or :meth:`ChildRun.cancel`).
    """
    return ChildRun(func, args, kwargs, label, fresh)
