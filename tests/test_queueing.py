"""Eq. 1 (exact M/M/1/K) against an independent numerical solution."""

import numpy as np
import pytest
from scipy import linalg

from cppsns3.model.queueing import (
    mm1k,
    mm1k_loss_probability,
    mm1k_mean_number,
    mm1k_mean_time,
    mm1k_state_probabilities,
)

REL_TOL = 1e-9


def birth_death_stationary(lam, mu, k):
    """Solve pi Q = 0 for the CTMC generator of M/M/1/K (no closed form used)."""
    q = np.zeros((k + 1, k + 1))
    for n in range(k):
        q[n, n + 1] = lam
        q[n + 1, n] = mu
    q -= np.diag(q.sum(axis=1))
    ns = linalg.null_space(q.T)[:, 0]
    return ns / ns.sum()


@pytest.mark.parametrize("rho", [0.01, 0.5, 0.9, 0.999999, 1.0, 1.000001, 1.3, 4.0])
@pytest.mark.parametrize("k", [1, 2, 5, 20, 60])
def test_formulas_match_birth_death_chain(rho, k):
    mu = 1000.0
    lam = rho * mu
    pi = birth_death_stationary(lam, mu, k)
    n = np.arange(k + 1)
    assert np.allclose(mm1k_state_probabilities(rho, k), pi, rtol=1e-8, atol=1e-14)
    assert mm1k_loss_probability(rho, k) == pytest.approx(pi[-1], rel=1e-8, abs=1e-15)
    assert mm1k_mean_number(rho, k) == pytest.approx((n * pi).sum(), rel=1e-8)
    w = (n * pi).sum() / (lam * (1 - pi[-1]))
    assert mm1k_mean_time(lam, mu, k) == pytest.approx(w, rel=1e-8)


def test_rho_one_limits():
    for k in (1, 7, 100):
        assert mm1k_loss_probability(1.0, k) == pytest.approx(1 / (k + 1), rel=REL_TOL)
        assert mm1k_mean_number(1.0, k) == pytest.approx(k / 2, rel=REL_TOL)


def test_closed_form_away_from_one():
    for rho in (0.3, 0.8, 1.5):
        k = 10
        p = (1 - rho) * rho**k / (1 - rho ** (k + 1))
        ell = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
        assert mm1k_loss_probability(rho, k) == pytest.approx(p, rel=1e-10)
        assert mm1k_mean_number(rho, k) == pytest.approx(ell, rel=1e-10)


def test_continuous_through_one():
    # No cancellation: values just either side of rho = 1 agree with rho = 1.
    for k in (5, 50):
        at = mm1k_mean_number(1.0, k)
        for eps in (1e-12, 1e-9, 1e-6):
            assert mm1k_mean_number(1 + eps, k) == pytest.approx(at, rel=1e-4)
            assert mm1k_mean_number(1 - eps, k) == pytest.approx(at, rel=1e-4)


def test_vectorised_and_large_k():
    rho = np.array([0.5, 1.0, 2.0])
    k = np.array([3, 3, 3])
    assert mm1k_loss_probability(rho, k).shape == (3,)
    # rho^K would overflow in the closed form; here it is exact.
    assert mm1k_loss_probability(50.0, 400) == pytest.approx(1 - 1 / 50, rel=1e-12)


def test_littles_law_consistency():
    r = mm1k(900.0, 1000.0, 10)
    assert r.mean_number_in_system == pytest.approx(
        r.arrival_rate_per_s * (1 - r.loss_probability) * r.mean_time_in_system_s, rel=1e-12
    )


@pytest.mark.parametrize(
    "args,fragment",
    [((-0.1, 5), "rho"), ((float("nan"), 5), "rho"), ((0.5, 0), "capacity"), ((0.5, 2.5), "capacity")],
)
def test_bad_arguments(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        mm1k_loss_probability(*args)


def test_bad_rates():
    with pytest.raises(ValueError, match="service_rate_per_s"):
        mm1k_mean_time(1.0, 0.0, 5)
    with pytest.raises(ValueError, match="arrival_rate_per_s"):
        mm1k_mean_time(-1.0, 1.0, 5)
