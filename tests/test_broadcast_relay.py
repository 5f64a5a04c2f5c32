"""Relay broadcast (issue 17 item 5): nodes pass blocks they verified on to their neighbours.

Real ns-3 rounds of ieee14 (QT-DR, seeded) in both broadcast modes; the
tests check what relaying must change (every transfer is one hop; each block
crosses a link at most once each way; a refused block goes no further) and
what it must not (every node still holds every block and appends).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cppsns3
from cppsns3.errors import ScenarioError
from cppsns3.sim.runner import run_in_child

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TERMINALS = {2, 6, 9}


def _round(sc, data_scale=0.05):
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="round", data_scale=data_scale, seed=1)
    prep = sim.prepared.round_inputs.prep
    res = sim.run()
    return res.summary, sum(len(p) for p in prep.payloads.values()), dict(res.routes), res.raw[0]["duplicate_deliveries"]


def _run(broadcast, faults=()):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(broadcast=broadcast, faults=list(faults))
    return run_in_child(_round, sc, label=f"broadcast {broadcast}")


@pytest.fixture(scope="module")
def both():
    return _run("unicast"), _run("relay")


def test_relay_round_every_node_gets_every_block_one_hop_at_a_time(both):
    (uni, block_bytes, uni_routes, _), (rel, _, rel_routes, dups) = both
    n = rel["nodes_total"]
    assert rel["nodes_appended"] == n and rel["generation_time_s"] > 0
    for bus, rec in rel["nodes"].items():
        assert rec["accepted"] == len(TERMINALS - {int(bus)}), bus
    assert all(len(p) == 2 for p in rel_routes.values())  # node to neighbour only
    assert any(len(p) > 2 for p in uni_routes.values())
    net = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").network
    assert len(rel_routes) == 2 * net.n_links
    # Each block crosses each link at most once each way (TCP/IP headers and
    # the generator block on top); unicast repeats it on every shared link.
    assert rel["packets"]["bytes_on_wire"] <= 2 * net.n_links * block_bytes * 1.05
    assert rel["packets"]["bytes_on_wire"] < uni["packets"]["bytes_on_wire"]
    assert dups > 0  # copies meeting from two sides are ignored, not appended twice
    p = rel["packets"]
    assert p["sent"] == p["received"] + p["dropped"]


def test_a_refused_block_is_not_relayed():
    s, _, _, _ = _run("relay", [{"kind": "replay", "bus": 2}])
    net = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").network
    neighbours = {str(b) for b in net.graph.neighbors(2)}
    refused = {bus for bus, rec in s["nodes"].items() if rec["reject_reasons"].get("replay")}
    assert refused == neighbours  # the replay stops at the first node that checks it
    assert s["nodes_appended"] == s["nodes_total"]


def test_relay_node_back_after_down_catches_up():
    s, _, _, _ = _run("relay", [{"kind": "node_down", "bus": 2, "at_s": 0.001, "until_s": 0.03}])
    assert s["nodes_appended"] == s["nodes_total"] and s["generation_time_s"] >= 0.03
    assert s["replanned_pairs"] > 0


def test_broadcast_key_and_option_are_checked(tmp_path):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    with pytest.raises(ScenarioError, match="broadcast: must be 'unicast' or 'relay', got 'flood'"):
        sc.replace(broadcast="flood")
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.kind: relay_drop acts on packets a relay forwards"):
        sc.replace(broadcast="relay", faults=[{"kind": "relay_drop", "bus": 4, "fraction": 0.1}])
    with pytest.raises(ScenarioError, match="broadcast: must be"):
        cppsns3.run(sc, tmp_path / "x", broadcast="gossip")
    assert not (tmp_path / "x").exists()
