"""The relaxation's lower bound of Load_B and its pricing step (issue 17)."""

import itertools

import numpy as np
import pytest

from cppsns3.model.routing import plan
from cppsns3.model.routing.paths import min_cost_walks
from cppsns3.model.routing.relax import solve_relaxation
from cppsns3.model.scenario import load_scenario

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _brute(n, tail, head, c, src, H):
    best = np.full(n, np.inf)
    best[src] = 0.0

    def rec(last, node, cost, h):
        if h and node != src:
            best[node] = min(best[node], cost)
        if h == H:
            return
        for e in range(len(tail)):
            if tail[e] != node or head[e] == src:
                continue
            if last >= 0 and tail[e] == head[last] and head[e] == tail[last]:
                continue
            rec(e, head[e], cost + c[e], h + 1)

    rec(-1, src, 0.0, 0)
    return best


def test_min_cost_walks_matches_enumeration_with_negative_costs():
    rng = np.random.default_rng(3)
    for _ in range(60):
        n = 6
        links = rng.permutation(list(itertools.combinations(range(n), 2)))[:8]
        tail = np.array([x for a, b in links for x in (a, b)])
        head = np.array([x for a, b in links for x in (b, a)])
        c = rng.normal(size=tail.size)
        lab, walks = min_cost_walks(n, tail, head, c, 0, 4)
        assert np.allclose(lab, _brute(n, tail, head, c, 0, 4))
        for v in range(1, n):
            if walks[v]:
                assert tail[walks[v][0]] == 0 and head[walks[v][-1]] == v
                assert sum(c[walks[v]]) == pytest.approx(lab[v])


@pytest.mark.parametrize("name", ["ieee14", "ieee30", "ieee39"])
def test_bound_is_below_every_algorithm(name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    pl = plan(sc, "all")
    r = solve_relaxation(sc.network, sc)
    assert r.lower_bound_mbps <= r.value_mbps + 1e-6
    for a, ap in pl.algorithms.items():
        assert r.lower_bound_mbps <= ap.load_balance + 1e-6, a
    # the fractional optimum is a real point: weights sum to 1 per flow
    for cols in r.columns:
        assert sum(w for _, w in cols) == pytest.approx(1.0)
