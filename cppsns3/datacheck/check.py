"""The data check of Eq. 8 on received measurements or data blocks.

Step 4 of the paper's method: forecast each received value from the trusted
history (:class:`cppsns3.datacheck.forecast.FeatureModel`) and accept it when

``|Delta| = |(V_forecast - V_realtime) / V_forecast| <= tolerance``.

The denominator is floored at ``denom_floor_ratio * level`` (``level``: the
series' mean absolute training value) so that series near zero do not give
unbounded |Delta|.  A block passes when every record passes; otherwise the
check names the records that failed.

History policy (what a node stores after a check): an accepted record's value
is appended to the model's history; a failed record is replaced there by its
forecast, so that injected data do not leak into the lagged factors of later
checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cppsns3.datacheck.factors import series_key

__all__ = ["relative_delta", "CheckResult", "as_records", "check_records", "check_block"]


def relative_delta(forecast, realtime, floor=0.0) -> np.ndarray:
    """|Delta| of Eq. 8 as a fraction (0.05 = 5 %).

    Parameters
    ----------
    forecast, realtime : array_like
        V_forecast and V_realtime, same shape.
    floor : float or array_like
        Lower bound of the denominator ``|V_forecast|`` (>= 0).

    Returns
    -------
    numpy.ndarray
        ``|V_f - V_r| / max(|V_f|, floor)``; 0 where both the difference and
        the denominator are 0, ``inf`` where only the denominator is 0,
        ``nan`` where an input is nan.

    Raises
    ------
    ValueError
        If shapes differ or a floor is negative.
    """
    f = np.asarray(forecast, dtype=float)
    r = np.asarray(realtime, dtype=float)
    if f.shape != r.shape:
        raise ValueError(f"relative_delta: shapes differ {f.shape} vs {r.shape}")
    fl = np.broadcast_to(np.asarray(floor, dtype=float), f.shape)
    if (fl < 0).any():
        raise ValueError("relative_delta: floor must be >= 0")
    den = np.maximum(np.abs(f), fl)
    diff = np.abs(f - r)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = diff / den
    out = np.where((den == 0) & (diff == 0), 0.0, out)
    return out


@dataclass
class CheckResult:
    """Outcome of checking some records.

    Attributes
    ----------
    failed : list of str
        IDs of records that failed (block order; an ID appears once per
        failed record).
    ids, times_s, values, forecasts, deltas, bounds : lists
        Per record, in input order; ``deltas`` are |Delta| fractions and
        ``bounds`` the bound each was held to (``max(tolerance, calibrated
        bound)``); ``nan`` for an ID the model does not know.
    tolerance : float
        Tolerance applied.
    """

    failed: list = field(default_factory=list)
    ids: list = field(default_factory=list)
    times_s: list = field(default_factory=list)
    values: list = field(default_factory=list)
    forecasts: list = field(default_factory=list)
    deltas: list = field(default_factory=list)
    bounds: list = field(default_factory=list)
    tolerance: float = math.nan

    @property
    def passed(self) -> bool:
        """True when no record failed."""
        return not self.failed


def _record_fields(rec):
    if isinstance(rec, dict):
        return rec["id"], rec["time_s"], rec["value"]
    if all(hasattr(rec, a) for a in ("id", "time_s", "value")):
        return rec.id, rec.time_s, rec.value
    i, t, v = rec  # tuple-like
    return i, t, v


def as_records(block_or_measurements) -> list[tuple[str, float, float]]:
    """Normalise a data block or measurements to ``(id, time_s, value)`` tuples.

    Accepts a ``cppsns3.chain.DataBlock`` (or any object with a
    ``measurements``, ``records`` or ``body`` sequence), or an iterable of
    ``Measurement`` objects, ``(id, time_s, value)`` tuples or dicts with
    those keys.

    Raises
    ------
    ValueError
        If an item is not a measurement or holds a non-numeric time or value.
    """
    obj = block_or_measurements
    for attr in ("measurements", "records", "body"):
        inner = getattr(obj, attr, None)
        if inner is not None and not isinstance(inner, (str, bytes)):
            obj = inner
            break
    out = []
    for k, rec in enumerate(obj):
        try:
            i, t, v = _record_fields(rec)
            out.append((str(i), float(t), float(v)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"record {k}: not a measurement (id, time_s, value): {rec!r}") from exc
    return out


def check_records(
    block_or_measurements,
    model,
    tolerance: float | None = None,
    *,
    update: bool = True,
    unknown: str = "fail",
) -> CheckResult:
    """Check records against the model's forecast (Eq. 8), with details.

    Records are processed in time order, one time step at a time, so that a
    block spanning several steps sees its own earlier accepted values as
    lags.

    Parameters
    ----------
    block_or_measurements : DataBlock or iterable
        See :func:`as_records`.
    model : FeatureModel
        From :func:`cppsns3.datacheck.forecast.train_model`.
    tolerance : float, optional
        |Delta| bound as a fraction (default ``model.tolerance``).
    update : bool
        Append the outcome to ``model.history`` (see the module doc).
    unknown : {"fail", "pass", "raise"}
        What to do with an ID the model has no forecaster for.

    Returns
    -------
    CheckResult

    Raises
    ------
    ValueError
        If ``tolerance`` is not > 0, ``unknown`` is not a known policy, a
        record is malformed, or ``unknown="raise"`` and an ID is unknown.
    """
    tol = model.tolerance if tolerance is None else float(tolerance)
    if not tol > 0:
        raise ValueError(f"tolerance: must be > 0, got {tolerance}")
    if unknown not in ("fail", "pass", "raise"):
        raise ValueError(f"unknown: must be fail, pass or raise, got {unknown!r}")
    recs = as_records(block_or_measurements)
    n = len(recs)
    res = CheckResult(tolerance=tol)
    res.ids = [r[0] for r in recs]
    res.times_s = [r[1] for r in recs]
    res.values = [r[2] for r in recs]
    res.forecasts = [math.nan] * n
    res.deltas = [math.nan] * n
    res.bounds = [math.nan] * n
    known = {i for i in set(res.ids) if model.knows(i)}
    bad = [False] * n
    times = sorted(set(res.times_s))
    for t in times:
        idx = [k for k in range(n) if res.times_s[k] == t]
        kid = [k for k in idx if res.ids[k] in known]
        for k in idx:
            if res.ids[k] not in known:
                if unknown == "raise":
                    raise ValueError(f"record id: no forecaster for {res.ids[k]!r}")
                bad[k] = unknown == "fail"
        if kid:
            ids = [res.ids[k] for k in kid]
            fc = model.forecast(ids, [t] * len(kid))
            vals = np.array([res.values[k] for k in kid])
            d = relative_delta(fc, vals, model.denominator_floor(ids))
            bound = model.record_bounds(ids, tol)
            for j, k in enumerate(kid):
                res.forecasts[k] = float(fc[j])
                res.deltas[k] = float(d[j])
                res.bounds[k] = float(bound[j])
                bad[k] = not (d[j] <= bound[j])  # nan fails
            if update:
                for j, k in enumerate(kid):
                    keep = res.values[k] if not bad[k] else fc[j]
                    if math.isfinite(keep):
                        model.history.add(series_key(res.ids[k]), t, keep)
    res.failed = [res.ids[k] for k in range(n) if bad[k]]
    return res


def check_block(block_or_measurements, model, tolerance: float | None = None, *, update: bool = True) -> list[str]:
    """Check a received data block by feature values (Eq. 5-8).

    Parameters
    ----------
    block_or_measurements : DataBlock or iterable
        A ``cppsns3.chain.DataBlock`` or its measurements (``Measurement``
        objects, ``(id, time_s, value)`` tuples or dicts).
    model : FeatureModel
        The node's model (:func:`cppsns3.datacheck.train_model`); its history
        must reach up to the step before the block's time for the 1-step lag.
    tolerance : float, optional
        |Delta| bound as a fraction (default ``model.tolerance``).
    update : bool
        Record the outcome in the model's history (default True).

    Returns
    -------
    list of str
        IDs of the failed records; empty when the block passes.  An ID the
        model does not know fails.

    Raises
    ------
    ValueError
        If ``tolerance`` is not > 0 or a record is malformed.
    """
    return check_records(block_or_measurements, model, tolerance, update=update).failed
