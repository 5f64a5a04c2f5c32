"""Routing: Load_B, constraints, QT-DR and the baselines."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from cppsns3.errors import NoFeasiblePath
from cppsns3.model.queueing import mm1k_loss_probability, mm1k_mean_time
from cppsns3.model.routing import (
    LoadBalanceTracker, hop_bounded_paths, k_shortest_simple_paths_from, load_balance, plan,
)
from cppsns3.model.scenario import load_scenario, scenario_from_dict

SCEN = Path(__file__).resolve().parent.parent / "scenarios"
TABLE2 = ["ieee14", "ieee30", "ieee39", "ieee57", "ieee118"]


@pytest.fixture(scope="module")
def plans():
    out = {}
    for name in TABLE2 + ["ieee39_feasibility"]:
        sc = load_scenario(SCEN / f"{name}.toml")
        # the paper's three; qtdr-ls and the bound: test_routing_qtdr_ls.py
        out[name] = (sc, plan(sc, ["qtdr", "qos-r", "ra-dbmm"], lower_bound=False))
    return out


def test_load_balance_is_population_std():
    x = np.array([3.0, 7.0, 7.0, 19.0])
    assert load_balance(x) == pytest.approx(np.std(x, ddof=0))


def test_tracker_matches_recompute():
    rng = np.random.default_rng(3)
    rb = rng.uniform(900, 1000, 50)
    tr = LoadBalanceTracker(rb)
    for _ in range(200):
        links = rng.choice(50, size=rng.integers(1, 8), replace=False)
        rate = rng.uniform(0, 5)
        pred = tr.value_after(rb[links].sum(), len(links), rate)
        after = rb.copy()
        after[links] -= rate
        assert pred == pytest.approx(np.std(after), rel=1e-9, abs=1e-9)
        tr.commit(rb[links].sum(), len(links), rate)
        rb = after
    assert tr.value == pytest.approx(np.std(rb), rel=1e-9)


def _graph(sc):
    net = sc.network
    g = nx.Graph()
    w = net.delay_s + 1e-6
    for e in range(net.n_links):
        g.add_edge(int(net.edge_a[e]), int(net.edge_b[e]), w=float(w[e]))
    tail = np.r_[net.edge_a, net.edge_b]
    head = np.r_[net.edge_b, net.edge_a]
    return g, tail, head, np.r_[w, w]


def test_hop_bounded_paths_equal_dijkstra_when_unbounded():
    sc = load_scenario(SCEN / "ieee30.toml")
    g, tail, head, w = _graph(sc)
    lab, paths = hop_bounded_paths(g.number_of_nodes(), tail, head, w, 0, 1000)
    ref = nx.single_source_dijkstra_path_length(g, 0, weight="w")
    for v, d in ref.items():
        assert lab[v] == pytest.approx(d)
        assert nx.path_weight(g, paths[v], "w") == pytest.approx(d)


def test_hop_bounded_paths_respect_bound():
    sc = load_scenario(SCEN / "ieee30.toml")
    g, tail, head, w = _graph(sc)
    hops = nx.single_source_shortest_path_length(g, 5)
    lab, paths = hop_bounded_paths(g.number_of_nodes(), tail, head, w, 5, 3)
    for v in g:
        if hops[v] <= 3:
            assert paths[v] is not None and len(paths[v]) - 1 <= 3
            best = min(nx.path_weight(g, p, "w") for p in nx.all_simple_paths(g, 5, v, cutoff=3)) if v != 5 else 0
            assert lab[v] == pytest.approx(best)
        else:
            assert paths[v] is None


@pytest.mark.parametrize("name, src", [("ieee14", 1), ("ieee30", 0), ("ieee39", 7)])
def test_k_shortest_equal_yen_within_hop_bound(name, src):
    sc = load_scenario(SCEN / f"{name}.toml")
    g, tail, head, w = _graph(sc)
    H, K = sc.hop_bound, 5
    got = k_shortest_simple_paths_from(g.number_of_nodes(), tail, head, w, src, H, K)
    for d in g:
        if d == src:
            assert got[d] == []
            continue
        ref = [p for p in nx.all_simple_paths(g, src, d, cutoff=H)]
        ref_w = sorted(nx.path_weight(g, p, "w") for p in ref)[:K]
        assert [nx.path_weight(g, p, "w") for p in got[d]] == pytest.approx(ref_w)
        for p in got[d]:
            assert p[0] == src and p[-1] == d and len(set(p)) == len(p) and nx.is_path(g, p)


def _check_plan(sc, pl):
    net = sc.network
    g = net.graph
    demand = {net.site_of(t.bus): sc.terminal_rate_mbps(t) for t in sc.terminals}
    for name, ap in pl.algorithms.items():
        pairs = {(p.src_bus, p.dst_bus) for p in ap.paths}
        expect = {(s, d) for s in demand for d in net.nodes if d != s}
        assert pairs == expect, name
        flow = {tuple(sorted(e)): 0.0 for e in g.edges}
        port = {}
        for p in ap.paths:
            b = list(p.buses)
            assert b[0] == p.src_bus and b[-1] == p.dst_bus
            assert len(set(b)) == len(b) and nx.is_path(g, b), (name, b)
            assert p.hops == len(b) - 1 <= pl.hop_bound
            assert p.rate_mbps == pytest.approx(demand[p.src_bus])
            for u, v in zip(b, b[1:]):
                flow[tuple(sorted((u, v)))] += p.rate_mbps
                port[(u, v)] = port.get((u, v), 0.0) + p.rate_mbps
        for x in ap.links:
            assert x.a_bus < x.b_bus
            assert x.residual_mbps == pytest.approx(x.bandwidth_mbps - flow[(x.a_bus, x.b_bus)])
            assert x.residual_mbps > 0
            assert x.utilisation == pytest.approx(1 - x.residual_mbps / x.bandwidth_mbps)
        assert ap.load_balance == pytest.approx(np.std([x.residual_mbps for x in ap.links]))
        # Eq. 2 recomputed from the routed loads with the queueing module
        bw = {(x.a_bus, x.b_bus): x.bandwidth_mbps for x in ap.links}
        bw.update({(x.b_bus, x.a_bus): x.bandwidth_mbps for x in ap.links})
        prop = {(x.a_bus, x.b_bus): x.delay_s for x in ap.links}
        prop.update({(x.b_bus, x.a_bus): x.delay_s for x in ap.links})
        mu = lambda key: bw[key] * 1e6 / (8 * sc.mean_packet_bytes)  # noqa: E731
        cost = {}
        for key in bw:
            lam = port.get(key, 0.0) * 1e6 / (8 * sc.mean_packet_bytes)
            cost[key] = (float(mm1k_mean_time(lam, mu(key), sc.queue_capacity))
                         + float(mm1k_loss_probability(lam / mu(key), sc.queue_capacity)) * sc.t_wait_s)
        worst = {}
        for p in ap.paths[:: max(1, len(ap.paths) // 300)]:
            hops = list(zip(p.buses, p.buses[1:]))
            d = sum(prop[h] for h in hops) + sum(cost[h] for h in hops)
            r = sum(prop[h] for h in hops) + sum(cost[h] for h in hops[1:])
            assert p.delay_s == pytest.approx(d, rel=1e-9)
            assert p.delay_relay_only_s == pytest.approx(r, rel=1e-9)
            assert p.delay_s <= pl.delay_bound_ms / 1000
        for p in ap.paths:
            worst[p.dst_bus] = max(worst.get(p.dst_bus, 0.0), p.delay_s)
        for s in demand:
            worst[s] = max(worst.get(s, 0.0), 0.0)
        best = min(worst.values())
        assert worst[ap.generator_bus] == pytest.approx(best)


@pytest.mark.parametrize("name", TABLE2 + ["ieee39_feasibility"])
def test_every_plan_meets_every_constraint(plans, name):
    sc, pl = plans[name]
    _check_plan(sc, pl)


@pytest.mark.parametrize("name", TABLE2)
def test_qtdr_not_above_qos_r_on_table2(plans, name):
    _, pl = plans[name]
    assert pl.algorithms["qtdr"].load_balance <= pl.algorithms["qos-r"].load_balance


@pytest.mark.parametrize("grid, seed", [("case24_ieee_rts", 1), ("case24_ieee_rts", 2),
                                        ("case33bw", 3), ("case89pegase", 4), ("case89pegase", 5)])
def test_qtdr_not_above_qos_r_on_random_terminals(grid, seed):
    import pandapower.networks as pn

    net = getattr(pn, grid)()
    names = sorted(int(x) for x in net.bus.name)
    rng = np.random.default_rng(seed)
    n_t = max(3, round(0.1 * len(names)))
    buses = rng.choice(names, size=n_t, replace=False)
    terms = [{"bus": int(b), "data_mb": float(rng.integers(1, 13))} for b in buses]
    sc = scenario_from_dict({"grid": grid, "terminals": terms, "bandwidth": {"default_mbps": 40000.0}})
    pl = plan(sc, ["qtdr", "qos-r"])
    _check_plan(sc, pl)
    assert pl.algorithms["qtdr"].load_balance <= pl.algorithms["qos-r"].load_balance


def _small(**kw):
    d = {"grid": "case14", "terminals": [{"bus": 2, "data_mb": 12.0}, {"bus": 9, "data_mb": 16.0}],
         "bandwidth": {"default_mbps": 40000.0}}
    d.update(kw)
    return scenario_from_dict(d)


@pytest.mark.parametrize("algo", ["qtdr", "qos-r", "ra-dbmm", "qtdr-ls"])
@pytest.mark.parametrize("kw, constraint", [
    ({"hop_bound": 1}, "hop_bound"),
    ({"bandwidth": {"default_mbps": 100.0}}, "bandwidth"),
    ({"delay_bound_ms": 0.01}, "delay_bound_ms"),
])
def test_infeasible_names_pair_and_constraint(algo, kw, constraint):
    sc = _small(**kw)
    with pytest.raises(NoFeasiblePath) as ei:
        plan(sc, algo)
    e = ei.value
    assert e.constraint == constraint
    assert e.src_bus in (2, 9) and e.dst_bus in sc.network.nodes
    assert f"bus {e.src_bus!r}" in str(e) and constraint in str(e)


def test_qtdr_first_terminal_gets_shortest_delay_tree():
    sc = _small()
    pl = plan(sc, "qtdr")
    net = sc.network
    g = nx.Graph()
    for x in pl.algorithms["qtdr"].links:
        g.add_edge(x.a_bus, x.b_bus, w=x.delay_s + 8 * sc.mean_packet_bytes / (x.bandwidth_mbps * 1e6))
    first = net.site_of(9)  # 16 MB: the largest volume
    ref = nx.single_source_dijkstra_path_length(g, first, weight="w")
    for p in pl.algorithms["qtdr"].paths:
        if p.src_bus == first and ref[p.dst_bus] is not None and p.hops <= sc.hop_bound:
            assert nx.path_weight(g, list(p.buses), "w") == pytest.approx(ref[p.dst_bus])
