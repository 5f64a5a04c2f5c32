"""SVR forecast of measured values (Eq. 6-7), one model per measured quantity.

Step 3 of the paper's data-validation method.  For each quantity (``vm_pu``,
``p_mw``, ... the middle part of a measurement ID) one epsilon-SVR with an RBF
kernel is fitted on the pooled, per-series standardised history of all series
of that quantity, with the factors chosen by Pearson h
(:mod:`cppsns3.datacheck.factors`) as inputs, scaled to zero mean and unit
variance.  Pooling keeps the number of fits small (one per quantity, not one
per series) and lets one prediction call serve a whole round of blocks.

Hyperparameters (``C``, ``gamma``, ``epsilon``) are chosen on a small grid by
time-series cross-validation: expanding windows over the training *times*, the
validation window always after the training window (no look-ahead); the score
is the mean absolute error of the standardised forecast.  The only randomness
is the seeded subsampling of training rows when there are more than
``max_train_rows``.

The fitted :class:`FeatureModel` is what a receiving node needs: the
per-quantity SVRs, the per-series statistics and a :class:`History` of trusted
values from which lagged factors are read when a block arrives.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cppsns3.datacheck.factors import (
    FactorConfig,
    calendar_features,
    candidate_names,
    factor_table,
    group_by_quantity,
    neighbour_map,
    quantity_of,
    select_factors,
    series_key,
)

__all__ = [
    "DEFAULT_PARAM_GRID",
    "DEFAULT_TOLERANCE",
    "DEFAULT_DENOM_FLOOR_RATIO",
    "DEFAULT_CALIBRATION_MARGIN",
    "History",
    "QuantityModel",
    "FeatureModel",
    "time_series_folds",
    "train_model",
]

#: Default relative tolerance on |Delta| (Eq. 8): 5 %.
DEFAULT_TOLERANCE = 0.05
#: The denominator of Eq. 8 is ``max(|V_forecast|, ratio * level)`` where
#: ``level`` is the series' mean absolute value in training; this keeps
#: |Delta| finite for series that cross or sit near zero (reactive power,
#: flows).  A further absolute floor of ``1e-6`` times the median level of the
#: quantity's series covers series that are zero up to rounding.
DEFAULT_DENOM_FLOOR_RATIO = 1.0
_ABS_FLOOR_OF_QUANTITY_LEVEL = 1e-6
#: Calibrated bound = margin x the largest out-of-sample |Delta| in CV.
DEFAULT_CALIBRATION_MARGIN = 1.2
#: Small default search grid (6 combinations).
DEFAULT_PARAM_GRID = {"C": [1.0, 10.0, 100.0], "gamma": [0.05, 0.2], "epsilon": [0.02]}

_CONSTANT_REL_STD = 1e-9


class History:
    """Trusted values per series, for as-of look-ups of lagged factors.

    Parameters
    ----------
    frame : pandas.DataFrame, optional
        Wide frame (index ``time_s``) to start from.
    """

    def __init__(self, frame: pd.DataFrame | None = None):
        self._t: dict[str, list[float]] = {}
        self._v: dict[str, list[float]] = {}
        if frame is not None:
            t = [float(x) for x in frame.index.to_numpy(dtype=np.float64)]
            order = np.argsort(t, kind="stable")
            ts = [t[k] for k in order]
            for c in frame.columns:
                vals = frame[c].to_numpy(dtype=float)[order]
                keep = np.isfinite(vals)
                self._t[str(c)] = [ts[k] for k in np.flatnonzero(keep)]
                self._v[str(c)] = [float(x) for x in vals[keep]]

    def add(self, measurement_id: str, time_s: float, value: float) -> None:
        """Record ``value`` of a series at ``time_s`` (replaces an equal time)."""
        ts = self._t.setdefault(measurement_id, [])
        vs = self._v.setdefault(measurement_id, [])
        t = float(time_s)
        if not ts or t > ts[-1]:
            ts.append(t)
            vs.append(float(value))
            return
        k = bisect.bisect_left(ts, t)
        if k < len(ts) and ts[k] == t:
            vs[k] = float(value)
        else:
            ts.insert(k, t)
            vs.insert(k, float(value))

    def asof(self, measurement_id: str, time_s: float) -> float:
        """Latest recorded value at or before ``time_s`` (``nan`` if none)."""
        ts = self._t.get(measurement_id)
        if not ts:
            return math.nan
        k = bisect.bisect_right(ts, float(time_s))
        return self._v[measurement_id][k - 1] if k else math.nan

    def last_time_s(self) -> float:
        """Latest time recorded in any series (``nan`` when empty)."""
        ends = [ts[-1] for ts in self._t.values() if ts]
        return max(ends) if ends else math.nan

    def copy(self) -> "History":
        """Independent copy (cheap list copies)."""
        h = History()
        h._t = {k: list(v) for k, v in self._t.items()}
        h._v = {k: list(v) for k, v in self._v.items()}
        return h

    def __contains__(self, measurement_id: str) -> bool:
        return measurement_id in self._t


@dataclass
class QuantityModel:
    """The fitted forecaster of one quantity.

    Attributes
    ----------
    quantity : str
        Quantity name (``"vm_pu"``).
    factors : list of str
        Selected factors (model inputs, in order).
    h : dict of str to float
        Pearson h of every candidate factor (Eq. 5).
    pipeline : sklearn Pipeline or None
        ``StandardScaler`` + ``SVR(kernel="rbf")``; None when every series of
        the quantity is constant.
    params : dict
        Chosen ``C``, ``gamma``, ``epsilon``.
    cv_mae_z : float
        Cross-validated mean absolute error of the standardised forecast.
    n_train_rows : int
        Rows the final fit used.
    """

    quantity: str
    factors: list
    h: dict
    pipeline: object = None
    params: dict = field(default_factory=dict)
    cv_mae_z: float = math.nan
    n_train_rows: int = 0


@dataclass
class FeatureModel:
    """Everything a node needs to check received measurements (Eq. 5-8).

    Build it with :func:`train_model`; check blocks with
    :func:`cppsns3.datacheck.check.check_block`.

    Attributes
    ----------
    config : FactorConfig
        Candidate factors, lags, step and the Pearson threshold.
    quantities : dict of str to QuantityModel
        One fitted forecaster per quantity.
    stats : dict of str to (float, float)
        Per-series (mean, std) of the training data (non-constant series).
    constants : dict of str to float
        Series that were constant in training, with their value.
    levels : dict of str to float
        Per-series mean absolute value in training (attack sizes).
    floors : dict of str to float
        Per-series floor of the Eq. 8 denominator (see
        :data:`DEFAULT_DENOM_FLOOR_RATIO`).
    bounds : dict of str to float
        Per-series calibrated bound on |Delta|: the largest out-of-sample
        |Delta| of the series in the last time-series CV fold (validation
        window after all of its training data), times ``calibration_margin``.  With :attr:`calibrated`, a record fails when
        ``|Delta| > max(tolerance, bound)``: series the forecaster cannot
        resolve to the tolerance (small, noisy flows) get a wider bound
        instead of flagging every clean block.
    calibrated : bool
        Whether :attr:`bounds` apply.
    neighbours : dict of str to list of str
        Neighbouring series (see :func:`cppsns3.datacheck.factors.neighbour_map`).
    history : History
        Trusted values; :func:`check_block` appends to it.
    tolerance : float
        Default tolerance on |Delta|.
    denom_floor_ratio : float
        See :data:`DEFAULT_DENOM_FLOOR_RATIO`.
    train_end_s : float
        Epoch seconds after the last training row.
    seed : int
        Seed used for subsampling.
    """

    config: FactorConfig
    quantities: dict
    stats: dict
    constants: dict
    levels: dict
    floors: dict
    bounds: dict
    calibrated: bool
    neighbours: dict
    history: History
    tolerance: float = DEFAULT_TOLERANCE
    denom_floor_ratio: float = DEFAULT_DENOM_FLOOR_RATIO
    train_end_s: float = math.nan
    seed: int = 0

    @property
    def ids(self) -> list[str]:
        """Every series key (``"vm_pu/bus7"``) the model can check."""
        return list(self.levels)

    def knows(self, measurement_id: str) -> bool:
        """Whether the model has a forecaster for this ID's series."""
        return series_key(measurement_id) in self.levels

    def factors(self) -> dict[str, list[str]]:
        """Selected factors per quantity, ``{quantity: [names]}``."""
        return {q: list(m.factors) for q, m in self.quantities.items()}

    def fork(self) -> "FeatureModel":
        """A shallow copy with an independent history (fitted SVRs shared)."""
        other = copy.copy(self)
        other.history = self.history.copy()
        return other

    def features(self, ids, times_s) -> dict[str, np.ndarray]:
        """Factor values for records ``(ids[k], times_s[k])`` from the history.

        Returns
        -------
        dict
            Factor name -> float array (standardised lags, raw calendar).
        """
        ids = [series_key(i) for i in ids]
        times = np.asarray(times_s, dtype=np.float64)
        cal = calendar_features(times)
        out = dict(cal)
        step = float(self.config.step_s)
        hist = self.history
        for name, lag in self.config.lags_steps.items():
            vals = np.empty(len(ids))
            for k, (i, t) in enumerate(zip(ids, times)):
                mu, sd = self.stats.get(i, (0.0, 1.0))
                vals[k] = (hist.asof(i, t - lag * step) - mu) / sd
            out[name] = vals
        if self.config.neighbours:
            vals = np.empty(len(ids))
            for k, (i, t) in enumerate(zip(ids, times)):
                acc = []
                for j in self.neighbours.get(i, ()):
                    st = self.stats.get(j)
                    if st is not None:
                        v = hist.asof(j, t - step)
                        if not math.isnan(v):
                            acc.append((v - st[0]) / st[1])
                vals[k] = sum(acc) / len(acc) if acc else math.nan
            out["neighbours_lag_1step"] = vals
        return out

    def forecast(self, ids, times_s) -> np.ndarray:
        """V_forecast (Eq. 7) for records ``(ids[k], times_s[k])``.

        Factors are read from :attr:`history` (only values older than each
        record's time).  A missing factor (no history yet) is replaced by 0,
        the training mean of a standardised input.

        Returns
        -------
        numpy.ndarray
            Forecast values, ``nan`` for an ID the model does not know.
        """
        ids = [series_key(i) for i in ids]
        times = np.asarray(times_s, dtype=np.float64)
        out = np.full(len(ids), np.nan)
        by_q: dict[str, list[int]] = {}
        for k, i in enumerate(ids):
            if i in self.constants:
                out[k] = self.constants[i]
            elif i in self.stats:
                by_q.setdefault(quantity_of(i), []).append(k)
        for q, idx in by_q.items():
            qm = self.quantities.get(q)
            if qm is None or qm.pipeline is None:
                continue
            sub_ids = [ids[k] for k in idx]
            feats = self.features(sub_ids, times[idx])
            x = np.column_stack([feats[n] for n in qm.factors])
            x = np.where(np.isfinite(x), x, 0.0)
            z = qm.pipeline.predict(x)
            mu = np.array([self.stats[i][0] for i in sub_ids])
            sd = np.array([self.stats[i][1] for i in sub_ids])
            out[idx] = mu + sd * z
        return out

    def record_bounds(self, ids, tolerance: float) -> np.ndarray:
        """Per-record bound on |Delta|: ``max(tolerance, bound)`` if calibrated."""
        if not self.calibrated:
            return np.full(len(ids), float(tolerance))
        return np.array(
            [max(float(tolerance), self.bounds.get(series_key(i), 0.0)) for i in ids], dtype=float
        )

    def denominator_floor(self, ids) -> np.ndarray:
        """Per-record floor of the Eq. 8 denominator (0 for an unknown ID)."""
        return np.array([self.floors.get(series_key(i), 0.0) for i in ids], dtype=float)


def time_series_folds(times_s, n_splits: int = 3):
    """Expanding-window folds over sorted unique times (no look-ahead).

    Parameters
    ----------
    times_s : array_like
        Time of each row (rows of several series may share a time).
    n_splits : int
        Number of folds.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``(train_rows, validation_rows)`` with every training time strictly
        before every validation time.

    Raises
    ------
    ValueError
        If there are fewer than ``n_splits + 1`` distinct times.
    """
    t = np.asarray(times_s, dtype=np.float64)
    uniq = np.unique(t)
    if n_splits < 1:
        raise ValueError(f"n_splits: must be >= 1, got {n_splits}")
    if uniq.size < n_splits + 1:
        raise ValueError(f"time_series_folds: need > {n_splits} distinct times, got {uniq.size}")
    edges = np.linspace(0, uniq.size, n_splits + 2).astype(int)
    folds = []
    for k in range(1, n_splits + 1):
        cut, end = uniq[edges[k]], uniq[min(edges[k + 1], uniq.size) - 1]
        tr = np.flatnonzero(t < cut)
        va = np.flatnonzero((t >= cut) & (t <= end))
        if tr.size and va.size:
            folds.append((tr, va))
    return folds


def _make_pipeline(params):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    return make_pipeline(StandardScaler(), SVR(kernel="rbf", cache_size=200, **params))


def _fit_quantity(q, table, names, config, param_grid, n_splits, max_rows, rng):
    """Select factors, choose hyperparameters by time-series CV, fit.

    Returns the QuantityModel and the validation rows (``id``, ``target``,
    ``pred``) of the last fold (the one trained on the most data) under the
    chosen hyperparameters (empty without CV).
    """
    selected, h = select_factors(table, names, config.threshold)
    order = np.argsort(table["time_s"].to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    x = table[selected].to_numpy(dtype=float)
    y = table["target"].to_numpy(dtype=float)
    t = table["time_s"].to_numpy(dtype=np.float64)
    if len(table) > max_rows:
        sub = np.sort(rng.choice(len(table), size=max_rows, replace=False))
    else:
        sub = np.arange(len(table))
    keys = sorted(param_grid)
    combos = [dict(zip(keys, vals)) for vals in itertools.product(*(param_grid[k] for k in keys))]
    if not combos:
        raise ValueError("param_grid: empty")
    best, best_score, best_oof = combos[0], math.nan, None
    if n_splits >= 1:
        folds = time_series_folds(t, n_splits)
        best_score = math.inf
        for params in combos:
            errs, oof = [], []
            for tr, va in folds:
                tr_sub = sub[t[sub] < t[va].min()]
                if tr_sub.size < 2:
                    continue
                pipe = _make_pipeline(params).fit(x[tr_sub], y[tr_sub])
                pred = pipe.predict(x[va])
                errs.append(float(np.mean(np.abs(pred - y[va]))))
                oof.append((va, pred))
            if not errs:
                raise ValueError(f"frame: too few rows to cross-validate quantity {q!r}")
            score = float(np.mean(errs))
            if score < best_score:
                best, best_score, best_oof = params, score, oof
    pipe = _make_pipeline(best).fit(x[sub], y[sub])
    if best_oof:
        va, pred = best_oof[-1]  # the fold trained on the most data
        oof_rows = pd.DataFrame({"id": table["id"].to_numpy()[va], "target": y[va], "pred": pred})
    else:
        oof_rows = pd.DataFrame({"id": [], "target": [], "pred": []})
    qm = QuantityModel(
        quantity=q, factors=selected, h=h, pipeline=pipe, params=dict(best),
        cv_mae_z=best_score, n_train_rows=int(sub.size),
    )
    return qm, oof_rows


def train_model(
    frame: pd.DataFrame,
    *,
    config: FactorConfig | None = None,
    seed: int = 0,
    grid=None,
    train_end_s: float | None = None,
    param_grid: dict | None = None,
    n_splits: int = 3,
    max_train_rows: int = 1500,
    tolerance: float = DEFAULT_TOLERANCE,
    denom_floor_ratio: float = DEFAULT_DENOM_FLOOR_RATIO,
    calibrate: bool = True,
    calibration_margin: float = DEFAULT_CALIBRATION_MARGIN,
    progress=None,
) -> FeatureModel:
    """Select factors (Eq. 5) and fit one SVR per quantity (Eq. 6-7).

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide measurement frame: index ``time_s`` (epoch seconds), one numeric
        column per series, named ``"quantity/element"`` as in
        ``cppsns3.chain.measurements.power_flow_series`` (its
        ``attrs["column_bus"]`` is used for neighbours) or with a terminal
        prefix (``"T7/vm_pu/bus7"``, stripped).
    config : FactorConfig, optional
        Candidate factors and threshold (defaults: see :class:`FactorConfig`).
    seed : int
        Seed of the training-row subsampling.
    grid : str or pandapower net, optional
        Grid for bus adjacency of ``neighbours_lag_1step``.
    train_end_s : float, optional
        Only rows with ``time_s < train_end_s`` are used (default: all).
    param_grid : dict, optional
        SVR hyperparameter grid (default :data:`DEFAULT_PARAM_GRID`).
    n_splits : int
        Time-series CV folds (0: no CV, first grid point, ``cv_mae_z`` nan).
    max_train_rows : int
        Cap on pooled training rows per quantity (seeded subsample).
    tolerance : float
        Default tolerance stored in the model (|Delta| as a fraction).
    denom_floor_ratio : float
        See :data:`DEFAULT_DENOM_FLOOR_RATIO`.
    calibrate : bool
        Give each series a calibrated bound (see :class:`FeatureModel`);
        False applies ``tolerance`` alone, as in the paper.
    calibration_margin : float
        Factor on the largest out-of-sample |Delta| (>= 1).
    progress : callable, optional
        Called with a short message per quantity (e.g. print to stderr).

    Returns
    -------
    FeatureModel
        Fitted model whose history holds the training rows.

    Raises
    ------
    ValueError
        If the frame is empty, not numeric, has a duplicated time, too few
        rows for the factors and folds, or a bad option.
    """
    config = config or FactorConfig()
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise ValueError("frame: must be a non-empty DataFrame")
    if not tolerance > 0:
        raise ValueError(f"tolerance: must be > 0, got {tolerance}")
    if not calibration_margin >= 1:
        raise ValueError(f"calibration_margin: must be >= 1, got {calibration_margin}")
    if not denom_floor_ratio >= 0:
        raise ValueError(f"denom_floor_ratio: must be >= 0, got {denom_floor_ratio}")
    if n_splits < 0:
        raise ValueError(f"n_splits: must be >= 0, got {n_splits}")
    if max_train_rows < 10:
        raise ValueError(f"max_train_rows: must be >= 10, got {max_train_rows}")
    column_bus = dict(frame.attrs.get("column_bus") or {})
    frame = frame.sort_index()
    if frame.index.has_duplicates:
        raise ValueError("frame: duplicated time_s in index")
    keys = [series_key(str(c)) for c in frame.columns]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"frame: several columns measure the same series {dup[:3]}")
    if train_end_s is not None:
        frame = frame[frame.index.to_numpy(dtype=np.float64) < float(train_end_s)]
    if len(frame) < 2:
        raise ValueError(f"frame: need >= 2 training rows, got {len(frame)}")
    try:
        frame = frame.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"frame: columns must be numeric ({exc})") from exc
    frame.columns = keys
    param_grid = param_grid or DEFAULT_PARAM_GRID
    rng = np.random.default_rng(seed)

    stats, constants, levels = {}, {}, {}
    for c in frame.columns:
        v = frame[c].to_numpy()
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise ValueError(f"frame: column {c!r} has no finite value")
        mu, sd = float(v.mean()), float(v.std())
        levels[c] = float(np.abs(v).mean())
        if sd <= _CONSTANT_REL_STD * max(1.0, abs(mu)):
            constants[c] = mu
        else:
            stats[c] = (mu, sd)
    floors = {}
    for q, ids in group_by_quantity(frame.columns).items():
        q_level = float(np.median([levels[i] for i in ids]))
        for i in ids:
            floors[i] = max(denom_floor_ratio * levels[i], _ABS_FLOOR_OF_QUANTITY_LEVEL * q_level)
    neighbours = neighbour_map(frame.columns, grid, column_bus)
    bounds = {c: 0.0 for c in frame.columns}
    names = candidate_names(config, len(frame))
    quantities = {}
    for q, ids in group_by_quantity(frame.columns).items():
        live = [i for i in ids if i in stats]
        if not live:
            quantities[q] = QuantityModel(quantity=q, factors=[], h={})
            continue
        if progress:
            progress(f"datacheck: fitting SVR for {q} ({len(live)} series)")
        table = factor_table(frame, live, stats, neighbours, names, config)
        if len(table) < max(n_splits, 1) + 2:
            raise ValueError(
                f"frame: too few rows for quantity {q!r} after lags ({len(table)}); "
                "give more days or fewer/shorter lags"
            )
        qm, oof = _fit_quantity(q, table, names, config, param_grid, n_splits, max_train_rows, rng)
        quantities[q] = qm
        # Calibrated bound: the largest out-of-sample |Delta| of each series
        # in the last CV fold, times the margin.
        for i, rows in oof.groupby("id"):
            mu, sd = stats[i]
            real = mu + sd * rows["target"].to_numpy()
            fc = mu + sd * rows["pred"].to_numpy()
            d = np.abs(fc - real) / np.maximum(np.abs(fc), floors[i])
            bounds[i] = float(calibration_margin * d.max()) if d.size else 0.0
    last = float(frame.index.to_numpy(dtype=np.float64)[-1])
    # Candidate lags that were not offered (too little data) must not be read.
    used = {n for m in quantities.values() for n in m.factors}
    cfg = FactorConfig(
        step_s=config.step_s,
        lags_steps={k: v for k, v in config.lags_steps.items() if k in used},
        neighbours=config.neighbours and "neighbours_lag_1step" in used,
        calendar=config.calendar,
        threshold=config.threshold,
        min_train_steps=config.min_train_steps,
    )
    return FeatureModel(
        config=cfg,
        quantities=quantities,
        stats=stats,
        constants=constants,
        levels=levels,
        floors=floors,
        bounds=bounds,
        calibrated=bool(calibrate),
        neighbours=neighbours,
        history=History(frame),
        tolerance=float(tolerance),
        denom_floor_ratio=float(denom_floor_ratio),
        train_end_s=last + config.step_s,
        seed=int(seed),
    )
