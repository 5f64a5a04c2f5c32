"""Eq. 1 (exact M/M/1/K) against an independent numerical solution.

Also: the O(1)-in-K closed forms of :mod:`cppsns3.model.queueing` against the
O(K) summation they replaced (kept below as ``_reference_figures``), their
limits, K up to 1e9 and beyond, and planning with a huge queue_capacity.
"""

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from cppsns3.model.queueing import (
    MAX_CAPACITY,
    MAX_STATES,
    mm1k,
    mm1k_loss_probability,
    mm1k_mean_number,
    mm1k_mean_time,
    mm1k_state_probabilities,
)

SCEN = Path(__file__).resolve().parent.parent / "scenarios"

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


# --- O(1) closed forms against the O(K) summation they replaced -------------------------


def _reference_figures(rho, capacity):
    """The former implementation: normalised geometric weights, O(K) per element.

    Returns ``(p_K, sum_{n<K} p_n, L)`` for broadcast arrays.  The second entry
    is summed rather than taken as ``1 - p_K`` so that it keeps its relative
    precision when p_K is close to 1 (the former ``mm1k_mean_time`` used
    ``1 - p_K`` and lost ``log10(rho)`` digits there).
    """
    rho, capacity = np.broadcast_arrays(np.asarray(rho, float), np.asarray(capacity, np.int64))
    pk, served, mean_n = (np.empty(rho.shape) for _ in range(3))
    flat_r, flat_k = rho.ravel(), capacity.ravel()
    for k in np.unique(flat_k):
        sel = np.flatnonzero(flat_k == k)
        r = flat_r[sel][:, None]
        n = np.arange(k + 1)[None, :]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_r = np.log(r)
            expo = np.where(r <= 1.0, n, n - k)
            w = np.where(r == 0.0, (n == 0).astype(float), np.exp(expo * log_r))
        p = w / w.sum(axis=1)[:, None]
        pk.ravel()[sel] = p[:, -1]
        served.ravel()[sel] = p[:, :-1].sum(axis=1)
        mean_n.ravel()[sel] = (p * n).sum(axis=1)
    return pk, served, mean_n


CROSS_RHO = np.array([
    0.0, 5e-324, 1e-300, 1e-12, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12,
    1 - 2**-53, 1.0, 1 + 2**-52, 1 + 1e-12, 1 + 1e-9, 1 + 1e-6, 1.001, 1.01, 1.1, 2.0, 50.0, 1e6, 1e100,
])
CROSS_K = np.arange(1, 1001)
# Below the smallest normal float (2.2e-308) no relative precision exists: the
# reference and the closed form then both return an underflowed 0 or subnormal.
UNDERFLOW = 1e-300


def _assert_rel(new, ref, what, rtol=1e-12, atol=0.0):
    new, ref = np.broadcast_arrays(new, ref)
    err = np.abs(new - ref)
    bad = err > rtol * np.abs(ref) + atol
    if bad.any():
        i = np.unravel_index(np.flatnonzero(bad)[0], bad.shape)
        raise AssertionError(f"{what}: {bad.sum()} disagree, e.g. rho={CROSS_RHO[i[0]]!r} "
                             f"K={CROSS_K[i[1]]}: {new[i]!r} vs {ref[i]!r}")


def test_closed_forms_match_summation_for_all_k_up_to_1000():
    rho, k = CROSS_RHO[:, None], CROSS_K[None, :]
    pk, served, mean_n = _reference_figures(rho, k)
    _assert_rel(mm1k_loss_probability(rho, k), pk, "P_loss", atol=UNDERFLOW)
    _assert_rel(mm1k_mean_number(rho, k), mean_n, "L", atol=UNDERFLOW)
    mu = 1000.0
    lam = rho * mu
    with np.errstate(divide="ignore", invalid="ignore"):
        w_ref = np.where(lam > 0, mean_n / (lam * served), 1.0 / mu)
    _assert_rel(mm1k_mean_time(lam, mu, k), w_ref, "W")
    # The former W (with 1 - p_K) agrees too wherever p_K is not close to 1.
    old = rho[:, 0] <= 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        w_old = np.where(lam > 0, mean_n / (lam * (1.0 - pk)), 1.0 / mu)
    _assert_rel(mm1k_mean_time(lam[old], mu, k), w_old[old], "W (1 - p_K form)")


def test_scalar_calls_equal_vectorised_calls():
    rho = np.array([0.3, 1.0, 1 + 1e-9, 7.0])
    k = np.array([1, 10**9, 37, 2**40])
    vec = mm1k_loss_probability(rho, k), mm1k_mean_number(rho, k)
    for i in range(4):
        p, ell = mm1k_loss_probability(float(rho[i]), int(k[i])), mm1k_mean_number(float(rho[i]), int(k[i]))
        assert np.ndim(p) == 0 and np.ndim(ell) == 0
        assert p == vec[0][i] and ell == vec[1][i]
    assert mm1k_loss_probability(rho[:, None], np.array([[1, 5]])).shape == (4, 2)


# --- limits ------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 7, 1000, 10**5, 10**9, 10**12, MAX_CAPACITY])
def test_rho_one_exact_for_any_k(k):
    assert mm1k_loss_probability(1.0, k) == pytest.approx(1 / (k + 1), rel=1e-15)
    assert mm1k_mean_number(1.0, k) == k / 2
    assert mm1k_mean_time(5.0, 5.0, k) == pytest.approx((k / 2) / (5.0 * k / (k + 1)), rel=1e-15)
    if k == MAX_CAPACITY:
        return
    # Smooth through 1: with a = log(rho), L = K/2 + a((K+1)^2 - 1)/12 - a^3((K+1)^4 - 1)/720 + O(a^5 K^6)
    for d in (max(1e-3 / (k + 1) ** 2, 1e-15), 1e-6 / (k + 1)):
        for rho in (1 + d, 1 - d):
            a = math.log(rho)
            expect = k / 2 + a * ((k + 1) ** 2 - 1) / 12 - a**3 * ((k + 1) ** 4 - 1) / 720
            assert mm1k_mean_number(rho, k) == pytest.approx(expect, rel=1e-12)
            p_expect = 1 / (k + 1) * (1 + a * k / 2 + a**2 * k * (k - 1) / 12)  # to second order
            assert mm1k_loss_probability(rho, k) == pytest.approx(p_expect, rel=1e-9)


@pytest.mark.parametrize("k", [1, 3, 50, 10**9])
def test_rho_to_zero(k):
    for rho in (1e-3, 1e-8, 1e-15, 1e-200):
        # P = (1-rho) rho^K / (1-rho^(K+1)), L = rho + O(rho^2)
        p_exp = (1 - rho) * rho**k / (1 - rho ** (k + 1)) if k * math.log10(rho) > -300 else 0.0
        assert mm1k_loss_probability(rho, k) == pytest.approx(p_exp, rel=1e-12, abs=UNDERFLOW)
        assert mm1k_mean_number(rho, k) == pytest.approx(rho, rel=2 * rho + 1e-15)
    assert mm1k_loss_probability(0.0, k) == 0.0 and mm1k_mean_number(0.0, k) == 0.0
    assert mm1k_mean_time(0.0, 4.0, k) == 0.25


@pytest.mark.parametrize("k", [1, 3, 50, 10**9])
def test_rho_to_infinity(k):
    for rho in (1e3, 1e8, 1e15, 1e200, 1e307):
        # With s = 1/rho: P = (1-s)/(1-s^(K+1)) -> 1 - 1/rho, L = K - L(s) -> K - 1/rho
        s = 1 / rho
        p_exact = (1 - s) / (1 - s ** (k + 1))
        l_exact = k - (s / (1 - s) - (k + 1) * s ** (k + 1) / (1 - s ** (k + 1)))
        assert mm1k_loss_probability(rho, k) == pytest.approx(p_exact, rel=1e-15)
        assert mm1k_loss_probability(rho, k) == pytest.approx(1 - s, rel=2 * s**2)
        assert mm1k_mean_number(rho, k) == pytest.approx(l_exact, rel=1e-15)
        assert mm1k_mean_number(rho, k) == pytest.approx(k - s, rel=1e-15, abs=2 * s**2)
        # W of an accepted packet (mu = 1): the queue is nearly always full, W -> K
        assert mm1k_mean_time(rho, 1.0, k) == pytest.approx(k, rel=2 * s)


def test_huge_k_matches_the_infinite_queue():
    k = 10**9
    for rho in (1e-6, 0.1, 0.5, 0.9, 0.99, 0.9999):
        # M/M/1: L = rho/(1-rho), W = 1/(mu-lam); the tail rho^K is far below 1e-300
        assert mm1k_loss_probability(rho, k) == 0.0
        assert mm1k_mean_number(rho, k) == pytest.approx(rho / (1 - rho), rel=1e-12)
        assert mm1k_mean_time(rho * 100.0, 100.0, k) == pytest.approx(1 / (100.0 - rho * 100.0), rel=1e-12)
    for rho in (1.0001, 1.01, 1.5, 2.0, 50.0, 1e6):
        # overloaded: P -> 1 - 1/rho, L -> K - 1/(rho-1), accepted rate = mu, W -> L/mu
        assert mm1k_loss_probability(rho, k) == pytest.approx(1 - 1 / rho, rel=1e-12)
        assert mm1k_mean_number(rho, k) == pytest.approx(k - 1 / (rho - 1), rel=1e-15)
        assert mm1k_mean_time(rho * 100.0, 100.0, k) == pytest.approx((k - 1 / (rho - 1)) / 100.0, rel=1e-12)
    for k in (10**9, 10**15, MAX_CAPACITY):
        for rho in (1e-9, 0.5, 1.0, 3.0, 1e9):
            vals = mm1k_loss_probability(rho, k), mm1k_mean_number(rho, k), mm1k_mean_time(rho, 1.0, k)
            assert all(np.isfinite(vals))


def test_huge_k_near_one_against_high_precision():
    import mpmath
    mpmath.mp.dps = 60
    for k in (10**6, 10**9):
        for d in (-3e-9, -1e-9, -1e-12, 1e-12, 1e-9, 3e-9, 1e-7):
            rho = 1.0 + d
            r = mpmath.mpf(rho)  # the float rho exactly
            rk, rk1 = r**k, r ** (k + 1)
            p = (1 - r) * rk / (1 - rk1)
            ell = r / (1 - r) - (k + 1) * rk1 / (1 - rk1)
            w = ell / (r * (1 - p))  # mu = 1
            assert mm1k_loss_probability(rho, k) == pytest.approx(float(p), rel=1e-12)
            assert mm1k_mean_number(rho, k) == pytest.approx(float(ell), rel=1e-12)
            assert mm1k_mean_time(rho, 1.0, k) == pytest.approx(float(w), rel=1e-12)


def test_capacity_limits():
    with pytest.raises(ValueError, match=r"capacity \(K\).*" + str(MAX_CAPACITY + 1)):
        mm1k_loss_probability(0.5, MAX_CAPACITY + 1)
    for bad in (10**30, 1e300, float("inf"), float("nan"), "5"):
        with pytest.raises(ValueError, match="capacity"):
            mm1k_mean_number(0.5, bad)
    assert mm1k_loss_probability(0.5, 1e9) == 0.0  # an integral float is accepted
    with pytest.raises(ValueError, match=rf"capacity \(K\) = {MAX_STATES + 1}.*MAX_STATES"):
        mm1k_state_probabilities(0.5, MAX_STATES + 1)
    assert mm1k_state_probabilities(2.0, 10**5).sum() == pytest.approx(1.0, rel=1e-12)


# --- properties --------------------------------------------------------------------------

RHO = st.one_of(st.floats(0.0, 1e12, allow_nan=False), st.floats(0.999, 1.001),
                st.floats(1 - 1e-6, 1 + 1e-6))
CAP = st.one_of(st.integers(1, 60), st.integers(1, MAX_CAPACITY))


@settings(max_examples=300, deadline=None)
@given(RHO, CAP)
def test_figures_in_range(rho, k):
    p, ell = mm1k_loss_probability(rho, k), mm1k_mean_number(rho, k)
    assert 0.0 <= p <= 1.0
    assert 0.0 <= ell <= k
    if rho > 0:
        w = mm1k_mean_time(rho, 1.0, k)
        assert 1.0 - 1e-12 <= w * (1 + 1e-12) and w <= k * (1 + 1e-12)  # 1/mu <= W <= K/mu


@settings(max_examples=300, deadline=None)
@given(RHO, st.floats(1e-9, 10.0), CAP)
def test_monotonic_in_rho(rho, step, k):
    hi = rho * (1 + step) + step
    p0, p1 = mm1k_loss_probability(rho, k), mm1k_loss_probability(hi, k)
    l0, l1 = mm1k_mean_number(rho, k), mm1k_mean_number(hi, k)
    assert p1 >= p0 * (1 - 1e-13)
    assert l1 >= l0 * (1 - 1e-13)


# --- planning with a huge queue_capacity --------------------------------------------------

def test_plan_ieee14_with_capacity_1e9():
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import scenario_from_dict

    data = tomllib.loads((SCEN / "ieee14.toml").read_text())
    data["queue_capacity"] = 10**9
    sc = scenario_from_dict(data, base_dir=SCEN)
    pl = plan(sc, "all")
    assert pl.queue_capacity == 10**9
    assert set(pl.algorithms) == {"qtdr", "qos-r", "ra-dbmm", "qtdr-ls"}
    obj = pl.to_json_dict()
    for a in obj["algorithms"].values():
        assert a["paths"] and all(math.isfinite(p["delay_s"]) and p["delay_s"] > 0 for p in a["paths"])


def test_cli_plan_with_capacity_1e9(tmp_path):
    text = (SCEN / "ieee14.toml").read_text()
    assert "queue_capacity = 50" in text
    f = tmp_path / "huge_k.toml"
    f.write_text(text.replace("queue_capacity = 50", "queue_capacity = 1000000000", 1))
    r = subprocess.run([sys.executable, "-m", "cppsns3", "plan", str(f), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["queue_capacity"] == 10**9 and obj["algorithms"]
