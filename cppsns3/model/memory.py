"""Memory a packet-level run needs, estimated before it starts (pure: no ns-3).

The resource guard of ``cppsns3 run`` (:func:`cppsns3.sim.guard.check_run_memory`)
compares these estimates (:func:`cppsns3.sim.guard.estimate_run_memory` makes them
from a scenario and its plan) with the memory the machine has
(:func:`available_memory`) and refuses a run that does not fit, with one
line naming both figures, instead of letting the kernel's OOM killer end it.

The estimate is the peak resident memory of the run's processes, the larger
of the parent's (it makes the signed blocks) and one ns-3 child's (a child
is forked from the parent, so its resident set counts the pages it shares
with it).  Its terms (docs/performance.md, "Memory guard", has the
calibration table and the command that made it):

round mode (one child per algorithm and replication, one at a time)
    ``BASE_BYTES`` (Python, pandas, pandapower, cppyy and the ns-3 libraries,
    at fork) + ``ROUND_BUFFER_FACTOR`` x the bytes the TCP transfers buffer
    at once (every terminal's block goes to every other node at the same
    time; each transfer buffers up to ``buffer_bytes`` of its block in the
    sender's socket, the receiver's socket and the receiving application)
    + ``ROUND_TRANSFER_FACTOR`` x the bytes all transfers carry (blocks x
    destinations: the heap a round leaves behind grows with the volume it
    moved; linear up to ``ROUND_TRANSFER_KNEE_BYTES``, then as the square
    root: measured on ieee118 at 9 and 27 GB carried) + ``PORT_BYTES`` per
    directed port (device, monitor; queued segments are fragments of the
    send buffers, so they are inside the buffer term) + the blocks' bytes
    (each sender's copy).  The parent: ``PARENT_BASE_BYTES`` +
    ``PREP_BYTES_PER_BLOCK_BYTE`` x the blocks' bytes (records, encodings,
    signatures made in Python).
validate mode
    ``BASE_BYTES`` + ``VALIDATE_BYTES_PER_PACKET`` x the packets the sources
    send (every received packet's flow, sequence number, delay and arrival
    time are kept for the batch-means CI, then copied to numpy) +
    ``FLOW_BYTES`` per flow (FlowMonitor records and histograms) +
    ``PORT_BYTES`` per directed port.

The factors are fitted to measured peak RSS of real runs (ieee14/39/57/118,
round and validate, several data scales and durations) with some headroom,
so the estimate is an upper-ish bound: measured / estimate in 0.81-0.98 on
the calibration runs.  Every term is linear in what it counts, except the
round's transfer term beyond its knee (fitted on two full-volume ieee118
rounds; beyond 27 GB carried it is an extrapolation of that fit).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

__all__ = ["GB", "BASE_BYTES", "PARENT_BASE_BYTES", "MemoryEstimate", "estimate_round_memory",
           "estimate_validate_memory", "available_memory", "check_fits",
           "format_gb", "max_memory_bytes"]

#: Bytes in the GB of the messages and of ``--max-memory-gb`` (decimal, as ``free -g`` is not).
GB = 1e9
#: Resident memory of an ns-3 child of a small run (Python, pandas, pandapower, cppyy, the ns-3
#: libraries; measured 0.43-0.47 GB).
BASE_BYTES = 480e6
#: The parent's peak of a small run (it also assembles the tables and writes the files; measured
#: 0.52-0.57 GB).
PARENT_BASE_BYTES = 620e6
#: Resident bytes per byte buffered by the round's transfers at once (fitted 0.9-0.95: sender, receiver, app).
ROUND_BUFFER_FACTOR = 1.0
#: Resident bytes per byte carried by all transfers of a round (fitted 0.45-0.8 up to 1.4 GB carried).
ROUND_TRANSFER_FACTOR = 0.8
#: Beyond this many bytes carried the transfer term grows as the square root of the bytes (fitted
#: to full-volume ieee118 rounds: 9.0 GB carried -> 3.0 GB, 27 GB -> 5.7 GB above the other terms).
ROUND_TRANSFER_KNEE_BYTES = 2.5e9
#: Parent's resident bytes per byte of the signed blocks it makes (fitted 9.1-9.5).
PREP_BYTES_PER_BLOCK_BYTE = 10.0
#: Per directed port: device, monitor, per-hop tools.
PORT_BYTES = 64e3
#: Validate mode: resident bytes per packet sent (records kept per received packet, their numpy
#: copies; fitted 74-95).
VALIDATE_BYTES_PER_PACKET = 110.0
#: Validate mode: FlowMonitor and sink state per flow (fitted under 50 kB).
FLOW_BYTES = 80e3


def format_gb(n_bytes: float) -> str:
    """``n_bytes`` as ``"X.X GB"`` (three significant digits under 1 GB)."""
    gb = n_bytes / GB
    return f"{gb:.3g} GB" if gb < 1 else f"{gb:.1f} GB"


@dataclass(frozen=True)
class MemoryEstimate:
    """A run's estimated peak resident memory and the terms it is made of.

    Attributes
    ----------
    total_bytes : float
        ``max(parent_bytes, child_bytes)`` times ``concurrent`` children.
    parent_bytes, child_bytes : float
        The parent's and one child's estimated peak.
    terms : dict
        Name -> bytes of each term of ``child_bytes`` (``base``, ...).
    counts : dict
        What the terms count (``transfers``, ``buffered_bytes``, ``packets``, ...).
    mode : str
    concurrent : int
        Children running at once.
    """

    total_bytes: float
    parent_bytes: float
    child_bytes: float
    terms: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    mode: str = ""
    concurrent: int = 1

    @property
    def total_gb(self) -> float:
        return self.total_bytes / GB

    def describe(self) -> str:
        """The estimate's make-up in a few words (for the refusal line)."""
        c = self.counts
        if self.mode == "round":
            what = (f"{c['transfers']} TCP transfers of {format_gb(c['transfer_bytes'])} "
                    f"({format_gb(c['buffered_bytes'])} buffered at once)")
        else:
            what = f"{c['packets']:.3g} packets on {c['flows']} flows"
        per = "" if self.concurrent == 1 else f", {self.concurrent} children at once"
        return f"{self.mode} mode: {what}, peak {format_gb(self.child_bytes)} per child{per}"

    def to_dict(self) -> dict:
        """JSON-ready figures (``timing.json``'s ``memory_estimate``)."""
        return {"total_bytes": self.total_bytes, "parent_bytes": self.parent_bytes,
                "child_bytes": self.child_bytes, "terms": dict(self.terms), "counts": dict(self.counts),
                "mode": self.mode, "concurrent": self.concurrent}


def _finish(mode, parent, terms, counts, concurrent) -> MemoryEstimate:
    child = float(sum(terms.values()))
    return MemoryEstimate(total_bytes=max(parent, child) * max(1, concurrent), parent_bytes=float(parent),
                          child_bytes=child, terms=terms, counts=counts, mode=mode,
                          concurrent=max(1, int(concurrent)))


def _knee(x: float, knee: float) -> float:
    """``x`` up to ``knee``, then ``sqrt(knee * x)`` (continuous, concave beyond the knee)."""
    return x if x <= knee else math.sqrt(knee * x)


def estimate_round_memory(block_bytes, n_nodes: int, n_ports: int, buffer_bytes: float, *,
                          concurrent: int = 1) -> MemoryEstimate:
    """Peak memory of a round: every block sent to every other node over TCP at once.

    Parameters
    ----------
    block_bytes : sequence of float
        Size of each demand terminal's data block (``data_mb`` x data scale x 1e6).
    n_nodes : int
        Nodes of the network (each block goes to the ``n_nodes - 1`` others).
    n_ports : int
        Directed ports (2 x links).
    buffer_bytes : float
        TCP send and receive buffer per socket
        (:data:`cppsns3.sim.round.TCP_BUFFER_BYTES`).
    concurrent : int
        Children running at once.

    Returns
    -------
    MemoryEstimate

    Raises
    ------
    ValueError
        If a count is negative or a size not finite.
    """
    sizes = [float(b) for b in block_bytes]
    if any(not math.isfinite(b) or b < 0 for b in sizes) or n_nodes < 1 or n_ports < 0:
        raise ValueError(f"estimate_round_memory: bad counts (blocks {sizes[:3]}..., nodes {n_nodes}, "
                         f"ports {n_ports})")
    dests = max(n_nodes - 1, 0)
    transfer = sum(sizes) * dests
    buffered = sum(min(b, buffer_bytes) for b in sizes) * dests
    terms = {
        "base": BASE_BYTES,
        "buffers": ROUND_BUFFER_FACTOR * buffered,
        "transfers": ROUND_TRANSFER_FACTOR * _knee(transfer, ROUND_TRANSFER_KNEE_BYTES),
        "ports": PORT_BYTES * n_ports,
        "payloads": float(sum(sizes)),  # each sender's own copy of its block (BlockSender)
    }
    counts = {"transfers": len(sizes) * dests, "transfer_bytes": transfer, "buffered_bytes": buffered,
              "block_bytes": float(sum(sizes)), "nodes": n_nodes, "ports": n_ports}
    parent = PARENT_BASE_BYTES + PREP_BYTES_PER_BLOCK_BYTE * sum(sizes)
    return _finish("round", parent, terms, counts, concurrent)


def estimate_validate_memory(packets: float, n_flows: int, n_ports: int, *, concurrent: int = 1) -> MemoryEstimate:
    """Peak memory of a validation run.

    Parameters
    ----------
    packets : float
        Packets the sources send in one replication (sum of flow rates x duration).
    n_flows : int
    n_ports : int
        Directed ports.
    concurrent : int
        Children running at once.

    Returns
    -------
    MemoryEstimate

    Raises
    ------
    ValueError
        If a count is negative or not finite.
    """
    if not (math.isfinite(packets) and packets >= 0 and n_flows >= 0 and n_ports >= 0):
        raise ValueError(f"estimate_validate_memory: bad counts (packets {packets}, flows {n_flows}, "
                         f"ports {n_ports})")
    terms = {
        "base": BASE_BYTES,
        "packets": VALIDATE_BYTES_PER_PACKET * packets,
        "flows": FLOW_BYTES * n_flows,
        "ports": PORT_BYTES * n_ports,
    }
    counts = {"packets": float(packets), "flows": int(n_flows), "ports": int(n_ports)}
    return _finish("validate", PARENT_BASE_BYTES, terms, counts, concurrent)


def _read_int(path: str):
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None  # "max": no limit


def available_memory(meminfo: str = "/proc/meminfo", cgroup: str = "/sys/fs/cgroup") -> tuple:
    """Memory a new run can use now, and where the figure comes from.

    ``MemAvailable`` of ``/proc/meminfo``, or the cgroup v2 limit
    (``memory.max`` minus ``memory.current``) when that is lower.

    Returns
    -------
    (float, str)
        Bytes, and ``"MemAvailable"`` or ``"cgroup memory.max"`` (``None``
        bytes and ``"unknown"`` where neither can be read).
    """
    avail, source = None, "unknown"
    try:
        with open(meminfo) as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail, source = float(line.split()[1]) * 1024, "MemAvailable"
                    break
    except OSError:
        pass
    limit = _read_int(os.path.join(cgroup, "memory.max"))
    if limit is not None:
        current = _read_int(os.path.join(cgroup, "memory.current")) or 0
        room = float(max(limit - current, 0))
        if avail is None or room < avail:
            avail, source = room, "cgroup memory.max"
    return avail, source


def max_memory_bytes(max_memory_gb) -> float:
    """``--max-memory-gb`` in bytes.

    Raises
    ------
    ScenarioError
        If the value is not a finite number > 0.
    """
    from cppsns3.errors import ScenarioError

    ok = isinstance(max_memory_gb, (int, float)) and not isinstance(max_memory_gb, bool)
    if not ok or not math.isfinite(max_memory_gb) or max_memory_gb <= 0:
        raise ScenarioError(f"--max-memory-gb must be a number > 0, got {max_memory_gb!r}")
    return float(max_memory_gb) * GB


def check_fits(estimate: MemoryEstimate, max_memory_gb: float | None = None, *, available=None) -> None:
    """Refuse a run whose estimate does not fit the memory available.

    Parameters
    ----------
    estimate : MemoryEstimate
    max_memory_gb : float, optional
        Replaces the available figure (``--max-memory-gb``): a run of an
        estimate up to this many GB goes ahead whatever the machine reports.
    available : (float, str), optional
        :func:`available_memory`'s answer (default: asked now).

    Raises
    ------
    ScenarioError
        If ``max_memory_gb`` is not a positive finite number.
    InsufficientMemory
        If the estimate exceeds the available memory (names both figures).
    """
    from cppsns3.errors import InsufficientMemory

    if max_memory_gb is not None:
        avail, source = max_memory_bytes(max_memory_gb), "--max-memory-gb"
    else:
        avail, source = available if available is not None else available_memory()
        if avail is None:
            return  # nothing to compare with (not Linux): the run goes ahead
    if estimate.total_bytes <= avail:
        return
    where = "set by --max-memory-gb" if source == "--max-memory-gb" else f"{source}"
    raise InsufficientMemory(
        f"memory: the run needs about {format_gb(estimate.total_bytes)} ({estimate.describe()}), "
        f"{format_gb(avail)} available ({where}); use --max-memory-gb to override",
        needed_bytes=estimate.total_bytes, available_bytes=avail, source=source, estimate=estimate)
