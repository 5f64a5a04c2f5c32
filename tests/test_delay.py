"""Eq. 1-2 and generator selection against independent computations."""

import numpy as np
import pytest

from cppsns3.model.delay import path_delay_s, port_figures, select_generator, service_rate_per_s


def _birth_death(lam, mu, K):
    """Stationary distribution of the M/M/1/K chain by solving pi Q = 0 (numpy linalg)."""
    Q = np.zeros((K + 1, K + 1))
    for n in range(K):
        Q[n, n + 1] = lam
        Q[n + 1, n] = mu
    Q -= np.diag(Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(K + 1)])
    b = np.r_[np.zeros(K + 1), 1.0]
    return np.linalg.lstsq(A, b, rcond=None)[0]


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.999, 1.0, 1.3])
@pytest.mark.parametrize("K", [1, 5, 50])
def test_port_figures_match_ctmc(rho, K):
    bw = 1000.0
    mean_pkt = 1500.0
    load = rho * bw
    r, loss, w = port_figures([load], [bw], mean_pkt, K)
    mu = bw * 1e6 / (8 * mean_pkt)
    lam = rho * mu
    pi = _birth_death(lam, mu, K)
    L = float(np.dot(np.arange(K + 1), pi))
    assert r[0] == pytest.approx(rho)
    assert loss[0] == pytest.approx(pi[-1], rel=1e-6, abs=1e-14)
    assert w[0] == pytest.approx(L / (lam * (1 - pi[-1])), rel=1e-6)


def test_zero_load_is_one_service_time():
    _, loss, w = port_figures([0.0], [8.0], 1000.0, 10)
    assert loss[0] == 0.0
    assert w[0] == pytest.approx(1.0 / service_rate_per_s(8.0, 1000.0))


def test_path_delay_both_variants():
    prop = np.array([1e-3, 2e-3, 3e-3])
    cost = np.array([10e-6, 11e-6, 20e-6, 21e-6, 30e-6, 31e-6])  # per directed port
    ports = [0, 3, 4]  # link 0 forward, link 1 backward, link 2 forward
    full = path_delay_s(ports, prop, cost)
    relay = path_delay_s(ports, prop, cost, relay_only=True)
    assert full == pytest.approx(6e-3 + 10e-6 + 21e-6 + 30e-6)
    assert relay == pytest.approx(6e-3 + 21e-6 + 30e-6)
    assert path_delay_s([], prop, cost) == 0.0


def test_select_generator_min_max():
    T = np.array([[0.0, 5.0, 2.0, 9.0], [4.0, 0.0, 3.0, 1.0]])
    # worst per node: 4, 5, 3, 9 -> node "c"
    assert select_generator(T, ["a", "b", "c", "d"]) == ("c", 3.0)
