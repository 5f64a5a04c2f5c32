"""Exact M/M/1/K formulas (Eq. 1 of Yang et al. 2018), O(1) in K.

K is the most customers the port holds *including the one in service*, rho =
lambda / mu.  The textbook closed forms

    P_loss = p_K = (1-rho) rho^K / (1-rho^(K+1))
    L            = rho/(1-rho) - (K+1) rho^(K+1) / (1-rho^(K+1))

cancel catastrophically near rho = 1 and overflow for large rho^K, so they are
rewritten in terms of ``a = log(rho)`` (``log1p(rho - 1)`` for 0.5 < rho < 2),
``b = -|a| <= 0`` (the log of ``min(rho, 1/rho)``, so no power of a number
above 1 is ever formed) and ``expm1``:

* loss probability (p_n(rho) = p_(K-n)(1/rho), so for rho > 1 the p_0
  formula is used with 1/rho, i.e. with b)::

      rho < 1:  P = expm1(b) e^(K b) / expm1((K+1) b)     (= p_0 rho^K)
      rho > 1:  P = expm1(b) / expm1((K+1) b)             (= p_0(1/rho))

  a quotient and product of terms that are each accurate to a few ulps: no
  subtraction of nearly equal numbers anywhere (near rho = 1 both expm1 are
  about b and (K+1) b, their ratio about 1/(K+1)); at rho = 1, P = 1/(K+1).

* mean number in system, with ``t = (K+1) a`` and the Langevin function
  ``Lg(z) = coth z - 1/z`` (odd, ``z/3 - z^3/45 + ...``)::

      |t| <= 2:  L = K/2 - Lg(a/2)/2 + (K+1) Lg(t/2)/2        (exact identity)
      |t| >  2:  l = 1/expm1(-b) - (K+1)/expm1(-(K+1) b)
                 L = l (rho < 1),  L = K - l (rho > 1)

  The first form is ``L = 1/expm1(-a) - (K+1)/expm1(-t)`` with the two poles
  ``1/a`` removed analytically, so it is exact through rho = 1 (L = K/2 there);
  ``Lg`` is summed from its Taylor series for ``|z| < 1/2`` (12 terms, below
  1e-16 relative); there L >= 0.34 K while its terms are at most about K/2.
  In the second form the subtracted term is at most ``2/(e+1) = 0.54`` of the
  first, and for rho > 1 the reflection subtracts a value below 0.35 K from
  K, so no form loses more than about one bit.

* mean time in system by Little's law, ``W = L / (lambda (1 - P))``, which by
  the flow balance ``lambda (1 - p_K) = mu (1 - p_0)`` is::

      rho < 1:  mu W = (L/rho) / (1 - P),   1 - P   = expm1(K b) / expm1((K+1) b)
      rho > 1:  mu W = L / (1 - p_0),       1 - p_0 = expm1(K b) / expm1((K+1) b)

  with ``L/rho = 1/(1-rho) - (K+1) rho^K / (1-rho^(K+1))`` evaluated as
  ``-1/expm1(b) + (K+1) e^(K b) / expm1((K+1) b)`` for |t| > 2, so that W
  stays 1/(mu (1-rho)) when rho, L and lambda underflow, and no 1/rho or
  rho^-1 rounding enters W above rho = 1.

Cost and memory are O(1) per (rho, K) element, vectorised over numpy arrays;
K may be any integer from 1 to ``2**53`` (the largest integer a float holds
exactly).  Only :func:`mm1k_state_probabilities`, which returns K + 1 numbers,
is limited to ``K <= MAX_STATES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb, factorial

import numpy as np

__all__ = [
    "MAX_CAPACITY",
    "MAX_STATES",
    "MM1KResult",
    "mm1k",
    "mm1k_state_probabilities",
    "mm1k_loss_probability",
    "mm1k_mean_number",
    "mm1k_mean_time",
]

#: Largest capacity K accepted (K is used as a float; 2**53 is still exact).
MAX_CAPACITY = 2**53
#: Largest K for which :func:`mm1k_state_probabilities` builds its K + 1 values.
MAX_STATES = 10_000_000


def _langevin_coefficients(terms: int) -> np.ndarray:
    """Taylor coefficients c_n of ``coth z - 1/z = sum_n c_n z^(2n-1)``.

    ``c_n = 2^(2n) B_(2n) / (2n)!`` with the Bernoulli numbers B, computed in
    exact rational arithmetic.
    """
    bern = [Fraction(1)]
    for m in range(1, 2 * terms + 1):
        bern.append(-sum(comb(m + 1, j) * bern[j] for j in range(m)) / (m + 1))
    return np.array([float(Fraction(4**n) * bern[2 * n] / factorial(2 * n)) for n in range(1, terms + 1)])


_LANGEVIN_C = _langevin_coefficients(12)
_LANGEVIN_SERIES_BELOW = 0.5  # |z| below which the series is used
_LANGEVIN_FORM_UP_TO = 2.0  # |(K+1) log rho| up to which L uses the Langevin form


def _langevin(z: np.ndarray) -> np.ndarray:
    """``coth z - 1/z``, accurate to a few ulps for every finite or infinite z.

    Taylor series (Horner in z^2) for ``|z| < 1/2``, ``1/tanh z - 1/z`` above
    (where the subtraction loses at most a factor 13, i.e. under 4 bits, and
    the callers weight this term by at most 0.6 of the result).
    """
    z = np.asarray(z, dtype=float)
    z2 = z * z
    series = np.zeros_like(z)
    for c in _LANGEVIN_C[::-1]:
        series = series * z2 + c
    series = series * z
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = 1.0 / np.tanh(z) - 1.0 / z
    return np.where(np.abs(z) < _LANGEVIN_SERIES_BELOW, series, direct)


def _check(rho, capacity):
    """Validate and broadcast ``rho`` (float) and ``capacity`` (int64 K).

    Raises
    ------
    ValueError
        If ``rho`` is negative or not finite, or ``capacity`` is not an
        integer in ``[1, MAX_CAPACITY]`` (the message names it and the value).
    """
    rho = np.asarray(rho, dtype=float)
    capacity = np.asarray(capacity)
    if not np.isfinite(rho).all() or (rho < 0).any():
        raise ValueError(f"rho must be finite and >= 0, got {rho!r}")
    try:
        ok = capacity.dtype.kind in "iufO" and (
            capacity.dtype.kind in "iu" or bool(np.all(np.mod(capacity, 1) == 0)))
        ok = ok and not (np.asarray(capacity < 1).any() or np.asarray(capacity > MAX_CAPACITY).any())
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"capacity (K) must be an integer in [1, {MAX_CAPACITY}], got {capacity!r}")
    capacity = capacity.astype(np.int64)
    return np.broadcast_arrays(rho, capacity)


def _log_rho(rho: np.ndarray) -> np.ndarray:
    """``log(rho)``, via ``log1p(rho - 1)`` (``rho - 1`` exact) for 0.5 < rho < 2."""
    with np.errstate(divide="ignore"):
        return np.where((rho > 0.5) & (rho < 2.0), np.log1p(rho - 1.0), np.log(rho))


def _figures(rho: np.ndarray, capacity: np.ndarray, loss: bool = True, mean: bool = True):
    """Closed-form Eq. 1 figures for broadcast arrays rho, capacity.

    Parameters
    ----------
    rho : numpy.ndarray
        Offered load, finite and >= 0.
    capacity : numpy.ndarray
        Integer K >= 1, same shape as ``rho``.
    loss, mean : bool
        Which figures to compute (the others are returned as None).

    Returns
    -------
    loss_probability, mean_number, mu_w : numpy.ndarray or None
        ``p_K``; ``L``; and ``mu W = L / (1 - p_0)``, the mean time in system
        in service times (1 at rho = 0; computed without dividing underflowed
        numbers and without forming a power of rho).  The last two come
        together (``mean``).  Shape of ``rho``.  See the module docstring for
        the formulas.
    """
    k = capacity.astype(float)
    k1 = k + 1.0
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        a = _log_rho(rho)
        b = -np.abs(a)  # log min(rho, 1/rho) <= 0
        below = a < 0
        at_one = a == 0
        any_one = at_one.any()
        em_b = np.expm1(b)
        em_t = np.expm1(k1 * b)
        kb = k * b
        e_kb = np.exp(kb)
        p_loss = None
        if loss:
            ratio = em_b / em_t  # p_0 for rho < 1, p_K for rho > 1
            p_loss = np.where(below, ratio * e_kb, ratio)
            if any_one:
                p_loss = np.where(at_one, 1.0 / k1, p_loss)
            p_loss = np.minimum(p_loss, 1.0)
        if not mean:
            return p_loss, None, None

        low_l = 1.0 / np.expm1(-b) - k1 / np.expm1(-k1 * b)
        mean_n = np.where(below, low_l, k - low_l)
        near = np.abs(k1 * a) <= _LANGEVIN_FORM_UP_TO
        if near.any():  # the Langevin form, only where it is needed
            a_n, k_n = a[near], k[near]
            mean_n[near] = (0.5 * k_n - 0.5 * _langevin(0.5 * a_n)
                            + 0.5 * (k_n + 1.0) * _langevin(0.5 * (k_n + 1.0) * a_n))
        mean_n = np.clip(mean_n, 0.0, k)
        # 1 - p_K for rho < 1, 1 - p_0 = rho (1 - p_K) for rho > 1 (reflection)
        busy = np.expm1(kb) / em_t
        # mu W = L / (rho (1 - p_K)) = L / (1 - p_0).  rho < 1: L / rho without
        # dividing two underflowing numbers, 1/(1-rho) - (K+1) rho^K / (1-rho^(K+1))
        # (its limit at rho = 0 is 1); rho >= 1: L / (1 - p_0), no power of rho.
        per_rho = np.where(near, mean_n / rho, -1.0 / em_b + k1 * e_kb / em_t)
        mu_w = np.where(below, per_rho, mean_n) / busy
        if any_one:
            mu_w = np.where(at_one, 0.5 * k1, mu_w)
    return p_loss, mean_n, mu_w


def mm1k_state_probabilities(rho: float, capacity: int) -> np.ndarray:
    """Stationary distribution p_0..p_K of one M/M/1/K queue.

    Parameters
    ----------
    rho : float
        Offered load lambda/mu, finite and >= 0 (a scalar).
    capacity : int
        K, customers held including the one in service, 1 <= K <= MAX_STATES.

    Returns
    -------
    numpy.ndarray
        The K + 1 probabilities, from the geometric weights ``rho^n`` scaled by
        the largest one (``rho^(n-K)`` above rho = 1), so no overflow.

    Raises
    ------
    ValueError
        If ``rho`` is negative, not finite or not a scalar, or ``capacity`` is
        not an integer >= 1, or K exceeds :data:`MAX_STATES` (the array would
        hold K + 1 values; use the O(1) functions for such K).
    """
    r, k = _check(rho, capacity)
    if r.ndim:
        raise ValueError(f"rho must be a scalar here, got shape {r.shape}")
    k = int(k)
    if k > MAX_STATES:
        raise ValueError(f"capacity (K) = {k} is above MAX_STATES = {MAX_STATES}: "
                         "mm1k_state_probabilities returns K + 1 values")
    n = np.arange(k + 1)
    if r == 0:
        w = (n == 0).astype(float)
    elif r <= 1:
        w = np.exp(n * np.log(r))
    else:
        w = np.exp((n - k) * np.log(r))
    return w / w.sum()


def mm1k_loss_probability(rho, capacity):
    """Blocking probability P_loss = p_K, O(1) in K.

    Parameters
    ----------
    rho : float or array_like
        Offered load lambda/mu, finite and >= 0.
    capacity : int or array_like of int
        K, 1 <= K <= MAX_CAPACITY; broadcast against ``rho``.

    Returns
    -------
    float or numpy.ndarray
        ``p_K`` in [0, 1] (a numpy scalar for scalar inputs).

    Raises
    ------
    ValueError
        If ``rho`` or ``capacity`` is invalid (the message carries the value).
    """
    r, k = _check(rho, capacity)
    return _figures(r, k, mean=False)[0][()]


def mm1k_mean_number(rho, capacity):
    """Mean number in system L, O(1) in K.

    Parameters
    ----------
    rho : float or array_like
        Offered load lambda/mu, finite and >= 0.
    capacity : int or array_like of int
        K, 1 <= K <= MAX_CAPACITY; broadcast against ``rho``.

    Returns
    -------
    float or numpy.ndarray
        ``L`` in [0, K] (a numpy scalar for scalar inputs).

    Raises
    ------
    ValueError
        If ``rho`` or ``capacity`` is invalid (the message carries the value).
    """
    r, k = _check(rho, capacity)
    return _figures(r, k, loss=False)[1][()]


def mm1k_mean_time(arrival_rate_per_s, service_rate_per_s, capacity):
    """Mean time in system W of an accepted customer, by Little's law, O(1) in K.

    ``W = L / (lambda (1 - P_loss)) = (L/rho) / (mu (1 - P_loss))``, with
    ``1 - P_loss`` and ``L/rho`` from their own closed forms (full relative
    precision also when P_loss is close to 1 or rho underflows).  At zero
    arrival rate this is the bare service time 1/mu.

    Parameters
    ----------
    arrival_rate_per_s : float or array_like
        lambda, finite and >= 0.
    service_rate_per_s : float or array_like
        mu, finite and > 0.
    capacity : int or array_like of int
        K, 1 <= K <= MAX_CAPACITY.

    Returns
    -------
    float or numpy.ndarray
        W in seconds (a numpy scalar for scalar inputs).

    Raises
    ------
    ValueError
        If a rate is not positive and finite, or capacity is invalid.
    """
    lam = np.asarray(arrival_rate_per_s, dtype=float)
    mu = np.asarray(service_rate_per_s, dtype=float)
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise ValueError(f"arrival_rate_per_s must be finite and >= 0, got {lam!r}")
    if not np.isfinite(mu).all() or (mu <= 0).any():
        raise ValueError(f"service_rate_per_s must be finite and > 0, got {mu!r}")
    r, k = _check(lam / mu, capacity)
    mu_w = _figures(r, k, loss=False)[2]
    w = np.where(lam > 0, mu_w / mu, 1.0 / mu)
    return w[()]


@dataclass(frozen=True)
class MM1KResult:
    """Analytic figures of one M/M/1/K port.

    Attributes
    ----------
    rho : float
        lambda / mu.
    capacity : int
        K, the packet in service included.
    arrival_rate_per_s, service_rate_per_s : float
        lambda and mu.
    loss_probability : float
        P_loss = p_K.
    mean_number_in_system : float
        L.
    mean_time_in_system_s : float
        W of an accepted customer (Little's law).
    """

    rho: float
    capacity: int
    arrival_rate_per_s: float
    service_rate_per_s: float
    loss_probability: float
    mean_number_in_system: float
    mean_time_in_system_s: float

    def as_dict(self) -> dict:
        """The three Eq. 1 figures, keyed as in the ``--json`` outputs."""
        return {
            "loss_probability": self.loss_probability,
            "mean_time_in_system_s": self.mean_time_in_system_s,
            "mean_number_in_system": self.mean_number_in_system,
        }


def mm1k(arrival_rate_per_s: float, service_rate_per_s: float, capacity: int) -> MM1KResult:
    """All Eq. 1 figures for one port.

    Parameters
    ----------
    arrival_rate_per_s : float
        lambda, finite and >= 0.
    service_rate_per_s : float
        mu, finite and > 0.
    capacity : int
        K, 1 <= K <= MAX_CAPACITY.

    Returns
    -------
    MM1KResult

    Raises
    ------
    ValueError
        If a rate or the capacity is invalid (the message carries the value).
    """
    w = float(mm1k_mean_time(arrival_rate_per_s, service_rate_per_s, capacity))
    rho = arrival_rate_per_s / service_rate_per_s
    return MM1KResult(
        rho=float(rho),
        capacity=int(capacity),
        arrival_rate_per_s=float(arrival_rate_per_s),
        service_rate_per_s=float(service_rate_per_s),
        loss_probability=float(mm1k_loss_probability(rho, capacity)),
        mean_number_in_system=float(mm1k_mean_number(rho, capacity)),
        mean_time_in_system_s=w,
    )
