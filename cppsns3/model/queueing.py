"""Exact M/M/1/K formulas (Eq. 1 of Yang et al. 2018).

K is the most customers the port holds *including the one in service*.  The
closed forms ``(1-rho) rho^K / (1-rho^(K+1))`` cancel catastrophically near
rho = 1 and overflow for large rho**K, so everything here is computed from the
normalised geometric weights ``rho^n / max_n rho^n`` for n = 0..K, which is exact
in floating point to a few ulps for every rho >= 0, including rho = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MM1KResult",
    "mm1k",
    "mm1k_state_probabilities",
    "mm1k_loss_probability",
    "mm1k_mean_number",
    "mm1k_mean_time",
]


def _check(rho, capacity):
    rho = np.asarray(rho, dtype=float)
    capacity = np.asarray(capacity)
    if not np.all(np.isfinite(rho)) or np.any(rho < 0):
        raise ValueError(f"rho must be finite and >= 0, got {rho!r}")
    if capacity.dtype.kind not in "iu" and not np.all(np.mod(capacity, 1) == 0):
        raise ValueError(f"capacity (K) must be an integer >= 1, got {capacity!r}")
    capacity = capacity.astype(np.int64)
    if np.any(capacity < 1):
        raise ValueError(f"capacity (K) must be an integer >= 1, got {capacity!r}")
    return np.broadcast_arrays(rho, capacity)


def _moments(rho: np.ndarray, capacity: np.ndarray):
    """Return (p_0, p_K, L) for broadcast arrays rho, capacity."""
    p0 = np.empty(rho.shape)
    pk = np.empty(rho.shape)
    mean_n = np.empty(rho.shape)
    flat_r, flat_k = rho.ravel(), capacity.ravel()
    for k in np.unique(flat_k):
        sel = flat_k == k
        r = flat_r[sel][:, None]
        n = np.arange(k + 1)[None, :]
        # Normalise by the largest weight: rho^n for rho <= 1, rho^(n-K) above.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_r = np.log(r)
            expo = np.where(r <= 1.0, n, n - k)
            w = np.where(r == 0.0, (n == 0).astype(float), np.exp(expo * log_r))
        total = w.sum(axis=1)
        p = w / total[:, None]
        p0.ravel()[np.flatnonzero(sel)] = p[:, 0]
        pk.ravel()[np.flatnonzero(sel)] = p[:, -1]
        mean_n.ravel()[np.flatnonzero(sel)] = (p * n).sum(axis=1)
    return p0, pk, mean_n


def mm1k_state_probabilities(rho: float, capacity: int) -> np.ndarray:
    """Stationary distribution p_0..p_K of one M/M/1/K queue.

    Raises
    ------
    ValueError
        If ``rho`` is negative or not finite, or ``capacity`` is not an integer >= 1.
    """
    r, k = _check(rho, capacity)
    if r.ndim:
        raise ValueError(f"rho must be a scalar here, got shape {r.shape}")
    k = int(k)
    n = np.arange(k + 1)
    if r == 0:
        w = (n == 0).astype(float)
    elif r <= 1:
        w = np.exp(n * np.log(r))
    else:
        w = np.exp((n - k) * np.log(r))
    return w / w.sum()


def mm1k_loss_probability(rho, capacity):
    """Blocking probability P_loss = p_K (vectorised over rho and capacity)."""
    r, k = _check(rho, capacity)
    return _moments(r, k)[1][()]


def mm1k_mean_number(rho, capacity):
    """Mean number in system L (vectorised)."""
    r, k = _check(rho, capacity)
    return _moments(r, k)[2][()]


def mm1k_mean_time(arrival_rate_per_s, service_rate_per_s, capacity):
    """Mean time in system W of an accepted customer, by Little's law.

    ``W = L / (lambda (1 - P_loss))``.  At zero arrival rate this is the bare
    service time 1/mu.

    Raises
    ------
    ValueError
        If a rate is not positive and finite, or capacity is invalid.
    """
    lam = np.asarray(arrival_rate_per_s, dtype=float)
    mu = np.asarray(service_rate_per_s, dtype=float)
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"arrival_rate_per_s must be finite and >= 0, got {lam!r}")
    if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError(f"service_rate_per_s must be finite and > 0, got {mu!r}")
    r, k = _check(lam / mu, capacity)
    _, pk, mean_n = _moments(r, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(lam > 0, mean_n / (lam * (1.0 - pk)), 1.0 / mu)
    return w[()]


@dataclass(frozen=True)
class MM1KResult:
    """Analytic figures of one M/M/1/K port."""

    rho: float
    capacity: int
    arrival_rate_per_s: float
    service_rate_per_s: float
    loss_probability: float
    mean_number_in_system: float
    mean_time_in_system_s: float

    def as_dict(self) -> dict:
        return {
            "loss_probability": self.loss_probability,
            "mean_time_in_system_s": self.mean_time_in_system_s,
            "mean_number_in_system": self.mean_number_in_system,
        }


def mm1k(arrival_rate_per_s: float, service_rate_per_s: float, capacity: int) -> MM1KResult:
    """All Eq. 1 figures for one port.

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
