"""Exception hierarchy of cppsns3.

Every error the package raises on purpose derives from :class:`CppsError`, so a
caller can catch the whole family with one ``except``.  Errors about bad input
also derive from :class:`ValueError` and carry the offending field and value in
their message.
"""

from __future__ import annotations

__all__ = [
    "CppsError",
    "ScenarioError",
    "NoFeasiblePath",
    "BlockFormatError",
    "InvalidBlock",
    "TraceFormatError",
    "SimulationError",
    "Ns3LoadError",
    "InsufficientMemory",
    "Interrupted",
]


class CppsError(Exception):
    """Root of all cppsns3 errors."""


class ScenarioError(CppsError, ValueError):
    """A scenario, sweep file or CLI option has a bad field or value."""


class NoFeasiblePath(CppsError):
    """No path between a pair of terminals meets the routing constraints.

    Attributes
    ----------
    src_bus, dst_bus : int or str
        The pair that could not be routed.
    constraint : str
        The constraint that failed (``"delay_bound_ms"``, ``"hop_bound"``,
        ``"bandwidth"`` or ``"connectivity"``).
    """

    def __init__(self, message: str, src_bus=None, dst_bus=None, constraint: str | None = None):
        super().__init__(message)
        self.src_bus = src_bus
        self.dst_bus = dst_bus
        self.constraint = constraint


class BlockFormatError(CppsError, ValueError):
    """Bytes that do not decode to a block (names the offset and what was expected)."""


class InvalidBlock(CppsError):
    """A well-formed block that fails verification.

    Attributes
    ----------
    reason : str
        Short machine-readable reason, e.g. ``"bad signature"``.
    """

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or reason)
        self.reason = reason


class TraceFormatError(CppsError, ValueError):
    """A trace file that is truncated or malformed (names file and offset)."""


class SimulationError(CppsError, RuntimeError):
    """An ns-3 run failed (abort, crash, or a broken invariant)."""


class Ns3LoadError(SimulationError):
    """The ns-3 libraries or headers could not be loaded."""


class InsufficientMemory(CppsError, ValueError):
    """A run refused before it started: its memory estimate exceeds the memory available.

    Bad input in the CLI's sense (exit 2): the request does not fit the machine.

    Attributes
    ----------
    needed_bytes : float
        The estimated peak resident memory of the run
        (:func:`cppsns3.model.memory.estimate_run_memory`).
    available_bytes : float
        What it was compared with.
    source : str
        Where ``available_bytes`` came from (``MemAvailable``, the cgroup limit,
        or ``--max-memory-gb``).
    estimate : object
        The :class:`cppsns3.model.memory.MemoryEstimate` (terms of the estimate).
    """

    def __init__(self, message: str, needed_bytes: float, available_bytes: float, source: str = "",
                 estimate=None):
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.available_bytes = available_bytes
        self.source = source
        self.estimate = estimate


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal (SIGINT or SIGTERM); its children are stopped and no
    temporary file is left.

    A :class:`KeyboardInterrupt`, so ``except KeyboardInterrupt`` catches both
    Ctrl-C and a termination request.

    Attributes
    ----------
    signum : int
        The signal number; the CLI exits with ``128 + signum`` (130, 143).
    """

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        self.signal_name = name
        super().__init__(f"interrupted by {name}")

    @property
    def exit_code(self) -> int:
        """``128 + signum``, the shell's convention for a process ended by a signal."""
        return 128 + self.signum
