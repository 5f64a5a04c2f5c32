"""State estimation at the generator over the measurements that arrived in time.

In each step of the co-simulation the demand terminals sign data blocks of
their measurements of that step's power flow and send them through the ns-3
network; a block that reaches the generator node after the contract's
tolerance, or not at all, is missing.  The consumer at the generator runs
pandapower's state estimation (:func:`pandapower.estimation.estimate`) over
what did arrive, and the estimate is compared with the step's true power flow.

What a terminal reports
-----------------------
:func:`measurement_table` gives, for terminals at the given buses, the
quantities of :mod:`cppsns3.chain.measurements` that pandapower's estimator
takes, with the same ownership (the extraction plan of that module is reused,
not restated): a terminal at bus ``b`` reports

* ``v``: the voltage magnitude of ``b`` (p.u.);
* ``p``, ``q``: the active and reactive power into every line whose from-bus
  is ``b``, at the from end (``side="from"``), and into every two-winding
  transformer whose HV bus is ``b``, at the HV end (``side="hv"``), MW / MVAr.

The other quantities of a data block (voltage angle, line current, switch
state) are not fed to the estimator: angles need a phasor-capable estimator,
currents make a flat-start WLS ill-conditioned, switch states are topology.
An element that is out of service, or has a de-energised bus (no finite
``res_bus.vm_pu``), gives no row.

Measurement noise (:class:`NoiseStd`)
-------------------------------------
``value = true + std_dev * z`` with ``z ~ N(0, 1)`` and

* voltage: ``std_dev = vm_pu`` (default 0.004 p.u., 0.4 %: a voltage
  transformer and transducer chain of accuracy class 0.2 to 0.5);
* flows: ``std_dev = pq_abs + pq_rel * |true|`` (default 0.01 MW / MVAr plus
  1 %: class-0.5 to 1 metering; the absolute floor keeps the weight of a
  near-zero flow finite).

``z`` comes from ``numpy.random.default_rng((seed, step))``, one draw per
measurement the whole grid could report, in the order of the extraction plan;
a measurement's noise therefore depends on ``(seed, step)`` and the
measurement only, never on which other terminals are asked for: the table of a
subset of buses is the subset of the full table's rows.

The consumer (:func:`estimate`)
-------------------------------
* **Its own bus.**  The generator is a node of the network too and reads the
  meters of its own bus without the network: ``local_bus=`` names that bus
  (the co-simulation passes the generator's bus), and its rows are always
  used, whether or not its block arrived.  They are the rows
  :func:`measurement_table` gives for that bus with the table's own
  ``seed``, ``step`` and noise (kept in ``table.attrs``), so the numbers are
  the same as if they had come through the network.  ``local_bus=None``
  (the default) adds nothing.
* **Zero injections** (``zero_injection=True``, the default).  A bus with no
  in-service load, sgen, gen, ext_grid, shunt, ward, xward, storage, motor or
  DC line end injects exactly nothing; standard SE practice adds ``P = Q = 0``
  injection pseudo-measurements there, with the small standard deviation
  :data:`ZERO_INJECTION_STD` (0.001 MW / MVAr, pandapower's own value for its
  virtual zero-injection measurements).  They are knowledge of the grid
  model, not data from terminals, and are counted in ``n_measurements`` and
  in ``n_pseudo``.
* **Observability.**  With ``n`` energised buses and ``s`` slack buses there
  are ``2 n - s`` states (``2 n - 1`` with one slack); fewer measurements
  than states, an estimator that fails or does not converge, or a
  non-finite estimate give ``ok=False`` with a one-line ``reason``, never an
  exception: ``"unobservable: 9 measurements for 27 states"`` (too few, the
  estimator is not run), ``"unobservable: singular gain matrix (39
  measurements for 27 states)"`` (enough in number, but some states are not
  reached: WLS stopped on a non-finite step), ``"not converged in 50
  iterations"``, ``"estimator failed: ..."``.  Bad *input* (a malformed
  table, an unknown bus, a net without power-flow results) raises
  ``ValueError``.

Error bound.  With every bus a terminal, each bus voltage is measured
directly (std ``vm_pu``) and WLS only adds information, so each estimated
``vm_pu`` has a standard deviation of at most ``vm_pu``; the maximum over the
39 buses of case39 stays below ``3.5 * vm_pu`` = 0.014 p.u. with probability
above 98 %.  In practice, with the redundant flows, it is about 0.001 p.u.

The measurements are written into the copy of the net as one table with the
columns and dtypes of :func:`pandapower.create_measurement`'s (the test suite
checks that it equals the row-by-row result): ``create_measurement`` costs
about 2.4 ms a row, which on case39 would double the time of an estimate.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import operator
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "NoiseStd",
    "SEResult",
    "TABLE_COLUMNS",
    "ZERO_INJECTION_STD",
    "measurement_table",
    "estimate",
]

#: Columns of a :func:`measurement_table`, in order.
TABLE_COLUMNS = ("meas_type", "element_type", "element", "side", "value", "std_dev", "bus")

#: Standard deviation (MW and MVAr) of the zero-injection pseudo-measurements.
ZERO_INJECTION_STD = 0.001

#: Fields of the extraction plan of :mod:`cppsns3.chain.measurements` the
#: estimator takes: (result table, field) -> (meas_type, element_type, side).
_SE_FIELDS = {
    ("res_bus", "vm_pu"): ("v", "bus", None),
    ("res_line", "p_from_mw"): ("p", "line", "from"),
    ("res_line", "q_from_mvar"): ("q", "line", "from"),
    ("res_trafo", "p_hv_mw"): ("p", "trafo", "hv"),
    ("res_trafo", "q_hv_mvar"): ("q", "trafo", "hv"),
}

#: The buses of each element type, for the in-service / energised check.
_ELEMENT_BUSES = {"bus": (), "line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus")}

#: Sides a table row may name, per element type (``None``: no side).
_SIDES = {"bus": {None}, "line": {"from", "to"}, "trafo": {"hv", "lv"}}

#: Measurement types a table row may carry, per element type.
_MEAS_TYPES = {"bus": {"v", "va", "p", "q"}, "line": {"p", "q", "i"}, "trafo": {"p", "q", "i"}}

#: Elements that inject power at a bus: (table, bus column).
_INJECTORS = (("load", "bus"), ("sgen", "bus"), ("gen", "bus"), ("ext_grid", "bus"), ("shunt", "bus"),
              ("ward", "bus"), ("xward", "bus"), ("storage", "bus"), ("motor", "bus"),
              ("asymmetric_load", "bus"), ("asymmetric_sgen", "bus"),
              ("dcline", "from_bus"), ("dcline", "to_bus"))

_INITS = ("flat", "results", "slack")


@dataclass(frozen=True)
class NoiseStd:
    """Standard deviations of the measurement noise (see the module docstring).

    Parameters
    ----------
    vm_pu : float, default 0.004
        Voltage magnitude, p.u. (> 0).
    pq_abs : float, default 0.01
        Absolute part of a P or Q flow's standard deviation, MW or MVAr (> 0).
    pq_rel : float, default 0.01
        Relative part (fraction of ``|true value|``, >= 0).

    Raises
    ------
    ValueError
        If a value is not finite or out of range.
    """

    vm_pu: float = 0.004
    pq_abs: float = 0.01
    pq_rel: float = 0.01

    def __post_init__(self):
        for name, low_ok in (("vm_pu", False), ("pq_abs", False), ("pq_rel", True)):
            v = getattr(self, name)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"std.{name} must be a number, got {getattr(self, name)!r}") from None
            if not math.isfinite(v) or v < 0 or (v == 0 and not low_ok):
                raise ValueError(f"std.{name} must be {'>= 0' if low_ok else '> 0'} and finite, got {v!r}")
            object.__setattr__(self, name, v)


def _noise_std(std) -> NoiseStd:
    if std is None:
        return NoiseStd()
    if isinstance(std, NoiseStd):
        return std
    if isinstance(std, Mapping):
        unknown = set(std) - {"vm_pu", "pq_abs", "pq_rel"}
        if unknown:
            raise ValueError(f"std has unknown keys {sorted(map(str, unknown))}; allowed: vm_pu, pq_abs, pq_rel")
        return NoiseStd(**std)
    raise ValueError(f"std must be None, a NoiseStd or a mapping, got {std!r}")


@dataclass(frozen=True)
class SEResult:
    """The outcome of one state estimation (:func:`estimate`).

    Attributes
    ----------
    ok : bool
        The estimator converged to a finite estimate.
    reason : str or None
        Why not, in one line (``None`` when ``ok``).
    max_vm_error_pu, mean_vm_error_pu : float
        Maximum and mean of ``|vm_pu estimated - vm_pu true|`` over the
        energised buses; ``nan`` when not ``ok``.
    n_measurements : int
        Distinct measurements given to the estimator: the table's, the local
        bus's and the zero-injection pseudo-measurements.
    n_states : int
        ``2 n - s`` (``n`` energised buses, ``s`` slack buses among them).
    converged : bool
        The estimator ran and reported success.
    max_va_error_deg : float
        Maximum ``|va_degree estimated - va_degree true|``; ``nan`` when not ``ok``.
    n_local : int
        Of ``n_measurements``, those of ``local_bus`` (the consumer's own meters).
    n_pseudo : int
        Of ``n_measurements``, the zero-injection pseudo-measurements.
    iterations : int or None
        Iterations the estimator reported, if it ran and reported them.
    bus_estimate : pandas.DataFrame
        Per energised bus (index ``bus``: the bus label): ``vm_pu``,
        ``va_degree`` (estimated), ``vm_pu_true``, ``va_degree_true``,
        ``vm_error_pu`` (estimated minus true).  Empty when not ``ok``.
    """

    ok: bool
    reason: str | None
    max_vm_error_pu: float
    mean_vm_error_pu: float
    n_measurements: int
    n_states: int
    converged: bool
    max_va_error_deg: float = math.nan
    n_local: int = 0
    n_pseudo: int = 0
    iterations: int | None = None
    bus_estimate: pd.DataFrame = field(default=None, compare=False, repr=False)


_BUS_COLUMNS = ("vm_pu", "va_degree", "vm_pu_true", "va_degree_true", "vm_error_pu")


# ----------------------------------------------------------------- helpers


def _nonneg_int(v, name: str) -> int:
    try:
        i = operator.index(v)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 0, got {v!r}") from None
    if i < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
    return int(i)


def _check_solved(net) -> None:
    res = getattr(net, "res_bus", None)
    if res is None or len(res) != len(net.bus) or "vm_pu" not in res or not res.index.equals(net.bus.index):
        raise ValueError("the net has no power-flow results (res_bus): run pandapower.runpp first")


def _energised(net) -> pd.Series:
    """Bus index -> in service with a finite power-flow voltage."""
    vm = net.res_bus.vm_pu.reindex(net.bus.index).to_numpy(dtype=float)
    return pd.Series(net.bus.in_service.to_numpy(dtype=bool) & np.isfinite(vm), index=net.bus.index)


def _labels_of(net, buses) -> set:
    """The bus labels ``buses`` names (one label or an iterable), checked against the net."""
    from cppsns3.model.grid import bus_label, bus_labels

    if buses is None:
        return set()
    if isinstance(buses, (str, int, np.integer)):
        buses = [buses]
    known = set(bus_labels(net).values())
    out = set()
    for b in buses:
        if b is None or (isinstance(b, float) and math.isnan(b)):
            raise ValueError(f"bus labels must not be missing, got {b!r}")
        lab = bus_label(b, 0)
        if lab not in known:
            raise ValueError(f"{b!r} is not a bus label of the net")
        out.add(lab)
    return out


def _candidates(net) -> pd.DataFrame:
    """Every measurement a terminal of the net could report, in extraction-plan order.

    Columns: meas_type, element_type, element, side, true, bus (owner label), usable.
    """
    from cppsns3.chain.measurements import _columns_and_buses

    _, bus_of, plan = _columns_and_buses(net)
    energised = _energised(net)
    rows = []
    for col, table, fld, idx in plan:
        kind = _SE_FIELDS.get((table, fld))
        if kind is None:
            continue
        mt, et, side = kind
        elem = net[et]
        usable = bool(elem.at[idx, "in_service"]) if et != "bus" else bool(energised.at[idx])
        for bcol in _ELEMENT_BUSES[et]:
            usable = usable and bool(energised.get(elem.at[idx, bcol], False))
        true = float(net[table].at[idx, fld]) if idx in net[table].index else math.nan
        rows.append((mt, et, int(idx), side, true, bus_of[col], usable and math.isfinite(true)))
    return pd.DataFrame(rows, columns=["meas_type", "element_type", "element", "side", "true", "bus", "usable"])


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({"meas_type": pd.Series(dtype=object), "element_type": pd.Series(dtype=object),
                         "element": pd.Series(dtype=np.int64), "side": pd.Series(dtype=object),
                         "value": pd.Series(dtype=float), "std_dev": pd.Series(dtype=float),
                         "bus": pd.Series(dtype=object)})


# ------------------------------------------------------------ measurements


def measurement_table(net, buses, *, seed, step, std=None) -> pd.DataFrame:
    """The measurements the terminals at ``buses`` report for pandapower's estimator.

    Parameters
    ----------
    net : pandapowerNet
        A net whose power flow has been solved: its ``res_*`` tables hold the
        true values.  Not changed.
    buses : bus label or iterable of bus labels
        The reporting terminals' buses (labels of
        :func:`cppsns3.model.grid.bus_labels`; ``7``, ``"7"`` and ``7.0``
        all name bus 7).
    seed, step : int
        The noise comes from ``numpy.random.default_rng((seed, step))``
        (both >= 0): same seed and step, same numbers.
    std : NoiseStd or mapping, optional
        Noise standard deviations; default :class:`NoiseStd()` (0.004 p.u.;
        0.01 MW / MVAr plus 1 %).  A mapping overrides some fields.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`: ``meas_type`` (``"v"``, ``"p"``,
        ``"q"``), ``element_type`` (``"bus"``, ``"line"``, ``"trafo"``),
        ``element`` (pandapower index), ``side`` (``None``, ``"from"``,
        ``"hv"``), ``value`` (noisy), ``std_dev``, ``bus`` (the reporting
        terminal's label); rows in the order of the extraction plan of
        :mod:`cppsns3.chain.measurements` (bus voltages, lines, trafos).
        ``attrs`` holds ``seed``, ``step`` and ``std`` (a dict), which
        :func:`estimate` reads for ``local_bus``; filtering rows keeps them.

    Raises
    ------
    ValueError
        If a bus is not a label of the net, the net has no power-flow
        results, or ``seed``, ``step`` or ``std`` is bad.
    """
    noise = _noise_std(std)
    seed = _nonneg_int(seed, "seed")
    step = _nonneg_int(step, "step")
    _check_solved(net)
    wanted = _labels_of(net, buses)
    cand = _candidates(net)
    z = np.random.default_rng((seed, step)).standard_normal(len(cand))
    true = cand["true"].to_numpy(dtype=float)
    is_v = (cand["meas_type"] == "v").to_numpy()
    with np.errstate(invalid="ignore"):
        sd = np.where(is_v, noise.vm_pu, noise.pq_abs + noise.pq_rel * np.abs(true))
    keep = cand["usable"].to_numpy(dtype=bool) & cand["bus"].isin(wanted).to_numpy()
    if not keep.any():
        table = _empty_table()
    else:
        sel = cand[keep]
        table = pd.DataFrame({
            "meas_type": sel["meas_type"].to_numpy(dtype=object),
            "element_type": sel["element_type"].to_numpy(dtype=object),
            "element": sel["element"].to_numpy(dtype=np.int64),
            "side": sel["side"].to_numpy(dtype=object),
            "value": true[keep] + sd[keep] * z[keep],
            "std_dev": sd[keep],
            "bus": pd.Series(sel["bus"].tolist()).to_numpy(),
        })
    table.attrs = {"seed": seed, "step": step, "std": asdict(noise)}
    return table


def _check_table(net, table) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas.DataFrame, got {type(table).__name__}")
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; a measurement table has {list(TABLE_COLUMNS)}")
    t = table.loc[:, list(TABLE_COLUMNS)].reset_index(drop=True)
    t["side"] = [None if (s is None or (isinstance(s, float) and math.isnan(s))) else s for s in t["side"]]
    for k, (mt, et, el, side, value, sd) in enumerate(zip(t.meas_type, t.element_type, t.element, t.side,
                                                         t.value, t.std_dev)):
        where = f"table row {k}"
        if et not in _MEAS_TYPES:
            raise ValueError(f"{where}: element_type must be one of {sorted(_MEAS_TYPES)}, got {et!r}")
        if mt not in _MEAS_TYPES[et]:
            raise ValueError(f"{where}: meas_type {mt!r} is not one of {sorted(_MEAS_TYPES[et])} for a {et}")
        try:
            el_i = operator.index(el)
        except TypeError:
            raise ValueError(f"{where}: element must be an integer index, got {el!r}") from None
        if el_i not in net[et].index:
            raise ValueError(f"{where}: {et} {el!r} does not exist in the net")
        if side not in _SIDES[et]:
            raise ValueError(f"{where}: side of a {et} must be one of {sorted(map(str, _SIDES[et]))}, got {side!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{where}: value must be finite, got {value!r}")
        if not (math.isfinite(float(sd)) and float(sd) > 0):
            raise ValueError(f"{where}: std_dev must be > 0 and finite, got {sd!r}")
    t["element"] = t["element"].astype(np.int64)
    return t


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    if not len(b):
        return a
    if not len(a):
        return b.reset_index(drop=True)
    return pd.concat([a, b], ignore_index=True)


def _key(row) -> tuple:
    return (row.meas_type, row.element_type, int(row.element), row.side)


def _zero_injection_rows(net, energised: pd.Series) -> pd.DataFrame:
    from cppsns3.model.grid import bus_labels

    injecting = set()
    for table, col in _INJECTORS:
        df = net[table] if table in net else None
        if df is None or len(df) == 0 or col not in df:
            continue
        on = df["in_service"].to_numpy(dtype=bool) if "in_service" in df else np.ones(len(df), bool)
        injecting.update(int(b) for b in df[col].to_numpy()[on])
    label = bus_labels(net)
    rows = []
    for i in net.bus.index:
        if energised.at[i] and int(i) not in injecting:
            for mt in ("p", "q"):
                rows.append((mt, "bus", int(i), None, 0.0, ZERO_INJECTION_STD, label[int(i)]))
    if not rows:
        return _empty_table()
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


_MEASUREMENT_DTYPES = None


def _measurement_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` as pandapower's ``net.measurement`` table (what create_measurement builds)."""
    global _MEASUREMENT_DTYPES
    if _MEASUREMENT_DTYPES is None:
        import pandapower as pp

        _MEASUREMENT_DTYPES = pp.create_empty_network().measurement.dtypes.to_dict()
    data = {
        "name": [None] * len(rows),
        "measurement_type": rows["meas_type"].str.lower().tolist(),
        "element_type": rows["element_type"].tolist(),
        "element": rows["element"].to_numpy(),
        "value": rows["value"].to_numpy(dtype=float),
        "std_dev": rows["std_dev"].to_numpy(dtype=float),
        "side": rows["side"].tolist(),
    }
    frame = pd.DataFrame({c: data.get(c, [None] * len(rows)) for c in _MEASUREMENT_DTYPES})
    return frame.astype(_MEASUREMENT_DTYPES)


@contextlib.contextmanager
def _quiet_pandapower():
    """Silence pandapower's loggers (it logs an error for every unobservable step)."""
    loggers = [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)
               if n == "pandapower" or n.startswith("pandapower.")]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, d in zip(loggers, saved):
            lg.disabled = d


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# --------------------------------------------------------------- estimate


def estimate(net, table, *, algorithm: str = "wls", init: str = "flat", local_bus=None,
             zero_injection: bool = True, tolerance: float = 1e-6,
             maximum_iterations: int = 50) -> SEResult:
    """pandapower's state estimate from the measurements of ``table``, against the true power flow.

    Parameters
    ----------
    net : pandapowerNet
        The solved net of the step (``res_bus`` is the truth).  Not changed:
        the estimator runs on a copy, whose existing measurements are
        replaced by the table's rows.
    table : pandas.DataFrame
        Rows of :func:`measurement_table` (e.g. those of the terminals whose
        blocks arrived in time).  Duplicate measurements are merged by
        pandapower (inverse-variance weighted) and counted once.
    algorithm : str, default "wls"
        pandapower's estimator (``"wls"``, ``"irwls"``, ``"lp"``, ...).
    init : {"flat", "results", "slack"}, default "flat"
        Start of the iteration, as pandapower's ``init``.
    local_bus : bus label, optional
        The consumer's own bus (the generator's): its measurements are always
        there, regenerated with the table's ``attrs`` (``seed``, ``step``,
        ``std``) so they equal :func:`measurement_table`'s for that bus.
    zero_injection : bool, default True
        Add ``P = Q = 0`` injection pseudo-measurements (std
        :data:`ZERO_INJECTION_STD`) at energised buses without an injecting
        element (module docstring).
    tolerance, maximum_iterations
        Passed to pandapower.

    Returns
    -------
    SEResult
        ``ok=False`` with a one-line ``reason`` when the measurements cannot
        make the system observable, or the estimator fails or does not
        converge; this function does not raise for that.

    Raises
    ------
    ValueError
        On a malformed table, an unknown ``local_bus``, a table without the
        ``attrs`` ``local_bus`` needs, a net without power-flow results, or
        an unknown ``algorithm`` / ``init``.
    """
    from pandapower.estimation import estimate as pp_estimate
    from pandapower.estimation.state_estimation import ALGORITHM_MAPPING

    from cppsns3.model.grid import bus_labels

    if algorithm not in ALGORITHM_MAPPING:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHM_MAPPING)}, got {algorithm!r}")
    if init not in _INITS:
        raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
    _check_solved(net)
    rows = _check_table(net, table)
    n_local = 0
    if local_bus is not None:
        attrs = getattr(table, "attrs", {}) or {}
        if not all(k in attrs for k in ("seed", "step", "std")):
            raise ValueError("local_bus needs the table's attrs seed, step and std "
                             "(a table of measurement_table, or rows of one)")
        local = measurement_table(net, local_bus, seed=attrs["seed"], step=attrs["step"], std=attrs["std"])
        n_local = len(local)
        have = {_key(r) for r in rows.itertuples(index=False)}
        extra = local[[_key(r) not in have for r in local.itertuples(index=False)]]
        rows = _concat(rows, extra)
    energised = _energised(net)
    n_pseudo = 0
    if zero_injection:
        zi = _zero_injection_rows(net, energised)
        have = {_key(r) for r in rows.itertuples(index=False)}
        zi = zi[[_key(r) not in have for r in zi.itertuples(index=False)]]
        n_pseudo = len(zi)
        rows = _concat(rows, zi)

    n_meas = len({_key(r) for r in rows.itertuples(index=False)})
    n_bus = int(energised.sum())
    slack_buses = set(int(b) for b in net.ext_grid.bus[net.ext_grid.in_service.astype(bool)])
    if "slack" in net.gen:
        slack_buses |= set(int(b) for b in net.gen.bus[net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)])
    n_slack = sum(1 for b in slack_buses if energised.get(b, False))
    n_states = 2 * n_bus - n_slack
    nan = math.nan

    def fail(reason, converged=False, iterations=None):
        return SEResult(ok=False, reason=reason, max_vm_error_pu=nan, mean_vm_error_pu=nan,
                        n_measurements=n_meas, n_states=n_states, converged=converged,
                        n_local=n_local, n_pseudo=n_pseudo, iterations=iterations,
                        bus_estimate=pd.DataFrame(columns=list(_BUS_COLUMNS),
                                                  index=pd.Index([], name="bus")))

    if n_bus == 0:
        return fail("no energised bus")
    if n_slack == 0:
        return fail("no slack bus among the energised buses")
    if n_meas < n_states:
        return fail(f"unobservable: {n_meas} measurements for {n_states} states")

    work = copy.deepcopy(net)
    work["measurement"] = _measurement_frame(rows)
    iterations = None
    try:
        with _quiet_pandapower():
            out = pp_estimate(work, algorithm=algorithm, init=init, tolerance=tolerance,
                              maximum_iterations=maximum_iterations,
                              zero_injection="aux_bus" if zero_injection else None)
    except UserWarning as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "Measurements available" in msg:
            return fail(f"unobservable: pandapower: {msg}")
        return fail(f"estimator failed: {_one_line(exc)}")
    except Exception as exc:  # noqa: BLE001 - a failing estimator is an outcome of the step
        return fail(f"estimator failed: {_one_line(exc)}")
    if isinstance(out, dict):
        success = bool(out.get("success"))
        iterations = out.get("num_iterations")
        iterations = int(iterations) if iterations is not None else None
    else:
        success = bool(out)
    if not success:
        if iterations is not None and iterations < maximum_iterations:
            # WLS stops early only on a converged or a non-finite step: a singular gain matrix
            return fail(f"unobservable: singular gain matrix ({n_meas} measurements for {n_states} states)",
                        iterations=iterations)
        return fail(f"not converged in {maximum_iterations} iterations", iterations=iterations)

    idx = net.bus.index[energised.to_numpy()]
    est = work.res_bus_est.reindex(idx)
    vm = est.vm_pu.to_numpy(dtype=float)
    va = est.va_degree.to_numpy(dtype=float)
    vm_true = net.res_bus.vm_pu.reindex(idx).to_numpy(dtype=float)
    va_true = net.res_bus.va_degree.reindex(idx).to_numpy(dtype=float)
    if not (np.isfinite(vm).all() and np.isfinite(va).all()):
        return fail("estimate not finite (unobservable)", converged=True, iterations=iterations)
    err = vm - vm_true
    label = bus_labels(net)
    frame = pd.DataFrame({"vm_pu": vm, "va_degree": va, "vm_pu_true": vm_true, "va_degree_true": va_true,
                          "vm_error_pu": err},
                         index=pd.Index([label[int(i)] for i in idx], name="bus"))
    return SEResult(ok=True, reason=None, max_vm_error_pu=float(np.abs(err).max()),
                    mean_vm_error_pu=float(np.abs(err).mean()), n_measurements=n_meas,
                    n_states=n_states, converged=True,
                    max_va_error_deg=float(np.abs(va - va_true).max()), n_local=n_local,
                    n_pseudo=n_pseudo, iterations=iterations, bus_estimate=frame)
