"""Measurements ⟨ID, time, value⟩ and the power-flow series they come from.

A :class:`Measurement` is the paper's three-element record ⟨ID, time, value⟩
(Yang et al. 2018, "Data block structure").  Its ``id`` names the terminal, the
quantity and the grid element, separated by ``/``::

    T7/vm_pu/bus7        voltage magnitude of bus 7, measured by terminal T7
    T7/va_degree/bus7    voltage angle of bus 7
    T7/i_ka/line3        current of line 3 (pandapower index), from-end
    T7/p_mw/line3        active power into line 3 at its from-bus
    T7/q_mvar/line3      reactive power into line 3 at its from-bus
    T7/p_mw/trafo0       active power into transformer 0 at its HV bus
    T7/q_mvar/trafo0     reactive power into transformer 0 at its HV bus
    T7/closed/switch2    switch state (1.0 closed, 0.0 open)

Buses are named by the grid's bus ``name`` (the IEEE number in IEEE cases);
lines, transformers and switches by their pandapower index.  A terminal at bus
``b`` measures the bus quantities of ``b``, every line whose from-bus is ``b``,
every transformer whose HV bus is ``b`` and every switch at ``b``.

:func:`power_flow_series` gives a wide frame (one row per time step, one column
per ``quantity/element``) from a power flow at every step of a synthetic load
profile; :func:`measurements_for_terminal` turns rows of it into
:class:`Measurement` records with the terminal's ID in front.

Synthetic daily load profile
----------------------------
Every load's ``p_mw`` and ``q_mvar`` (constant power factor) is its case value
times :func:`load_profile` of the local time of day (UTC is used as local
time) times ``1 + e`` with ``e ~ N(0, noise_std)`` drawn independently per load
and step from ``numpy.random.default_rng(seed)``.  The profile is a base of
0.55 plus Gaussian bumps (in hours, wrapped around midnight)::

    weekday:  0.55 + 0.22 g(h; 8.5, 1.8) + 0.10 g(h; 13, 3) + 0.40 g(h; 19, 2.2)
    weekend:  0.52 + 0.15 g(h; 10.5, 2.5) + 0.08 g(h; 14, 3) + 0.36 g(h; 19.5, 2.5)

with ``g(h; mu, sigma) = exp(-d^2 / (2 sigma^2))`` and ``d`` the circular
distance in hours; Saturday and Sunday are weekend days.  Generator (``gen``
and ``sgen``) active power follows the noise-free profile so the slack bus
only balances the noise and the losses.

SimBench profiles
-----------------
A grid from the simbench package (``"simbench:CODE"``, see
:func:`cppsns3.model.grid.load_grid`) carries its own time series in
``net.profiles``.  On such a net (``net.profiles`` non-empty) the absolute
values ``simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)``
replace the synthetic profile: step ``s`` (time ``start_time_s + s * step_s``)
uses profile row ``int(round(s * step_s / 900)) % n_rows`` (SimBench steps are
15 min; the year wraps around) for every load's ``p_mw`` and ``q_mvar``, every
static generator's and storage unit's ``p_mw`` and, where the profiles give
them, the generators' ``p_mw``; an element without a profile column keeps its
case value.  No noise is added (``noise_std`` and ``seed`` do not change the
values): the profiles are the data.  :attr:`PowerFlowStepper.profile_source`
tells which profile a stepper uses (``"synthetic"`` or ``"simbench"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import CppsError, ScenarioError

__all__ = [
    "Measurement",
    "PowerFlowError",
    "DEFAULT_START_TIME_S",
    "QUANTITIES",
    "load_grid",
    "grid_buses",
    "PowerFlowStepper",
    "day_type",
    "load_profile",
    "power_flow_series",
    "column_buses",
    "measurements_for_terminal",
    "parse_measurement_id",
]

#: 2017-08-14 00:00:00 UTC, a Monday (the week of the paper's Table 1 record).
DEFAULT_START_TIME_S = 1502668800.0

#: Quantities a measurement ID may name, with the element kind each applies to.
QUANTITIES = {
    "vm_pu": "bus",
    "va_degree": "bus",
    "i_ka": "line",
    "p_mw": "line/trafo",
    "q_mvar": "line/trafo",
    "closed": "switch",
}

_SECONDS_PER_DAY = 86400.0


class PowerFlowError(CppsError, RuntimeError):
    """The power flow of a time step did not converge (names grid and step)."""


class Measurement(NamedTuple):
    """One measured value, the paper's ⟨ID, time, value⟩.

    Parameters
    ----------
    id : str
        ``"TERMINAL/quantity/element"``, e.g. ``"T7/vm_pu/bus7"``; at most
        65535 UTF-8 bytes.
    time_s : float
        Measuring time, seconds since the Unix epoch (finite).
    value : float
        Measured value in the unit the quantity names (finite).

    Notes
    -----
    A tuple subclass: cheap to build in bulk, hashable, compares as a tuple.
    Use :meth:`checked` to validate a record built from untrusted input; the
    block encoder validates every record it encodes.
    """

    id: str
    time_s: float
    value: float

    @classmethod
    def checked(cls, id: str, time_s: float, value: float) -> "Measurement":
        """Build a measurement, refusing a bad ID or a non-finite number.

        Raises
        ------
        ValueError
            If ``id`` is not a non-empty string, or ``time_s`` or ``value`` is
            not a finite float.
        """
        if not isinstance(id, str) or not id:
            raise ValueError(f"measurement id must be a non-empty str, got {id!r}")
        t = float(time_s)
        v = float(value)
        if not math.isfinite(t):
            raise ValueError(f"measurement time_s must be finite, got {time_s!r}")
        if not math.isfinite(v):
            raise ValueError(f"measurement value must be finite, got {value!r}")
        return cls(id, t, v)

    @property
    def terminal_id(self) -> str:
        """The terminal part of the ID (before the first ``/``)."""
        return self.id.split("/", 1)[0]

    @property
    def quantity(self) -> str:
        """The quantity part of the ID (``vm_pu``, ``p_mw``, ...), or ``""``."""
        parts = self.id.split("/")
        return parts[1] if len(parts) > 1 else ""

    @property
    def element(self) -> str:
        """The element part of the ID (``bus7``, ``line3``, ...), or ``""``."""
        parts = self.id.split("/")
        return parts[2] if len(parts) > 2 else ""


def parse_measurement_id(mid: str) -> tuple[str, str, str]:
    """Split ``"T7/vm_pu/bus7"`` into ``("T7", "vm_pu", "bus7")``.

    Raises
    ------
    ValueError
        If the ID does not have exactly three non-empty ``/``-separated parts.
    """
    parts = mid.split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"measurement id must be TERMINAL/quantity/element, got {mid!r}")
    return parts[0], parts[1], parts[2]


# --------------------------------------------------------------------------- grid


def _bus_label(name, index) -> int | str:
    """The label of one bus (the rule of :func:`cppsns3.model.grid.bus_label`)."""
    from cppsns3.model.grid import bus_label

    return bus_label(name, index)


def load_grid(grid):
    """A grid by ``pandapower.networks`` name or JSON path (:func:`cppsns3.model.grid.load_grid`).

    A pandapower net object is returned as a deep copy.

    Raises
    ------
    ScenarioError
        If the name is not a network function or the file does not exist.
    """
    import copy

    if not isinstance(grid, str):
        return copy.deepcopy(grid)
    from cppsns3.model.grid import load_grid as _load

    return _load(grid)


def _grid_net(grid):
    """The net of a grid name or net object, for reading only."""
    if not isinstance(grid, str):
        return grid
    from cppsns3.model.grid import cached_grid

    return cached_grid(grid)


def grid_name(grid) -> str:
    """The name of a grid given by name or as a net object."""
    if isinstance(grid, str):
        return grid
    name = getattr(grid, "name", "") or ""
    return name if isinstance(name, str) and name.strip() else "net"


def grid_buses(grid) -> list[int | str]:
    """Bus labels of a grid (name or net object), in bus-index order.

    Raises
    ------
    ScenarioError
        If the grid cannot be loaded.
    """
    from cppsns3.model.grid import bus_labels

    return list(bus_labels(_grid_net(grid)).values())


# ------------------------------------------------------------------- load profile


def day_type(time_s) -> np.ndarray:
    """Day type of epoch times: 0 for Monday–Friday, 1 for Saturday/Sunday (UTC).

    Parameters
    ----------
    time_s : float or array_like
        Seconds since the Unix epoch.

    Returns
    -------
    numpy.ndarray of int
    """
    t = np.asarray(time_s, dtype=float)
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    weekday = (np.floor(t / _SECONDS_PER_DAY).astype(np.int64) + 3) % 7
    return (weekday >= 5).astype(int)


def _bump(h: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    d = np.abs(h - mu)
    d = np.minimum(d, 24.0 - d)
    return np.exp(-0.5 * (d / sigma) ** 2)


def load_profile(time_s) -> np.ndarray:
    """Noise-free load factor (fraction of the case's load) at epoch times.

    The documented synthetic weekday/weekend profile of this module's
    docstring; values lie between about 0.55 and 1.0.

    Parameters
    ----------
    time_s : float or array_like
        Seconds since the Unix epoch (UTC taken as local time).

    Returns
    -------
    numpy.ndarray of float
    """
    t = np.asarray(time_s, dtype=float)
    h = np.mod(t, _SECONDS_PER_DAY) / 3600.0
    weekday = 0.55 + 0.22 * _bump(h, 8.5, 1.8) + 0.10 * _bump(h, 13.0, 3.0) + 0.40 * _bump(h, 19.0, 2.2)
    weekend = 0.52 + 0.15 * _bump(h, 10.5, 2.5) + 0.08 * _bump(h, 14.0, 3.0) + 0.36 * _bump(h, 19.5, 2.5)
    return np.where(day_type(t) == 1, weekend, weekday)


# ---------------------------------------------------------------- power flow run


def _columns_and_buses(net) -> tuple[list[str], dict[str, int | str], list[tuple[str, str, str, object]]]:
    """Column names, their bus, and (column, table, field, index) extraction plan."""
    from cppsns3.model.grid import bus_labels

    label = bus_labels(net)
    cols: list[str] = []
    bus_of: dict[str, int | str] = {}
    plan: list[tuple[str, str, str, object]] = []

    def add(col, bus_idx, table, field, idx):
        cols.append(col)
        bus_of[col] = label[bus_idx]
        plan.append((col, table, field, idx))

    for i in net.bus.index:
        b = label[i]
        add(f"vm_pu/bus{b}", i, "res_bus", "vm_pu", i)
        add(f"va_degree/bus{b}", i, "res_bus", "va_degree", i)
    for i, fb in zip(net.line.index, net.line.from_bus):
        add(f"i_ka/line{i}", fb, "res_line", "i_ka", i)
        add(f"p_mw/line{i}", fb, "res_line", "p_from_mw", i)
        add(f"q_mvar/line{i}", fb, "res_line", "q_from_mvar", i)
    for i, hv in zip(net.trafo.index, net.trafo.hv_bus):
        add(f"p_mw/trafo{i}", hv, "res_trafo", "p_hv_mw", i)
        add(f"q_mvar/trafo{i}", hv, "res_trafo", "q_hv_mvar", i)
    for i, b in zip(net.switch.index, net.switch.bus):
        add(f"closed/switch{i}", b, "switch", "closed", i)
    return cols, bus_of, plan


def column_buses(grid) -> dict[str, int | str]:
    """Map each column of :func:`power_flow_series` to the bus whose terminal measures it.

    Raises
    ------
    ScenarioError
        If the grid cannot be loaded.
    """
    _, bus_of, _ = _columns_and_buses(_grid_net(grid))
    return dict(bus_of)


def _run(net, init: str) -> None:
    import pandapower as pp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if init == "results":
            pp.runpp(net, init="results", numba=False,
                     recycle=dict(trafo=False, gen=True, bus_pq=True))
        else:
            pp.runpp(net, init=init, numba=False)


def _net_key(grid) -> str:
    """Cache key of a grid: its name, or a digest of the net object's JSON."""
    if isinstance(grid, str):
        return "name:" + grid
    import hashlib

    import pandapower as pp

    return "net:" + hashlib.sha256(pp.to_json(grid).encode()).hexdigest()


_SERIES_CACHE: dict = {}
_SERIES_CACHE_SIZE = 16


def _series_cached(grid, days: int, step_s: float, seed: int, start_time_s: float,
                   noise_std: float) -> pd.DataFrame:
    key = (_net_key(grid), days, step_s, seed, start_time_s, noise_std)
    frame = _SERIES_CACHE.get(key)
    if frame is None:
        frame = _series(grid, days, step_s, seed, start_time_s, noise_std)
        if len(_SERIES_CACHE) >= _SERIES_CACHE_SIZE:
            _SERIES_CACHE.pop(next(iter(_SERIES_CACHE)))
        _SERIES_CACHE[key] = frame
    return frame


#: SimBench profile time step, seconds (15 min).
SIMBENCH_STEP_S = 900.0


def _simbench_values(net, grid: str) -> dict | None:
    """``(element, field) -> frame`` of a net's SimBench absolute profiles, or None without profiles."""
    profiles = net.get("profiles") if hasattr(net, "get") else None
    if not isinstance(profiles, dict) or not any(
            isinstance(v, pd.DataFrame) and len(v) for v in profiles.values()):
        return None
    try:
        import simbench

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    except Exception as exc:  # noqa: BLE001 - a net whose profiles do not fit it
        msg = " ".join(str(exc).split())[:200]
        raise ScenarioError(f"grid: the SimBench profiles of {grid!r} do not apply ({msg})") from None
    return values


class PowerFlowStepper:
    """The power flow of one grid at the steps of its load profile.

    The synthetic daily profile of the module docstring, or, on a net with
    SimBench profiles (``net.profiles``), those profiles: step ``s`` uses
    profile row ``int(round(s * step_s / 900)) % n_rows`` for load
    ``p_mw``/``q_mvar``, sgen and storage ``p_mw`` (gen ``p_mw`` where given),
    without noise (module docstring, "SimBench profiles").

    What :func:`power_flow_series` computes row by row, opened up for a
    co-simulation: between steps the caller may change the working net
    (:attr:`net`, a copy: e.g. take a line out of service) and must then call
    :meth:`topology_changed`.

    Parameters
    ----------
    grid : str or pandapowerNet
    n_steps : int
    step_s, seed, start_time_s, noise_std
        As :func:`power_flow_series` (``seed`` and ``noise_std`` are unused
        with SimBench profiles).

    Attributes
    ----------
    profile_source : str
        ``"synthetic"`` or ``"simbench"``.
    profile_rows : numpy.ndarray or None
        The SimBench profile row of every step (None for the synthetic profile).
    """

    def __init__(self, grid, n_steps: int, step_s: float = 900.0, seed: int = 0,
                 start_time_s: float = DEFAULT_START_TIME_S, noise_std: float = 0.01):
        net = load_grid(grid)
        self.net = net
        self.grid = grid_name(grid)
        self.columns, self.column_bus, plan = _columns_and_buses(net)
        self.times = start_time_s + step_s * np.arange(n_steps, dtype=float)
        self.factor = load_profile(self.times)
        rng = np.random.default_rng(seed)
        self._p0 = net.load.p_mw.to_numpy(dtype=float).copy()
        self._q0 = net.load.q_mvar.to_numpy(dtype=float).copy()
        self._g0 = net.gen.p_mw.to_numpy(dtype=float).copy()
        self._s0 = net.sgen.p_mw.to_numpy(dtype=float).copy()
        self._noise = rng.normal(0.0, noise_std, size=(n_steps, len(self._p0)))
        self.profile_source = "synthetic"
        self.profile_rows = None
        self._set: list[tuple[str, str, np.ndarray]] = []  # (table, field, values[step, element])
        values = _simbench_values(net, self.grid)
        if values is not None:
            self._use_simbench(values, n_steps, float(step_s))
        # Group the extraction plan per result table for vectorised reads.
        self._groups: dict[tuple[str, str], tuple[list[int], list[object]]] = {}
        for k, (_, table, field, idx) in enumerate(plan):
            pos, ids = self._groups.setdefault((table, field), ([], []))
            pos.append(k)
            ids.append(idx)
        self._ok = False

    def _use_simbench(self, values: dict, n_steps: int, step_s: float) -> None:
        n_rows = max((len(v) for v in values.values() if isinstance(v, pd.DataFrame)), default=0)
        if n_rows == 0:
            return
        rows = np.array([int(round(s * step_s / SIMBENCH_STEP_S)) % n_rows for s in range(n_steps)],
                        dtype=np.int64)
        for table, fld in (("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"), ("storage", "p_mw"),
                           ("gen", "p_mw")):
            frame = values.get((table, fld))
            elements = self.net[table] if table in self.net else None
            if frame is None or elements is None or not len(elements) or frame.shape[1] == 0:
                continue
            if len(frame) != n_rows:
                raise ScenarioError(f"grid: the SimBench profiles of {self.grid!r} differ in length "
                                    f"({table} {fld}: {len(frame)} rows, not {n_rows})")
            case = elements[fld].to_numpy(dtype=float)
            v = frame.reindex(columns=elements.index).to_numpy(dtype=float)[rows]
            v = np.where(np.isnan(v), case[None, :], v)  # no profile column: the case value
            self._set.append((table, fld, v))
        self.profile_source = "simbench"
        self.profile_rows = rows

    def topology_changed(self) -> None:
        """The next power flow starts afresh (no recycled results)."""
        self._ok = False

    def solve(self, s: int) -> np.ndarray:
        """Set the loads of step ``s``, run the power flow, return the row of values.

        Raises
        ------
        PowerFlowError
            If the power flow does not converge.
        """
        import pandapower as pp

        net, f = self.net, self.factor[s]
        if self.profile_rows is not None:
            for table, fld, v in self._set:
                net[table][fld] = v[s]
            where = f"SimBench profile row {int(self.profile_rows[s])}"
        else:
            net.load["p_mw"] = self._p0 * f * (1.0 + self._noise[s])
            net.load["q_mvar"] = self._q0 * f * (1.0 + self._noise[s])
            if len(self._g0):
                net.gen["p_mw"] = self._g0 * f
            if len(self._s0):
                net.sgen["p_mw"] = self._s0 * f
            where = f"load factor {f:.3f}"
        try:
            _run(net, "results" if self._ok else "auto")
            self._ok = True
        except pp.LoadflowNotConverged:
            try:
                _run(net, "flat")
                self._ok = True
            except pp.LoadflowNotConverged as exc:
                self._ok = False
                raise PowerFlowError(
                    f"power flow of grid {self.grid!r} did not converge at step {s} "
                    f"(time_s={self.times[s]:.0f}, {where})") from exc
        row = np.empty(len(self.columns), dtype=float)
        for (table, field), (pos, ids) in self._groups.items():
            row[pos] = getattr(net, table)[field].loc[ids].to_numpy(dtype=float)
        return row

    def frame(self, rows, steps) -> pd.DataFrame:
        """Rows of :meth:`solve` as a :func:`power_flow_series` frame."""
        frame = pd.DataFrame(np.asarray(rows, dtype=float).reshape(len(steps), len(self.columns)),
                             index=pd.Index(self.times[list(steps)], name="time_s"), columns=self.columns)
        frame.attrs["grid"] = self.grid
        frame.attrs["column_bus"] = dict(self.column_bus)
        return frame


def _series(grid, days: int, step_s: float, seed: int, start_time_s: float,
            noise_std: float) -> pd.DataFrame:
    n_steps = int(round(days * _SECONDS_PER_DAY / step_s))
    st = PowerFlowStepper(grid, n_steps, step_s, seed, start_time_s, noise_std)
    return st.frame([st.solve(s) for s in range(n_steps)], range(n_steps))


def power_flow_series(grid, days: int = 1, step_s: float = 900.0, seed: int = 0,
                      start_time_s: float = DEFAULT_START_TIME_S,
                      noise_std: float = 0.01) -> pd.DataFrame:
    """Power-flow measurements of a grid over ``days`` days of load-profile steps.

    The synthetic load profile, or a SimBench grid's own profiles (module
    docstring, "SimBench profiles"; the seed and the noise do not apply then).

    Parameters
    ----------
    grid : str or pandapowerNet
        ``pandapower.networks`` function name (``"case39"``), JSON path, or a
        net object (not changed: the power flows run on a copy).
    days : int, default 1
        Number of days; ``days * 86400 / step_s`` rows (96 a day at 15 min).
    step_s : float, default 900
        Time step in seconds.
    seed : int, default 0
        Seed of the per-load multiplicative noise.
    start_time_s : float, default :data:`DEFAULT_START_TIME_S`
        Epoch seconds of the first row (a Monday 00:00 UTC by default).
    noise_std : float, default 0.01
        Standard deviation of the per-load, per-step relative load noise.

    Returns
    -------
    pandas.DataFrame
        Index ``time_s`` (float epoch seconds); one float column per
        ``quantity/element`` (``vm_pu/bus7``, ``p_mw/line3``, ...; see the
        module docstring).  ``frame.attrs["column_bus"]`` maps each column to
        the bus whose terminal measures it and ``frame.attrs["grid"]`` names
        the grid.  Results are cached per process; the caller gets a copy.

    Raises
    ------
    ScenarioError
        If ``grid`` cannot be loaded or ``days``/``step_s`` are not positive.
    PowerFlowError
        If a step's power flow does not converge.
    """
    if int(days) != days or days < 1:
        raise ScenarioError(f"days must be a positive integer, got {days!r}")
    if not (isinstance(step_s, (int, float)) and math.isfinite(step_s) and step_s > 0):
        raise ScenarioError(f"step_s must be a positive number of seconds, got {step_s!r}")
    if not math.isfinite(float(start_time_s)):
        raise ScenarioError(f"start_time_s must be finite, got {start_time_s!r}")
    if not (noise_std >= 0 and math.isfinite(noise_std)):
        raise ScenarioError(f"noise_std must be >= 0, got {noise_std!r}")
    frame = _series_cached(grid, int(days), float(step_s), int(seed), float(start_time_s),
                           float(noise_std))
    out = frame.copy()
    out.attrs = {"grid": frame.attrs["grid"], "column_bus": dict(frame.attrs["column_bus"])}
    return out


# ------------------------------------------------------------ terminal records


def _terminal_columns(columns: Sequence[str], column_bus: dict, buses: set) -> list[str]:
    return [c for c in columns if column_bus.get(c) in buses]


def _resolve_column_bus(obj, grid: str | None) -> dict:
    cb = getattr(obj, "attrs", {}).get("column_bus") if hasattr(obj, "attrs") else None
    if cb:
        return cb
    g = grid or (getattr(obj, "attrs", {}) or {}).get("grid")
    if g is None:
        raise ValueError("cannot tell which bus each column belongs to: pass grid=")
    return column_buses(g)


def measurements_for_terminal(frame_row_or_frame, terminal_id: str, bus,
                              grid: str | None = None,
                              quantities: Iterable[str] | None = None) -> list[Measurement]:
    """The measurements a terminal takes from rows of :func:`power_flow_series`.

    Parameters
    ----------
    frame_row_or_frame : pandas.Series or pandas.DataFrame
        One row (its ``name`` is the time in epoch seconds) or a frame (every
        row, in order).
    terminal_id : str
        The terminal's ID; it prefixes every measurement ID.
    bus : int or str or iterable of them
        The bus (or the buses of a merged site) the terminal sits at.
    grid : str, optional
        Grid name, needed only if the frame lost its ``attrs``.
    quantities : iterable of str, optional
        Keep only these quantities (e.g. ``{"vm_pu", "p_mw"}``).

    Returns
    -------
    list of Measurement
        Ordered by time, then by column order.

    Raises
    ------
    ValueError
        If the column-to-bus map cannot be found, or ``terminal_id`` is empty
        or contains ``/``.
    """
    if not isinstance(terminal_id, str) or not terminal_id or "/" in terminal_id:
        raise ValueError(f"terminal_id must be a non-empty str without '/', got {terminal_id!r}")
    buses = {bus} if isinstance(bus, (int, str, np.integer)) else set(bus)
    buses = {_bus_label(b, 0) for b in buses}  # 7, np.int64(7), "7" and 7.0 all name bus 7
    column_bus = _resolve_column_bus(frame_row_or_frame, grid)
    if isinstance(frame_row_or_frame, pd.Series):
        frame = frame_row_or_frame.to_frame().T
        times = np.array([float(frame_row_or_frame.name)])
    else:
        frame = frame_row_or_frame
        times = frame.index.to_numpy(dtype=float)
    cols = _terminal_columns(list(frame.columns), column_bus, buses)
    if quantities is not None:
        qs = set(quantities)
        cols = [c for c in cols if c.split("/", 1)[0] in qs]
    if not cols:
        return []
    values = frame[cols].to_numpy(dtype=float)
    ids = [f"{terminal_id}/{c}" for c in cols]
    out: list[Measurement] = []
    new = tuple.__new__
    for t, row in zip(times.tolist(), values.tolist()):
        out.extend(new(Measurement, (i, t, v)) for i, v in zip(ids, row))
    return out

