"""Confidence intervals used across the package (pure numpy/scipy).

A ``*_ci95`` figure is the half-width of a 95 % interval, value +- half-width.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

__all__ = ["t_half_width", "batch_means", "binomial_half_width"]


def t_half_width(samples, confidence: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean of iid ``samples``.

    Returns ``nan`` for fewer than two samples.
    """
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan")
    q = _st.t.ppf(0.5 + confidence / 2, x.size - 1)
    return float(q * x.std(ddof=1) / math.sqrt(x.size))


def batch_means(values, n_batches: int = 20, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of a stationary series and its batch-means CI half-width.

    The series (in time order) is cut into ``n_batches`` equal consecutive
    batches; with batches much longer than the correlation time, their means
    are nearly independent and normal.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    n_batches = max(2, min(n_batches, x.size))
    usable = x.size - x.size % n_batches
    means = x[:usable].reshape(n_batches, -1).mean(axis=1)
    return float(x.mean()), t_half_width(means, confidence)


def binomial_half_width(successes: int, trials: int, confidence: float = 0.95) -> float:
    """Largest distance from k/n to the Clopper-Pearson bounds (exact, conservative).

    Used as a floor for loss CIs: batch means give a zero-width interval when
    no loss was seen at all.
    """
    if trials <= 0:
        return float("nan")
    alpha = 1 - confidence
    p = successes / trials
    lo = 0.0 if successes == 0 else _st.beta.ppf(alpha / 2, successes, trials - successes + 1)
    hi = 1.0 if successes == trials else _st.beta.ppf(1 - alpha / 2, successes + 1, trials - successes)
    return float(max(p - lo, hi - p))
