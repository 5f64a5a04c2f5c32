"""Grid to CPPS network (cppsns3.model.grid)."""

import math

import networkx as nx
import numpy as np
import pandapower.networks as pn
import pytest

from cppsns3.errors import ScenarioError
from cppsns3.model.grid import (
    MAX_LINE_LENGTH_KM, MIN_LINE_LENGTH_KM, TRANSFORMER_LENGTH_KM, BandwidthRule, build_network,
    load_grid, typical_reactance_ohm_per_km,
)


@pytest.fixture(scope="module")
def net39():
    return pn.case39()


def test_one_terminal_per_bus_and_link_per_branch(net39):
    cn = build_network(net39, grid="case39")
    assert cn.n_nodes == 39
    assert set(cn.nodes) == set(range(1, 40))
    pairs = {tuple(sorted((int(a) + 1, int(b) + 1))) for a, b in zip(net39.line.from_bus, net39.line.to_bus)}
    pairs |= {tuple(sorted((int(a) + 1, int(b) + 1))) for a, b in zip(net39.trafo.hv_bus, net39.trafo.lv_bus)}
    assert {tuple(sorted(e)) for e in cn.graph.edges} == pairs
    assert cn.n_links == len(pairs)
    assert np.all(cn.edge_a < cn.edge_b)


def test_length_from_reactance_and_delay(net39):
    cn = build_network(net39, propagation_speed_m_per_s=2e8)
    line = net39.line.iloc[0]
    a, b = int(line.from_bus) + 1, int(line.to_bus) + 1
    d = cn.graph.edges[a, b]
    expect = abs(line.x_ohm_per_km * line.length_km) / typical_reactance_ohm_per_km(345.0)
    expect = min(max(expect, MIN_LINE_LENGTH_KM), MAX_LINE_LENGTH_KM)
    assert d["length_km"] == pytest.approx(expect)
    assert d["delay_s"] == pytest.approx(expect * 1000 / 2e8)
    t = net39.trafo.iloc[0]
    assert cn.graph.edges[int(t.hv_bus) + 1, int(t.lv_bus) + 1]["length_km"] == TRANSFORMER_LENGTH_KM
    assert np.all(cn.length_km >= TRANSFORMER_LENGTH_KM) and np.all(cn.length_km <= MAX_LINE_LENGTH_KM)


def test_bandwidth_rule_by_voltage_class():
    rule = BandwidthRule(1000.0, ((100.0, 40000.0), (300.0, 100000.0)))
    assert rule.mbps_for(345.0) == 100000.0
    assert rule.mbps_for(138.0) == 40000.0
    assert rule.mbps_for(12.0) == 1000.0
    cn = build_network(pn.case57(), bandwidth=rule)
    for a, b, d in cn.graph.edges(data=True):
        assert d["bandwidth_mbps"] == rule.mbps_for(d["vn_kv"])
    with pytest.raises(ScenarioError, match="default_mbps"):
        BandwidthRule(0.0)


def test_merge_transformers_names_site_by_lowest_bus(net39):
    cn = build_network(net39, merge_transformers=True)
    g = nx.Graph()
    g.add_edges_from((int(a) + 1, int(b) + 1) for a, b in zip(net39.trafo.hv_bus, net39.trafo.lv_bus))
    for comp in nx.connected_components(g):
        site = min(comp)
        assert site in cn.graph
        assert set(cn.graph.nodes[site]["buses"]) == comp
        for bus in comp:
            assert cn.site_of(bus) == site
    assert cn.n_nodes == 39 - sum(len(c) - 1 for c in nx.connected_components(g))
    assert nx.is_connected(cn.graph)


def test_out_of_service_line_gives_no_link(net39):
    net = pn.case39()
    net.line.loc[0, "in_service"] = False
    a, b = int(net.line.from_bus[0]) + 1, int(net.line.to_bus[0]) + 1
    assert not build_network(net).graph.has_edge(a, b)
    assert build_network(net39).graph.has_edge(a, b)


def test_unknown_grid_is_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="nosuchcase"):
        load_grid("nosuchcase")
    with pytest.raises(ScenarioError, match="missing.json"):
        load_grid("missing.json", tmp_path)


def test_pegase_names_are_bus_names():
    net = pn.case1354pegase()
    cn = build_network(net)
    names = {int(x) for x in net.bus.name}
    assert set(cn.nodes) == names
    assert math.isclose(cn.n_links, cn.graph.number_of_edges())
