"""Data blocks of a requested size from real power-flow measurements.

The paper's terminals produce several MB per sampling period (4 to 14 MB in
its IEEE-39 experiment).  :func:`block_of_size` builds such a block from a
:func:`~cppsns3.chain.measurements.power_flow_series` frame: the terminal's
quantities are sampled ``m`` times within one sampling period, at times
``t0 + (i + 1) * period_s / m`` (so the last sample is at the block
timestamp ``t0 + period_s``), each value linearly interpolated between the
frame's rows at ``t0`` and ``t0 + period_s`` — a high-rate recording of the
period.  ``m`` is the smallest count whose encoding reaches the target; the
last sample may hold only some of the quantities so the block is at least
``size_mb * 10**6`` bytes and less than one record (about 40 bytes) above it.
Such a block satisfies a time-driven
:class:`~cppsns3.chain.DataAcquisitionContract` with ``period_s`` and
``time_scale_s`` equal to the sampling period.

MB here is 10**6 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .block import SIGNATURE_BYTES, DataBlock, _check_id
from .keys import Terminal
from .measurements import Measurement, measurements_for_terminal, power_flow_series
from .merkle import merkle_root

__all__ = ["block_of_size", "block_body", "BlockBody", "measurements_of_size"]

_U16 = struct.Struct(">H")
_DD = struct.Struct(">dd")


def _header_len(terminal_id: str) -> int:
    return 4 + 1 + 32 + 8 + 32 + 2 + len(terminal_id.encode("utf-8")) + 4


def _plan(frame: pd.DataFrame, terminal: Terminal, bus, step: int | None, time_s: float | None,
          grid: str | None):
    if step is None and time_s is None:
        step = 0
    if step is None:
        times = frame.index.to_numpy(dtype=float)
        step = int(np.searchsorted(times, float(time_s), side="right") - 1)
        step = max(step, 0)
    if not 0 <= step < len(frame):
        raise ValueError(f"step {step} is outside the frame's {len(frame)} rows")
    row0 = frame.iloc[step]
    row1 = frame.iloc[step + 1] if step + 1 < len(frame) else row0
    b = terminal.bus if bus is None else bus
    m0 = measurements_for_terminal(row0, terminal.terminal_id, b, grid=grid)
    if not m0:
        raise ValueError(f"terminal {terminal.terminal_id!r} at bus {b!r} measures nothing in this grid")
    m1 = measurements_for_terminal(row1, terminal.terminal_id, b, grid=grid)
    return float(row0.name), m0, m1


def _records_of_size(terminal: Terminal, size_bytes: int, t0: float, period_s: float,
                     m0: list, m1: list):
    ids = [m.id for m in m0]
    v0 = np.array([m.value for m in m0])
    v1 = np.array([m.value for m in m1])
    prefixes = []
    for i in ids:
        raw = _check_id("measurement id", i, allow_slash=True)
        prefixes.append(_U16.pack(len(raw)) + raw)
    rec_len = [len(p) + 16 for p in prefixes]
    per_sample = sum(rec_len)
    body = max(size_bytes - _header_len(terminal.terminal_id) - SIGNATURE_BYTES, 0)
    full = body // per_sample
    rest = body - full * per_sample
    extra = 0
    acc = 0
    while acc < rest:
        acc += rec_len[extra]
        extra += 1
    samples = full + (1 if extra else 0)
    if samples == 0:
        samples, extra = 1, 1
    frac = np.arange(1, samples + 1, dtype=float) / samples
    times = t0 + frac * period_s
    values = v0[None, :] + frac[:, None] * (v1 - v0)[None, :]
    pack = _DD.pack
    new = tuple.__new__
    recs: list[bytes] = []
    ms: list[Measurement] = []
    tl = times.tolist()
    vl = values.tolist()
    nq = len(ids)
    for s in range(samples):
        k = nq if (s < samples - 1 or extra == 0) else extra
        t = tl[s]
        row = vl[s]
        recs.extend([prefixes[q] + pack(t, row[q]) for q in range(k)])
        ms.extend([new(Measurement, (ids[q], t, row[q])) for q in range(k)])
    return ms, recs, float(times[-1])


def measurements_of_size(terminal: Terminal, size_mb: float, frame: pd.DataFrame | None = None, *,
                         grid: str = "case39", bus=None, step: int | None = None,
                         time_s: float | None = None, period_s: float = 900.0,
                         seed: int = 0) -> list[Measurement]:
    """The measurements :func:`block_of_size` would package.

    Returns
    -------
    list of Measurement

    Raises
    ------
    ValueError
        As :func:`block_of_size`.
    """
    if frame is None:
        frame = power_flow_series(grid, days=1, seed=seed)
    t0, m0, m1 = _plan(frame, terminal, bus, step, time_s, None if frame.attrs else grid)
    ms, _, _ = _records_of_size(terminal, int(round(size_mb * 1e6)), t0, period_s, m0, m1)
    return ms


def block_of_size(terminal: Terminal, size_mb: float, frame: pd.DataFrame | None = None, *,
                  grid: str = "case39", bus=None, step: int | None = None,
                  time_s: float | None = None, period_s: float = 900.0,
                  prev_hash: bytes = bytes(32), timestamp_s: float | None = None,
                  seed: int = 0) -> DataBlock:
    """A signed data block of about ``size_mb`` MB of the terminal's real measurements.

    Parameters
    ----------
    terminal : Terminal
        Signs the block; its ``bus`` picks the quantities unless ``bus`` is given.
    size_mb : float
        Target encoded size in MB (10**6 bytes); the block is at least that
        and less than one record above it (a tiny target gives one record).
    frame : pandas.DataFrame, optional
        A :func:`power_flow_series` frame; default ``power_flow_series(grid,
        days=1, seed=seed)`` (cached per process).
    grid : str, default "case39"
        Grid of the default frame (and of the column-to-bus map if the frame
        lost its ``attrs``).
    bus : int or str or iterable, optional
        The bus(es) whose quantities the terminal measures.
    step : int, optional
        Row of the frame that starts the sampling period (default 0, or the
        row at or before ``time_s``).
    time_s : float, optional
        Start of the sampling period, instead of ``step``.
    period_s : float, default 900
        Length of the sampling period.
    prev_hash : bytes, default 32 zero bytes
    timestamp_s : float, optional
        Block timestamp; default the end of the sampling period.
    seed : int, default 0
        Seed of the default frame.

    Returns
    -------
    DataBlock

    Raises
    ------
    ValueError
        If ``size_mb`` is not positive, the step is outside the frame, or the
        terminal measures nothing at its bus.
    """
    body = block_body(terminal, size_mb, frame, grid=grid, bus=bus, step=step, time_s=time_s,
                      period_s=period_s, seed=seed)
    return body.seal(prev_hash, timestamp_s)


@dataclass(frozen=True)
class BlockBody:
    """The records of a data block and their Merkle root, before the header is signed.

    What :func:`block_of_size` builds in two parts: the body (records, root:
    all the hashing) does not depend on the chain, :meth:`seal` adds the
    header (previous hash, timestamp) and the signature.  The co-simulation
    makes the next step's bodies while the network of the current step runs
    and seals them once the chain's tip is known.

    Attributes
    ----------
    terminal : Terminal
    measurements : list of Measurement
    records : list of bytes
        The encoded records (the Merkle tree's leaves).
    merkle_root : bytes
    end_s : float
        Time of the last sample (the default timestamp).
    """

    terminal: Terminal
    measurements: list
    records: list
    merkle_root: bytes
    end_s: float

    def seal(self, prev_hash: bytes = bytes(32), timestamp_s: float | None = None) -> DataBlock:
        """The signed :class:`DataBlock` of this body.

        Parameters
        ----------
        prev_hash : bytes, default 32 zero bytes
        timestamp_s : float, optional
            Default :attr:`end_s`.

        Returns
        -------
        DataBlock

        Raises
        ------
        ValueError
            If ``prev_hash`` is not 32 bytes or the timestamp is not finite.
        """
        ts = self.end_s if timestamp_s is None else timestamp_s
        tid = self.terminal.terminal_id
        header = DataBlock.header_for(prev_hash, ts, self.merkle_root, tid, len(self.records))
        blk = DataBlock(prev_hash, ts, self.merkle_root, tid, self.measurements, self.terminal.sign(header),
                        _records=self.records)
        blk._body_root = self.merkle_root
        return blk


def block_body(terminal: Terminal, size_mb: float, frame: pd.DataFrame | None = None, *,
               grid: str = "case39", bus=None, step: int | None = None, time_s: float | None = None,
               period_s: float = 900.0, seed: int = 0) -> BlockBody:
    """The unsigned body of :func:`block_of_size` (same parameters, no chain fields).

    Returns
    -------
    BlockBody

    Raises
    ------
    ValueError
        As :func:`block_of_size`.

    Examples
    --------
    >>> from cppsns3.chain import Terminal, power_flow_series
    >>> from cppsns3.chain.sized import block_body
    >>> t = Terminal.from_seed("T5", 5, 1)
    >>> body = block_body(t, 0.01, power_flow_series("case39", days=1, seed=1))
    >>> blk = body.seal(bytes(32))
    >>> blk.computed_merkle_root() == body.merkle_root and len(blk.to_bytes()) >= 10000
    True
    """
    if not (size_mb > 0 and np.isfinite(size_mb)):
        raise ValueError(f"size_mb must be a positive number, got {size_mb!r}")
    if frame is None:
        frame = power_flow_series(grid, days=1, seed=seed)
    t0, m0, m1 = _plan(frame, terminal, bus, step, time_s, None if frame.attrs else grid)
    ms, recs, t_end = _records_of_size(terminal, int(round(size_mb * 1e6)), t0, period_s, m0, m1)
    return BlockBody(terminal, ms, recs, merkle_root(recs), t_end)
