"""Candidate correlation factors and their selection by Pearson h (Eq. 5).

Step 1-2 of the paper's data-validation method: build, for every measured
series, a set of *potential correlation factors* that reflect periodicity,
day-type variation and self-similarity, compute the Pearson correlation
coefficient h (Eq. 5) of each factor with the measured series, and keep the
factors whose ``|h|`` reaches a threshold.

Measurement IDs follow the blocks issue: ``"<terminal>/<quantity>/<element>"``,
e.g. ``"T7/vm_pu/bus7"``; the power-flow frame's columns are the same without
the terminal (``"vm_pu/bus7"``, the *series key*).  Series are grouped by
*quantity*;
factors are selected, and one SVR is trained, per quantity (see
:mod:`cppsns3.datacheck.forecast`).

Candidate factors (names as reported in ``factors {quantity: [names]}``):

``tod_sin``, ``tod_cos``
    Time of day (UTC) on the unit circle.
``day_type``
    1.0 on Saturday and Sunday (UTC), else 0.0.
``lag_1step``, ``lag_1day``, ``lag_1week``
    The series' own value 1 step, 1 day and 1 week earlier (standardised).
``neighbours_lag_1step``
    Mean of the standardised values of the neighbouring series of the same
    quantity 1 step earlier.  Neighbours are the series at the same or an
    electrically adjacent bus (lines and transformers of the pandapower grid)
    when a grid is given; otherwise all other series of the same quantity.

Every factor uses only information older than the value it helps forecast
(calendar data, or values at least one step old), so a receiving node can
compute it from the chain's history when a block arrives.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_THRESHOLD",
    "CALENDAR_FACTORS",
    "FactorConfig",
    "pearson_h",
    "parse_measurement_id",
    "quantity_of",
    "series_key",
    "group_by_quantity",
    "neighbour_map",
    "calendar_features",
    "factor_table",
    "select_factors",
]

#: Default selection threshold on ``|h|``.  Factors with ``|h| >= 0.3`` (at
#: least a "moderate" linear correlation) are kept.
DEFAULT_THRESHOLD = 0.3

CALENDAR_FACTORS = ("tod_sin", "tod_cos", "day_type")
_SECONDS_PER_DAY = 86400
_BUS_RE = re.compile(r"^bus(\d+)$")


@dataclass(frozen=True)
class FactorConfig:
    """Which candidate factors to build and how to select them.

    Attributes
    ----------
    step_s : int
        Sampling period of the series in seconds (900 = 15 min, 96 a day).
    lags_steps : dict of str to int
        Own-value lags, name -> lag in steps.  A lag is only a candidate when
        the training data holds at least ``lag + min_train_steps`` rows.
    neighbours : bool
        Whether ``neighbours_lag_1step`` is a candidate.
    calendar : bool
        Whether ``tod_sin``, ``tod_cos`` and ``day_type`` are candidates.
    threshold : float
        Keep a factor when ``|h| >= threshold`` (Eq. 5).
    min_train_steps : int
        Fewest training rows (time steps) a lag must leave, see ``lags_steps``.
    """

    step_s: int = 900
    lags_steps: dict = field(
        default_factory=lambda: {"lag_1step": 1, "lag_1day": 96, "lag_1week": 672}
    )
    neighbours: bool = True
    calendar: bool = True
    threshold: float = DEFAULT_THRESHOLD
    min_train_steps: int = 2 * 96

    def __post_init__(self):
        if self.step_s <= 0:
            raise ValueError(f"step_s: must be > 0, got {self.step_s}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold: must be in [0, 1], got {self.threshold}")
        for name, lag in self.lags_steps.items():
            if int(lag) < 1:
                raise ValueError(f"lags_steps[{name!r}]: must be >= 1 step, got {lag}")


def pearson_h(l, v) -> float:
    """Pearson correlation coefficient h of Eq. 5.

    ``h = sum((l_i - mean(l)) (v_i - mean(v))) /
    (sqrt(sum((l_i - mean(l))^2)) sqrt(sum((v_i - mean(v))^2)))``

    Parameters
    ----------
    l, v : array_like
        The measured series and one candidate factor, same length N >= 2.

    Returns
    -------
    float
        h in [-1, 1]; ``nan`` when either input is constant (Eq. 5 divides
        by zero).

    Raises
    ------
    ValueError
        If the inputs differ in length, hold fewer than 2 values, or hold a
        non-finite value.
    """
    a = np.asarray(l, dtype=float).ravel()
    b = np.asarray(v, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"pearson_h: lengths differ ({a.size} vs {b.size})")
    if a.size < 2:
        raise ValueError(f"pearson_h: need at least 2 values, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("pearson_h: inputs must be finite")
    da = a - a.mean()
    db = b - b.mean()
    den = math.sqrt(float(da @ da)) * math.sqrt(float(db @ db))
    if den == 0.0:
        return float("nan")
    return float(np.clip((da @ db) / den, -1.0, 1.0))


def parse_measurement_id(measurement_id: str) -> tuple[str, str, str]:
    """Split a measurement ID into ``(terminal, quantity, element)``.

    ``"T7/vm_pu/bus7"`` -> ``("T7", "vm_pu", "bus7")``; a power-flow column
    without terminal, ``"vm_pu/bus7"`` -> ``("", "vm_pu", "bus7")``; a bare
    name ``"x"`` -> ``("", "x", "x")``.

    Raises
    ------
    ValueError
        If the ID is empty.
    """
    if not measurement_id:
        raise ValueError("measurement id: must not be empty")
    parts = str(measurement_id).split("/")
    if len(parts) >= 3:
        return parts[0], parts[1], "/".join(parts[2:])
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", parts[0], parts[0]


def series_key(measurement_id: str) -> str:
    """The terminal-independent series of an ID: ``"T7/vm_pu/bus7"`` -> ``"vm_pu/bus7"``.

    The model is keyed by series, so it checks records whatever terminal ID
    prefixes them.
    """
    _, q, e = parse_measurement_id(measurement_id)
    return q if q == e and "/" not in str(measurement_id) else f"{q}/{e}"


def quantity_of(measurement_id: str) -> str:
    """The measured quantity of an ID (``"vm_pu"`` for ``T7/vm_pu/bus7``)."""
    return parse_measurement_id(measurement_id)[1]


def group_by_quantity(columns) -> dict[str, list[str]]:
    """Map quantity -> measurement IDs, both in first-seen order."""
    groups: dict[str, list[str]] = {}
    for c in columns:
        groups.setdefault(quantity_of(str(c)), []).append(str(c))
    return groups


def _grid_adjacency(grid) -> dict[int, set[int]]:
    """Bus-name adjacency of a pandapower grid (lines and transformers)."""
    if isinstance(grid, str):
        from cppsns3.model.grid import cached_grid

        net = cached_grid(grid)  # ScenarioError (a ValueError) if unknown; read only
    else:
        net = grid
    from cppsns3.model.grid import bus_labels

    label = bus_labels(net)
    adj: dict[int, set[int]] = {}

    def _name(idx):
        return label[int(idx)]

    pairs = []
    if len(net.line):
        pairs += list(zip(net.line.from_bus, net.line.to_bus))
    if len(net.trafo):
        pairs += list(zip(net.trafo.hv_bus, net.trafo.lv_bus))
    for a, b in pairs:
        na, nb = _name(a), _name(b)
        if na != nb:
            adj.setdefault(na, set()).add(nb)
            adj.setdefault(nb, set()).add(na)
    return adj


def neighbour_map(columns, grid=None, column_bus: dict | None = None) -> dict[str, list[str]]:
    """Neighbouring series of each measurement ID (same quantity).

    Parameters
    ----------
    columns : iterable of str
        Measurement IDs or series keys.
    grid : str or pandapower net, optional
        A pandapower case name (``"case14"``) or net.  With a grid, the
        neighbours of a series at bus b are the same-quantity series at bus b
        (other than itself) or at buses adjacent to b by a line or
        transformer.  A series' bus is read from an element ``bus<N>`` or
        from ``column_bus``.  Series without a bus, or with no measured
        neighbour, fall back to all other series of the quantity.
    column_bus : dict, optional
        Series key (``"p_mw/line3"``) -> bus name, as in the
        ``attrs["column_bus"]`` of ``power_flow_series`` frames.

    Returns
    -------
    dict of str to list of str
        Possibly empty lists (a quantity with a single series).

    Raises
    ------
    ValueError
        If ``grid`` names no pandapower case.
    """
    groups = group_by_quantity(columns)
    adj = _grid_adjacency(grid) if grid is not None else None
    column_bus = column_bus or {}
    out: dict[str, list[str]] = {}
    for ids in groups.values():
        bus_of = {}
        for i in ids:
            b = column_bus.get(series_key(i))
            m = _BUS_RE.match(parse_measurement_id(i)[2])
            if m:
                b = int(m.group(1))
            if b is not None:
                try:
                    bus_of[i] = int(b)
                except (TypeError, ValueError):
                    pass
        for i in ids:
            nbrs: list[str] = []
            if adj is not None and i in bus_of:
                near = adj.get(bus_of[i], set()) | {bus_of[i]}
                nbrs = [j for j in ids if j != i and bus_of.get(j) in near]
            if not nbrs:
                nbrs = [j for j in ids if j != i]
            out[i] = nbrs
    return out


def calendar_features(time_s) -> dict[str, np.ndarray]:
    """Calendar factors (UTC) for epoch seconds ``time_s``.

    Returns
    -------
    dict
        ``tod_sin``, ``tod_cos`` (time of day on the unit circle) and
        ``day_type`` (1.0 on Saturday/Sunday, else 0.0), float arrays.
    """
    t = np.asarray(time_s, dtype=np.float64)
    tod = np.mod(t, _SECONDS_PER_DAY) / _SECONDS_PER_DAY
    weekday = np.mod(np.floor_divide(t, _SECONDS_PER_DAY) + 3, 7)  # 1970-01-01: Thursday
    return {
        "tod_sin": np.sin(2.0 * np.pi * tod),
        "tod_cos": np.cos(2.0 * np.pi * tod),
        "day_type": (weekday >= 5).astype(float),
    }


def candidate_names(config: FactorConfig, n_train_steps: int | None = None) -> list[str]:
    """Names of the candidate factors under ``config``.

    A lag is dropped when ``n_train_steps`` is given and is smaller than
    ``lag + config.min_train_steps``.
    """
    names = list(CALENDAR_FACTORS) if config.calendar else []
    for name, lag in config.lags_steps.items():
        if n_train_steps is None or n_train_steps >= int(lag) + config.min_train_steps:
            names.append(name)
    if config.neighbours:
        names.append("neighbours_lag_1step")
    return names


def factor_table(
    frame: pd.DataFrame,
    ids: list[str],
    stats: dict[str, tuple[float, float]],
    neighbours: dict[str, list[str]],
    names: list[str],
    config: FactorConfig,
) -> pd.DataFrame:
    """Long table of factors and standardised target for some series.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide frame, index ``time_s`` (epoch seconds), one column per ID.
    ids : list of str
        Series to tabulate (one quantity).
    stats : dict
        ID -> (mean, std) used to standardise values (std > 0).
    neighbours : dict
        ID -> neighbouring IDs (see :func:`neighbour_map`).
    names : list of str
        Factors to build (see :func:`candidate_names`).
    config : FactorConfig
        Lags and step.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``time_s``, ``target`` (standardised value) and one
        per factor; rows with a missing factor (the first lagged steps) are
        dropped.  Lags are looked up by time (``time_s - lag * step_s``), so
        gaps in the index give missing, not shifted, lags.

    Raises
    ------
    ValueError
        If an ID is not a column of ``frame``.
    """
    missing = [i for i in ids if i not in frame.columns]
    if missing:
        raise ValueError(f"factor_table: ids not in frame: {missing[:3]}")
    t = frame.index.to_numpy(dtype=np.int64)
    cal = calendar_features(t)
    # Standardise every series that appears as an ID or a neighbour.
    needed = set(ids)
    for i in ids:
        needed.update(j for j in neighbours.get(i, []) if j in stats)
    z = pd.DataFrame(
        {c: (frame[c].to_numpy(dtype=float) - stats[c][0]) / stats[c][1] for c in needed},
        index=frame.index,
    )
    lagged = {}
    for name, lag in config.lags_steps.items():
        if name in names:
            lagged[name] = z.reindex(t - int(lag) * config.step_s).to_numpy()
    nb_lag = z.reindex(t - config.step_s) if "neighbours_lag_1step" in names else None
    col_pos = {c: k for k, c in enumerate(z.columns)}
    parts = []
    for i in ids:
        rec = {"id": np.full(t.size, i, dtype=object), "time_s": t, "target": z[i].to_numpy()}
        for name in names:
            if name in cal:
                rec[name] = cal[name]
            elif name in lagged:
                rec[name] = lagged[name][:, col_pos[i]]
            elif name == "neighbours_lag_1step":
                nb = [j for j in neighbours.get(i, []) if j in col_pos]
                rec[name] = (
                    nb_lag[nb].to_numpy().mean(axis=1) if nb else np.full(t.size, np.nan)
                )
        parts.append(pd.DataFrame(rec))
    table = pd.concat(parts, ignore_index=True)
    return table.dropna(subset=["target", *names]).reset_index(drop=True)


def select_factors(table: pd.DataFrame, names: list[str], threshold: float) -> tuple[list[str], dict[str, float]]:
    """Pearson h (Eq. 5) of each factor with the target; keep ``|h| >= threshold``.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`factor_table` (pooled over the quantity's series).
    names : list of str
        Candidate factors (columns of ``table``).
    threshold : float
        Selection threshold on ``|h|``.

    Returns
    -------
    selected : list of str
        Kept factors in candidate order.  When none reaches the threshold the
        single strongest one is kept, so the model always has an input.
    h : dict of str to float
        h of every candidate (``nan`` for a constant factor).

    Raises
    ------
    ValueError
        If ``table`` has fewer than 2 rows or no candidate.
    """
    if not names:
        raise ValueError("select_factors: no candidate factor")
    if len(table) < 2:
        raise ValueError(f"select_factors: need >= 2 rows, got {len(table)}")
    y = table["target"].to_numpy(dtype=float)
    h = {n: pearson_h(y, table[n].to_numpy(dtype=float)) for n in names}
    selected = [n for n in names if not math.isnan(h[n]) and abs(h[n]) >= threshold]
    if not selected:
        finite = [n for n in names if not math.isnan(h[n])]
        if finite:
            selected = [max(finite, key=lambda n: abs(h[n]))]
        else:
            selected = [names[0]]
    return selected, h
