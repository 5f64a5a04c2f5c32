"""The paper's two smart contracts: registration and data acquisition.

Registration contract (event-driven)
    Triggered when a terminal joins: its ID and access location (a bus of the
    grid) are bound to an identity and its Ed25519 public key.  A second
    registration of the same ID, a location that is not a bus, a bus that
    already has a terminal (one terminal per geographic position, unless
    ``one_terminal_per_bus=False``), or a key already bound to another ID is
    refused.  :class:`Registry` holds the bindings and verifies blocks
    against them.

Data-acquisition contract (time- or event-driven)
    :class:`DataAcquisitionContract` carries the paper's tolerance Δt
    (``tolerance_s``), sensor count n (``sensor_count``), data type TY
    (``data_types``) and time scale δ (``time_scale_s``), plus the trigger
    (``"time"``, ``"event"`` or ``"both"``), the period and the schedule
    origin.  Its rules, checked in this order when it turns measurements into
    a block and when a received block is verified against it:

    1. the block's terminal is the contract's terminal (``wrong terminal``);
    2. a time-driven block is due: its timestamp lies within Δt of a scheduled
       time ``start_time_s + k * period_s`` (k >= 0) (``timestamp outside
       tolerance``); an event-driven one may come at any time, but a
       time-only contract refuses ``event=True`` (``not event-driven``);
    3. every measurement ID starts with ``terminal_id + "/"`` (``foreign data``);
    4. every quantity is in TY (``data type``);
    5. every measurement time lies in ``[timestamp - δ - Δt, timestamp + Δt]``:
       a block carries the data of one time scale δ before its timestamp
       (``outside time scale``);
    6. the block holds readings of exactly n distinct sensors (IDs), and at
       least one reading (``sensor count``).

    The paper names these four parameters without fixing their meaning
    further; the rules above are this package's reading of them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import CppsError, InvalidBlock
from . import reasons as R
from .block import DataBlock, GeneratorBlock
from .keys import Terminal
from .measurements import QUANTITIES, grid_buses, measurements_for_terminal

__all__ = [
    "Registration",
    "RegistrationError",
    "ContractViolation",
    "Registry",
    "DataAcquisitionContract",
]


class RegistrationError(CppsError, ValueError):
    """The registration contract refused a terminal.

    Attributes
    ----------
    reason : str
        ``"duplicate id"``, ``"not a bus"``, ``"location taken"``,
        ``"duplicate key"``, ``"bad key"`` or ``"bad id"``.
    """

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or reason)
        self.reason = reason


class ContractViolation(CppsError, ValueError):
    """Data outside the rules of a data-acquisition contract.

    Attributes
    ----------
    reason : str
        One of the contract reasons of :mod:`cppsns3.chain.reasons`.
    """

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or reason)
        self.reason = reason


@dataclass(frozen=True)
class Registration:
    """A terminal's binding: ID and location to identity and public key.

    Attributes
    ----------
    terminal_id : str
    bus : int or str
    public_key : bytes
        32 raw Ed25519 bytes.
    identity : str
        The unique identification in the blockchain system: the first 20
        bytes of ``SHA-256(public_key)``, in hex.
    """

    terminal_id: str
    bus: object
    public_key: bytes
    identity: str


def _norm_bus(b):
    try:
        f = float(b)
        if f.is_integer():
            return int(f)
    except (TypeError, ValueError):
        pass
    return str(b)


class Registry:
    """Registration contract plus block verification against it.

    Parameters
    ----------
    buses : iterable of int or str
        The grid's buses (access locations a terminal may register at).
    one_terminal_per_bus : bool, default True
        Refuse a second terminal at an occupied bus.

    Examples
    --------
    >>> reg = Registry(buses=range(1, 15))
    >>> t = Terminal.generate("T7", 7)
    >>> _ = reg.register("T7", 7, t.public_key)
    >>> reg.verify(t.make_block([("T7/vm_pu/bus7", 1.7e9, 1.02)], bytes(32), 1.7e9))
    """

    def __init__(self, buses: Iterable, *, one_terminal_per_bus: bool = True):
        self.buses = frozenset(_norm_bus(b) for b in buses)
        self.one_terminal_per_bus = one_terminal_per_bus
        self._by_id: dict[str, Registration] = {}
        self._by_bus: dict[object, str] = {}
        self._by_key: dict[bytes, str] = {}
        self._keys: dict[str, Ed25519PublicKey] = {}
        self.seen: set[bytes] = set()

    @classmethod
    def for_grid(cls, grid: str, **kwargs) -> "Registry":
        """A registry whose locations are the buses of a grid.

        Parameters
        ----------
        grid : str
            ``pandapower.networks`` function name or JSON path.
        **kwargs
            Passed to the constructor.

        Raises
        ------
        ScenarioError
            If the grid cannot be loaded.
        """
        return cls(grid_buses(grid), **kwargs)

    # -- registration contract ---------------------------------------------------
    def register(self, terminal_id: str, bus, public_key: bytes) -> Registration:
        """Register a joining terminal (the event of the registration contract).

        Parameters
        ----------
        terminal_id : str
            Non-empty, no ``/``.
        bus : int or str
            Its access location; must be a bus of the grid.
        public_key : bytes
            32 raw Ed25519 public-key bytes.

        Returns
        -------
        Registration

        Raises
        ------
        RegistrationError
            ``bad id``, ``bad key``, ``duplicate id``, ``not a bus``,
            ``location taken`` or ``duplicate key`` (checked in that order).
        """
        if not isinstance(terminal_id, str) or not terminal_id or "/" in terminal_id \
                or len(terminal_id.encode("utf-8", "surrogatepass")) > 0xFFFF:
            raise RegistrationError(R.BAD_ID, f"terminal_id must be a non-empty str without '/', "
                                    f"got {terminal_id!r}")
        if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != 32:
            raise RegistrationError(R.BAD_KEY, f"public_key of {terminal_id!r} must be 32 raw "
                                    f"Ed25519 bytes")
        public_key = bytes(public_key)
        try:
            key = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise RegistrationError(R.BAD_KEY, f"public_key of {terminal_id!r} is not an Ed25519 key") from None
        if terminal_id in self._by_id:
            raise RegistrationError(R.DUPLICATE_ID, f"terminal_id {terminal_id!r} is already registered "
                                    f"(at bus {self._by_id[terminal_id].bus!r})")
        b = _norm_bus(bus)
        if b not in self.buses:
            raise RegistrationError(R.NOT_A_BUS, f"bus {bus!r} of {terminal_id!r} is not a bus of the grid")
        if self.one_terminal_per_bus and b in self._by_bus:
            raise RegistrationError(R.LOCATION_TAKEN, f"bus {bus!r} already has terminal "
                                    f"{self._by_bus[b]!r}")
        if public_key in self._by_key:
            raise RegistrationError(R.DUPLICATE_KEY, f"public_key of {terminal_id!r} is already bound "
                                    f"to {self._by_key[public_key]!r}")
        reg = Registration(terminal_id, b, public_key, hashlib.sha256(public_key).hexdigest()[:40])
        self._by_id[terminal_id] = reg
        self._by_bus[b] = terminal_id
        self._by_key[public_key] = terminal_id
        self._keys[terminal_id] = key
        return reg

    def register_terminal(self, terminal: Terminal) -> Registration:
        """``register(terminal.terminal_id, terminal.bus, terminal.public_key)``.

        Raises
        ------
        RegistrationError
            As :meth:`register`.
        """
        return self.register(terminal.terminal_id, terminal.bus, terminal.public_key)

    def lookup(self, terminal_id: str) -> Registration | None:
        """The registration of a terminal ID, or None."""
        return self._by_id.get(terminal_id)

    def __contains__(self, terminal_id) -> bool:
        return terminal_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def registrations(self) -> list[Registration]:
        """All registrations, in registration order."""
        return list(self._by_id.values())

    def copy(self) -> "Registry":
        """A registry with the same registrations and its own (copied) replay memory."""
        other = Registry(self.buses, one_terminal_per_bus=self.one_terminal_per_bus)
        other._by_id = dict(self._by_id)
        other._by_bus = dict(self._by_bus)
        other._by_key = dict(self._by_key)
        other._keys = dict(self._keys)
        other.seen = set(self.seen)
        return other

    # -- verification --------------------------------------------------------------
    def check_signed(self, block: DataBlock | GeneratorBlock) -> None:
        """Signer, signature and Merkle root of a block, without replay memory.

        Raises
        ------
        InvalidBlock
            ``unknown signer``, ``bad signature`` or ``merkle mismatch``
            (checked in that order).
        TypeError
            If ``block`` is not a DataBlock or GeneratorBlock.
        """
        if isinstance(block, DataBlock):
            signer = block.terminal_id
        elif isinstance(block, GeneratorBlock):
            signer = block.generator_id
        else:
            raise TypeError(f"expected a DataBlock or GeneratorBlock, got {type(block).__name__}")
        key = self._keys.get(signer)
        if key is None:
            raise InvalidBlock(R.UNKNOWN_SIGNER, f"unknown signer: {signer!r} is not registered")
        try:
            key.verify(block.signature, block.header_bytes)
        except InvalidSignature:
            raise InvalidBlock(R.BAD_SIGNATURE, f"bad signature: header of block "
                               f"{block.hash().hex()[:16]} is not signed by {signer!r}") from None
        if block.computed_merkle_root() != block.merkle_root:
            raise InvalidBlock(R.MERKLE_MISMATCH, f"merkle mismatch: the body of block "
                               f"{block.hash().hex()[:16]} does not match its header's Merkle root")

    def verify(self, block: DataBlock | GeneratorBlock, *,
               contract: "DataAcquisitionContract | None" = None, remember: bool = True) -> None:
        """Verify a block; remember its hash so a replay is refused.

        Parameters
        ----------
        block : DataBlock or GeneratorBlock
        contract : DataAcquisitionContract, optional
            Also check the block against this data-acquisition contract.
        remember : bool, default True
            Add the accepted block's hash to :attr:`seen`.

        Returns
        -------
        None

        Raises
        ------
        InvalidBlock
            ``unknown signer``, ``bad signature``, ``merkle mismatch``,
            ``replay``, or a contract reason (checked in that order).
        TypeError
            If ``block`` is not a block.
        """
        self.check_signed(block)
        h = block.hash()
        if h in self.seen:
            raise InvalidBlock(R.REPLAY, f"replay: block {h.hex()[:16]} was accepted before")
        if contract is not None and isinstance(block, DataBlock):
            try:
                contract.check_block(block)
            except ContractViolation as exc:
                raise InvalidBlock(exc.reason, str(exc)) from None
        if remember:
            self.seen.add(h)

    def verify_bytes(self, raw: bytes, **kwargs) -> DataBlock:
        """Decode received data-block bytes and :meth:`verify` them.

        Returns
        -------
        DataBlock

        Raises
        ------
        BlockFormatError
            If the bytes do not decode.
        InvalidBlock
            As :meth:`verify`.
        """
        blk = DataBlock.from_bytes(raw)
        self.verify(blk, **kwargs)
        return blk


@dataclass(frozen=True)
class DataAcquisitionContract:
    """A terminal's data-acquisition contract (see the module docstring for the rules).

    Parameters
    ----------
    terminal_id : str
        The terminal it governs.
    trigger : {"time", "event", "both"}, default "time"
        Time-driven (a block every ``period_s``), event-driven, or both.
    period_s : float, default 900
        Block period of the time-driven mechanism (the measuring cycle).
    tolerance_s : float, default 1.0
        Δt: how far a block's timestamp may stray from its scheduled time, and
        measurement times from the block's time window.
    sensor_count : int or None, default None
        n: the number of distinct sensors (measurement IDs) per block; None
        accepts any positive number.
    data_types : frozenset of str, default all quantities
        TY: the quantities (``vm_pu``, ``p_mw``, ...) the terminal may report.
    time_scale_s : float, default 900
        δ: the span of measuring time one block covers, ending at its timestamp.
    start_time_s : float, default 0
        Origin of the time-driven schedule.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    terminal_id: str
    trigger: str = "time"
    period_s: float = 900.0
    tolerance_s: float = 1.0
    sensor_count: int | None = None
    data_types: frozenset = field(default_factory=lambda: frozenset(QUANTITIES))
    time_scale_s: float = 900.0
    start_time_s: float = 0.0

    def __post_init__(self):
        if self.trigger not in ("time", "event", "both"):
            raise ValueError(f"trigger must be 'time', 'event' or 'both', got {self.trigger!r}")
        for name in ("period_s", "time_scale_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
        if not (isinstance(self.tolerance_s, (int, float)) and self.tolerance_s >= 0
                and not math.isnan(self.tolerance_s)):
            raise ValueError(f"tolerance_s must be >= 0, got {self.tolerance_s!r}")
        if self.sensor_count is not None and (not isinstance(self.sensor_count, int)
                                              or self.sensor_count < 1):
            raise ValueError(f"sensor_count must be a positive int or None, got {self.sensor_count!r}")
        if isinstance(self.data_types, str):
            raise ValueError("data_types must be a collection of quantity names, not a str")
        object.__setattr__(self, "data_types", frozenset(self.data_types))
        if not math.isfinite(self.start_time_s):
            raise ValueError(f"start_time_s must be finite, got {self.start_time_s!r}")

    def due_time(self, timestamp_s: float) -> float:
        """The scheduled time nearest ``timestamp_s`` (never before the origin)."""
        k = max(0, round((timestamp_s - self.start_time_s) / self.period_s))
        return self.start_time_s + k * self.period_s

    def check(self, terminal_id: str, measurements, timestamp_s: float, *, event: bool = False) -> None:
        """Check that data may be packaged into a block under this contract.

        Parameters
        ----------
        terminal_id : str
            The producing terminal.
        measurements : sequence of Measurement
        timestamp_s : float
            The block's timestamp.
        event : bool, default False
            The block is triggered by an event rather than the schedule.

        Raises
        ------
        ContractViolation
            With the reason of the first broken rule (module docstring order).
        """
        if terminal_id != self.terminal_id:
            raise ContractViolation(R.WRONG_TERMINAL, f"terminal {terminal_id!r} is not the "
                                    f"contract's terminal {self.terminal_id!r}")
        if event:
            if self.trigger == "time":
                raise ContractViolation(R.NOT_EVENT_DRIVEN, f"contract of {self.terminal_id!r} "
                                        f"is time-driven only; event block refused")
        elif self.trigger == "time":
            due = self.due_time(timestamp_s)
            if abs(timestamp_s - due) > self.tolerance_s:
                raise ContractViolation(R.TIMESTAMP_OUTSIDE_TOLERANCE,
                                        f"timestamp {timestamp_s!r} is {abs(timestamp_s - due):.6g} s "
                                        f"from the scheduled time {due!r} (tolerance {self.tolerance_s} s)")
        prefix = self.terminal_id + "/"
        lo = timestamp_s - self.time_scale_s - self.tolerance_s
        hi = timestamp_s + self.tolerance_s
        ids = set()
        tys = self.data_types
        for m in measurements:
            mid, t = m[0], m[1]
            if mid not in ids:
                if not mid.startswith(prefix):
                    raise ContractViolation(R.FOREIGN_DATA, f"measurement {mid!r} is not "
                                            f"{self.terminal_id!r}'s (expected prefix {prefix!r})")
                parts = mid.split("/")
                q = parts[1] if len(parts) > 1 else ""
                if q not in tys:
                    raise ContractViolation(R.DATA_TYPE, f"measurement {mid!r}: quantity {q!r} "
                                            f"not in the contract's data types {sorted(tys)}")
                ids.add(mid)
            if not lo <= t <= hi:
                raise ContractViolation(R.OUTSIDE_TIME_SCALE, f"measurement {mid!r} at {t!r} is "
                                        f"outside [{lo!r}, {hi!r}] (time scale {self.time_scale_s} s, "
                                        f"tolerance {self.tolerance_s} s)")
        if not ids or (self.sensor_count is not None and len(ids) != self.sensor_count):
            raise ContractViolation(R.SENSOR_COUNT, f"block of {self.terminal_id!r} has {len(ids)} "
                                    f"sensors, contract wants {self.sensor_count or 'at least 1'}")

    def check_block(self, block: DataBlock) -> None:
        """Check a received data block against the contract.

        An event-driven or ``"both"`` contract accepts any timestamp.

        Raises
        ------
        ContractViolation
            As :meth:`check`.
        """
        self.check(block.terminal_id, block.measurements, block.timestamp_s,
                   event=self.trigger != "time")

    def make_block(self, terminal: Terminal, measurements, prev_hash: bytes, timestamp_s: float,
                   *, event: bool = False) -> DataBlock:
        """Turn measurements into a signed block, refusing data outside the rules.

        Raises
        ------
        ContractViolation
            As :meth:`check`.
        ValueError
            If a measurement or field is malformed.
        """
        ms = list(measurements)
        self.check(terminal.terminal_id, ms, timestamp_s, event=event)
        return terminal.make_block(ms, prev_hash, timestamp_s)

    def blocks_from_series(self, terminal: Terminal, frame: pd.DataFrame, bus=None, *,
                           prev_hash: bytes = bytes(32), grid: str | None = None) -> list[DataBlock]:
        """Time-driven blocks over a :func:`power_flow_series` frame.

        One block at every scheduled time that has data in the frame, holding
        the terminal's measurements within the time scale δ before it; each
        block's ``prev_hash`` is the hash of the one before (the first gets
        ``prev_hash``).

        Parameters
        ----------
        terminal : Terminal
        frame : pandas.DataFrame
            A :func:`power_flow_series` frame (or a slice of it).
        bus : int or str or iterable, optional
            The terminal's bus(es); default ``terminal.bus``.
        prev_hash : bytes, default 32 zero bytes
        grid : str, optional
            Needed only if the frame lost its ``attrs``.

        Returns
        -------
        list of DataBlock

        Raises
        ------
        ContractViolation
            If a block breaks the contract (e.g. wrong ``sensor_count``).
        """
        if self.trigger == "event":
            raise ContractViolation(R.NOT_TIME_DRIVEN,
                                    "blocks_from_series needs a time-driven contract")
        times = frame.index.to_numpy(dtype=float)
        if len(times) == 0:
            return []
        ms = measurements_for_terminal(frame, terminal.terminal_id,
                                       terminal.bus if bus is None else bus, grid=grid,
                                       quantities=self.data_types)
        first = self.due_time(times[0])
        if first < times[0] - self.tolerance_s:
            first += self.period_s
        blocks: list[DataBlock] = []
        prev = prev_hash
        ts = first
        i = 0
        n = len(ms)
        last = times[-1] + self.time_scale_s
        while ts <= last + self.tolerance_s:
            lo = ts - self.time_scale_s
            while i < n and ms[i].time_s <= lo:
                i += 1
            j = i
            while j < n and ms[j].time_s <= ts:
                j += 1
            if j > i:
                blk = self.make_block(terminal, ms[i:j], prev, ts)
                blocks.append(blk)
                prev = blk.hash()
            ts += self.period_s
            if i >= n:
                break
        return blocks
