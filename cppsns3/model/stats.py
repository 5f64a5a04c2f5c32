"""Confidence intervals used across the package (numpy and the math module).

A ``*_ci95`` figure is the half-width of a 95 % interval, value +- half-width.

The two quantiles these intervals need, Student's t (batch means) and the
beta quantiles of the Clopper-Pearson bounds of a binomial proportion, are
solved here from exact expressions of their distribution functions, to
floating-point precision, instead of taken from scipy: ``import scipy.stats``
alone takes about a second, longer than a short ``cppsns3 mm1k`` run.

- t: ``P(|T| <= t)`` for integer degrees of freedom nu is the finite series
  of Abramowitz & Stegun 26.7.3/26.7.4 in theta = atan(t / sqrt(nu)) (closed
  forms for nu = 1, 2); Newton's method with a bracket solves it.  Above
  :data:`T_SERIES_MAX_DF` degrees of freedom scipy's ``stdtrit`` is used,
  imported then.
- Clopper-Pearson: the lower bound p solves ``P(X >= k | n, p) = alpha/2``
  for X binomial (the same equation as ``beta.ppf(alpha/2, k, n-k+1)``); the
  tail is summed from the exact binomial probability of k, computed with
  Loader's saddle-point form (``stirlerr``, ``bd0``; as R's ``dbinom``),
  which has no cancellation for large n; the upper bound likewise from
  ``P(X <= k | n, p) = alpha/2``.

``tests/test_stats.py`` checks both against scipy to 1e-12 relative.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_half_width", "batch_means", "binomial_half_width", "t_quantile", "clopper_pearson"]

#: Largest degrees of freedom solved with the series (longer series: scipy).
T_SERIES_MAX_DF = 100

_EPS = 2.220446049250313e-16


def _t_central(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` >= 1, t >= 0 (A&S 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2:
        if df == 1:
            return 2.0 * theta / math.pi
        terms = [c]
        for k in range(1, (df - 1) // 2):
            terms.append(terms[-1] * c2 * (2 * k) / (2 * k + 1))
        return 2.0 / math.pi * (theta + s * math.fsum(terms))
    terms = [1.0]
    for k in range(1, df // 2):
        terms.append(terms[-1] * c2 * (2 * k - 1) / (2 * k))
    return s * math.fsum(terms)


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t quantile: t with ``P(|T_df| <= t) = confidence``.

    The same number as ``scipy.stats.t.ppf(0.5 + confidence / 2, df)``.

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1) or ``df`` is not an integer >= 1.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(df, bool) or int(df) != df or df < 1:
        raise ValueError(f"df must be an integer >= 1, got {df!r}")
    df = int(df)
    if df == 1:  # tan(pi c / 2), written so that 1 - c (exact) carries the precision
        return 1.0 / math.tan(math.pi * (1.0 - confidence) / 2.0)
    if df == 2:
        return confidence * math.sqrt(2.0 / ((1.0 - confidence) * (1.0 + confidence)))
    if df > T_SERIES_MAX_DF:
        from scipy.special import stdtrit

        return float(stdtrit(df, 0.5 + confidence / 2.0))
    from statistics import NormalDist

    # Density constant: f(t) = k (1 + t^2/df)^(-(df+1)/2); dP(|T|<=t)/dt = 2 f(t).
    k = math.exp(math.lgamma((df + 1) / 2.0) - math.lgamma(df / 2.0)) / math.sqrt(df * math.pi)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    t = z + (z**3 + z) / (4.0 * df)  # Cornish-Fisher start
    lo, hi = 0.0, math.inf
    for _ in range(200):
        a = _t_central(t, df)
        if a < confidence:
            lo = t
        else:
            hi = t
        step = (a - confidence) / (2.0 * k * (1.0 + t * t / df) ** (-(df + 1) / 2.0))
        new = t - step
        if not lo < new < hi:  # outside the bracket: bisect (doubling while unbounded)
            new = 2.0 * lo + 1.0 if hi == math.inf else 0.5 * (lo + hi)
        if abs(new - t) <= 2.0 * _EPS * abs(t) or new == t:
            return new
        t = new
    return t  # pragma: no cover - Newton converges in a few steps


# Loader's saddle-point binomial probability (as R's dbinom_raw).
_STIRLERR = (
    0.0,
    0.08106146679532726, 0.0413406959554093, 0.02767792568499834, 0.020790672103765093,
    0.016644691189821193, 0.013876128823070748, 0.01189670994589177, 0.010411265261972096,
    0.009255462182712733, 0.00833056343336287, 0.007573675487951841, 0.00694284010720953,
    0.006408994188004207, 0.0059513701127588475, 0.005554733551962801, 0.0052076559196096404,
    0.004901395948434738, 0.004629153749334028, 0.004385560249232324, 0.004166319691996922,
    0.00396795421864086, 0.0037876180684444346, 0.0036229602246830948, 0.003472021382978767,
    0.003333155636728093, 0.003204970228055038, 0.0030862786826087773, 0.002976063983550409,
    0.0028734493623524663, 0.0027776749297526936, 0.002688078828531143, 0.0026040819192516564,
    0.0025251752497567844, 0.002450909735438118, 0.002380887608234112, 0.002314755290514684,
    0.002252197424337524, 0.002192931843287834, 0.0021367053177525, 0.0020832899383024218,
    0.0020324800282566307, 0.0019840894972457954, 0.0019379495639957995, 0.0018939067896006345,
    0.0018518213729931796, 0.0018115656687196307, 0.0017730228939128539, 0.0017360859968765974,
    0.0017006566641960617, 0.0016666444469833656,
)


def _stirlerr(n: int) -> float:
    """log(n!) - log(sqrt(2 pi n) (n/e)^n) for an integer n >= 1."""
    if n < len(_STIRLERR):
        return _STIRLERR[n]
    nn = float(n) * n
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * nn)) / nn) / nn) / nn) / n


def _bd0(x: float, m: float) -> float:
    """x log(x/m) + m - x, accurate also when x is close to m."""
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        s = (x - m) * v
        ej = 2.0 * x * v
        v2 = v * v
        for j in range(1, 1000):
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
        return s  # pragma: no cover
    return x * math.log(x / m) + m - x


def _binom_pmf(k: int, n: int, p: float, q: float) -> float:
    """P(X = k) for X ~ Binomial(n, p), q = 1 - p, 0 < p < 1, to a few ulps."""
    if k == 0:
        return math.exp(n * math.log(q) if p >= 0.1 else -_bd0(n, n * q) - n * p)
    if k == n:
        return math.exp(n * math.log(p) if q >= 0.1 else -_bd0(n, n * p) - n * q)
    lc = _stirlerr(n) - _stirlerr(k) - _stirlerr(n - k) - _bd0(k, n * p) - _bd0(n - k, n * q)
    lf = math.log(2.0 * math.pi) + math.log(k) + math.log1p(-k / n)
    return math.exp(lc - 0.5 * lf)


def _tail(k: int, n: int, p: float, upper: bool) -> tuple[float, float]:
    """(tail, P(X = k)) for X ~ Binomial(n, p): tail P(X >= k) (``upper``) or P(X <= k).

    Summed from k away from the mean (``upper`` needs k >= n p, else k <= n p,
    so that the terms fall), with the term ratios, until they no longer count.
    """
    q = 1.0 - p
    pk = _binom_pmf(k, n, p, q)
    if pk == 0.0:
        return 0.0, 0.0
    total = term = 1.0  # in units of P(X = k)
    block = int(10.0 * math.sqrt(n * p * q)) + 64
    j = k
    while (j < n) if upper else (j > 0):
        if upper:
            m = min(block, n - j)
            idx = np.arange(j, j + m, dtype=np.float64)
            ratios = (n - idx) / (idx + 1.0) * (p / q)
            j += m
        else:
            m = min(block, j)
            idx = np.arange(j, j - m, -1, dtype=np.float64)
            ratios = idx / (n - idx + 1.0) * (q / p)
            j -= m
        terms = term * np.cumprod(ratios)
        total += float(terms.sum())
        term = float(terms[-1])
        if term < _EPS * 1e-3 * total:
            break
    return pk * total, pk


def _cp_bound(k: int, n: int, tail: float, upper_bound: bool) -> float:
    """A Clopper-Pearson bound for 1 <= k <= n (lower) or 0 <= k <= n-1 (upper).

    Lower: p < k/n with P(X >= k | n, p) = tail.  Upper: p > k/n with
    P(X <= k | n, p) = tail.  Solved in p itself (not as 1 - a bound of
    n - k), so that a bound near 0 keeps its relative precision.
    """
    from statistics import NormalDist

    if not upper_bound and k == n:
        return math.exp(math.log(tail) / n)  # p^n = tail
    if upper_bound and k == 0:
        return -math.expm1(math.log(tail) / n)  # (1-p)^n = tail
    mid = k / n
    lo, hi = (mid, 1.0) if upper_bound else (0.0, mid)
    z = NormalDist().inv_cdf(1.0 - tail)
    # Start: the normal approximation, kept inside the bracket.
    p = mid + (z if upper_bound else -z) * math.sqrt(max(mid * (1.0 - mid), 1.0 / n) / n)
    if not lo < p < hi:
        p = 0.5 * (lo + hi)
    log_tail = math.log(tail)
    for _ in range(300):
        t, pk = _tail(k, n, p, upper=not upper_bound)
        # Both tails move away from `tail` as p leaves the bracket's inner end.
        if (t < tail) != upper_bound:
            lo = p
        else:
            hi = p
        if t <= 0.0 or pk <= 0.0:
            new = 0.5 * (lo + hi)
        else:
            # Newton on log(tail): d/dp P(X >= k) = (k/p) P(X = k),
            # d/dp P(X <= k) = -((n-k)/(1-p)) P(X = k).
            slope = (k / p) * pk if not upper_bound else -((n - k) / (1.0 - p)) * pk
            new = p - (math.log(t) - log_tail) * t / slope
            if not lo < new < hi:
                new = 0.5 * (lo + hi)
        if abs(new - p) <= 2.0 * _EPS * p or new == p:
            return new
        p = new
    return p  # pragma: no cover - Newton converges in a few steps


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion.

    The same bounds as ``scipy.stats.beta.ppf(alpha/2, k, n-k+1)`` and
    ``beta.ppf(1-alpha/2, k+1, n-k)`` with alpha = 1 - confidence.

    Raises
    ------
    ValueError
        If the counts are not 0 <= successes <= trials, trials >= 1, or
        ``confidence`` is not in (0, 1).
    """
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes!r}, {trials!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    tail = (1.0 - confidence) / 2.0
    lo = 0.0 if k == 0 else _cp_bound(k, n, tail, upper_bound=False)
    hi = 1.0 if k == n else _cp_bound(k, n, tail, upper_bound=True)
    return lo, hi


def t_half_width(samples, confidence: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean of iid ``samples``.

    Returns ``nan`` for fewer than two samples.
    """
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan")
    q = t_quantile(confidence, x.size - 1)
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
    p = successes / trials
    lo, hi = clopper_pearson(successes, trials, confidence)
    return float(max(p - lo, hi - p))
