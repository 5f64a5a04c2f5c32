"""The public Python API: Scenario.from_net/load/replace, plan, Simulation, run, RunResult.

Simulations build ns-3 in the calling process; each test runs them in a
forked child (:func:`cppsns3.sim.runner.run_in_child`) so the suite's own
process never holds a half-used simulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

import cppsns3
from cppsns3.errors import ScenarioError, SimulationError
from cppsns3.model.scenario import scenario_from_dict
from cppsns3.sim.result import clean_json
from cppsns3.sim.runner import run_in_child

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def _case9_plus_line():
    net = pn.case9()
    # A new right of way 4-8 (bus names 5 and 9): not in the original case.
    pp.create_line_from_parameters(net, 4, 8, length_km=1.0, r_ohm_per_km=5.0, x_ohm_per_km=40.0,
                                   c_nf_per_km=10.0, max_i_ka=1.0)
    return net


# -- Scenario ----------------------------------------------------------------

def test_from_net_uses_the_given_net_object():
    net = _case9_plus_line()
    sc = cppsns3.Scenario.from_net(net, terminals=[(5, 2.0), (7, 1.0)], queue_capacity=20, seed=3)
    assert sc.net is net
    assert sc.network.graph.has_edge(5, 9)  # the line added in the script is a link
    assert not cppsns3.Scenario.from_net(pn.case9(), terminals=[(5, 2.0)]).network.graph.has_edge(5, 9)
    assert (sc.queue_capacity, sc.seed, [t.bus for t in sc.terminals]) == (20, 3, [5, 7])
    pl = cppsns3.plan(sc, algorithms=["qtdr"])
    d = pl.to_dict()
    assert list(d["algorithms"]) == ["qtdr"]
    assert {p["dst_bus"] for p in d["algorithms"]["qtdr"]["paths"] if p["src_bus"] == 5} == set(range(1, 10)) - {5}


def test_from_net_validates_like_the_toml_loader(tmp_path):
    net = pn.case9()
    with pytest.raises(ScenarioError, match=r"terminals\[0\]\.bus: unknown bus 42"):
        cppsns3.Scenario.from_net(net, terminals=[(42, 1.0)])
    with pytest.raises(ScenarioError, match="queue_capacity: must be > 0, got -1"):
        cppsns3.Scenario.from_net(net, terminals=[(5, 1.0)], queue_capacity=-1)
    with pytest.raises(ScenarioError, match="colour: unknown key"):
        cppsns3.Scenario.from_net(net, terminals=[(5, 1.0)], colour="red")
    with pytest.raises(ScenarioError, match="net: must be a pandapower net"):
        cppsns3.Scenario.from_net("case9", terminals=[(5, 1.0)])
    with pytest.raises(ScenarioError, match=r"terminals\[0\]: must be a \(bus, data_mb\) pair"):
        cppsns3.Scenario.from_net(net, terminals=[5])


def test_replace_is_validated_and_keeps_the_net():
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    sc2 = sc.replace(queue_capacity=10, bandwidth={"default_mbps": 100.0})
    assert sc2.queue_capacity == 10 and sc.queue_capacity == 50
    assert sc2.net is sc.net
    assert set(sc2.network.bandwidth_mbps) == {100.0}
    assert sc2.hop_bound == sc.hop_bound  # given in the file, kept
    with pytest.raises(ScenarioError, match="t_wait_s: must be >= 0, got -1"):
        sc.replace(t_wait_s=-1)
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.b_bus: no link between bus 1 and bus 14"):
        sc.replace(faults=[{"kind": "link_down", "a_bus": 1, "b_bus": 14, "at_s": 0.1}])


def test_seed_rule_is_checked_at_load(tmp_path):
    doc = {"grid": "case14", "terminals": [{"bus": 2, "data_mb": 1.0}]}
    for bad in (0, -3, 2**31, True, 1.5):
        with pytest.raises(ScenarioError, match=r"seed: must be an integer in \[1, 2147483647\]"):
            scenario_from_dict({**doc, "seed": bad})
    assert scenario_from_dict({**doc, "seed": 2**31 - 1}).seed == 2**31 - 1
    p = tmp_path / "s.toml"
    p.write_text((SCENARIOS / "ieee14.toml").read_text().replace("seed = 1", "seed = 0"))
    r = subprocess.run([sys.executable, "-m", "cppsns3", "plan", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: seed: must be an integer")


def test_huge_queue_capacity_plans_and_beyond_ns3_is_refused_at_load():
    doc = {"grid": "case14", "terminals": [{"bus": 2, "data_mb": 1.0}]}
    sc = scenario_from_dict({**doc, "queue_capacity": 1_000_000_000})
    assert cppsns3.plan(sc, ["qtdr"]).algorithms["qtdr"].load_balance > 0  # O(1) in K, no 37 GiB array
    with pytest.raises(ScenarioError, match=r"queue_capacity: must be <= 4294967296 \(ns-3 queue sizes"):
        scenario_from_dict({**doc, "queue_capacity": 2**32 + 1})


def test_relative_json_grid_runs_in_round_mode_from_another_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pp.to_json(_case9_plus_line(), str(tmp_path / "a" / "grid.json"))
    (tmp_path / "a" / "sc.toml").write_text(
        'grid = "grid.json"\nseed = 2\n[[terminals]]\nbus = 5\ndata_mb = 1.0\n[[terminals]]\nbus = 7\ndata_mb = 1.0\n')
    r = subprocess.run([sys.executable, "-m", "cppsns3", "run", "../a/sc.toml", "--out", "out", "--algorithm", "qtdr",
                        "--data-scale", "0.002", "--json"], cwd=tmp_path / "b", capture_output=True, text=True,
                       timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads(r.stdout)
    assert s["algorithms"]["qtdr"]["nodes_appended"] == 9
    # The run directory carries the net it used.
    assert len(pp.from_json(str(tmp_path / "b" / "out" / "grid.json")).line) == len(pn.case9().line) + 1


# -- Simulation ----------------------------------------------------------------

def _sim_validate(sc, algorithm, plan, duration_s):
    sim = cppsns3.Simulation(sc, algorithm=algorithm, mode="validate", duration_s=duration_s, plan=plan)
    res = sim.run()
    return clean_json(res.summary_json()), res.flows, res.ports, res.links


def test_simulation_gives_what_cppsns3_run_gives(tmp_path):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    pl = cppsns3.plan(sc, ["qos-r"])
    summary, flows, ports, links = run_in_child(_sim_validate, sc, "qos-r", pl, 0.01, label="sim")
    ref = cppsns3.run(sc, tmp_path, mode="validate", algorithm="qos-r", replications=1, duration_s=0.01, plan=pl)
    assert summary == ref
    pd.testing.assert_frame_equal(flows.reset_index(drop=True), pd.read_csv(tmp_path / "flows.csv"),
                                  check_dtype=False, rtol=1e-8)
    assert len(ports) == 2 * len(links) == 2 * sc.network.n_links
    assert int(flows.sent_packets.sum()) > 100


def _sim_round_with_link_down(sc):
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="round", data_scale=0.02)
    planned = dict(sim.prepared.routes)
    res = sim.run()
    return planned, res.routes, res.summary


def test_after_link_down_no_installed_route_uses_the_failed_link():
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(
        faults=[{"kind": "link_down", "a_bus": 1, "b_bus": 2, "at_s": 0.0005}])
    net = sc.network
    a, b = net.index[1], net.index[2]
    planned, installed, summary = run_in_child(_sim_round_with_link_down, sc, label="link_down")

    def uses(path):
        return any({u, v} == {a, b} for u, v in zip(path[:-1], path[1:]))

    before = [k for k, p in planned.items() if uses(p)]
    assert len(before) >= 5  # the fault hits planned routes
    assert not [k for k, p in installed.items() if uses(p)]
    assert all(k in installed for k in before)  # re-routed, none dropped (the grid stays connected)
    assert summary["replanned_pairs"] == len(before)
    assert summary["nodes_appended"] == summary["nodes_total"] == 14


def _sim_round_with_prep(sc, prep):
    res = cppsns3.Simulation(sc, algorithm="qtdr", mode="round", data_scale=0.002, prep=prep).run()
    return res.summary


def test_datacheck_flags_exactly_the_biased_validly_signed_block():
    from cppsns3.sim.round import prepare_round

    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(datacheck={"enabled": True, "tolerance": 0.05})
    n = sc.network.n_nodes

    def biased(frame):
        return frame * 1.3  # a compromised sensor at bus 9 reports every value 30 % high

    prep = prepare_round(sc, sc.network, seed=1, data_scale=0.002, reported={9: biased})
    node9 = sc.network.index[9]
    digest9 = __import__("hashlib").sha256(prep.payloads[node9]).digest()
    assert prep.verdicts[digest9] == (True, "")  # the signature is valid: only the data check can tell
    flagged_blocks = {d for d, k in prep.flagged_records.items() if k > 0}
    assert flagged_blocks == {digest9}
    s = run_in_child(_sim_round_with_prep, sc, prep, label="datacheck")
    # Every node but the sender accepts it and flags it; no other block is flagged.
    assert s["blocks_flagged"] == n - 1
    assert s["blocks_rejected"] == 0
    assert s["nodes_appended"] == n


def _sim_pcap_and_errors(sc, prefix):
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate", duration_s=0.01)
    errors = []
    try:
        sim.node(5)
    except SimulationError as exc:
        errors.append(str(exc))
    sim.build()
    for call in (lambda: sim.node(99), lambda: sim.port(1, 14), lambda: sim.add_route([1, 14])):
        try:
            call()
        except ScenarioError as exc:
            errors.append(str(exc))
    other = cppsns3.Simulation(sc, algorithm="qos-r", mode="validate", duration_s=0.01)
    try:
        other.build()
    except SimulationError as exc:
        errors.append(str(exc))
    files = sim.enable_pcap(prefix, ports=[(2, 3)])
    node_id = int(sim.node(2).GetId())
    res = sim.run()
    port = res.ports[(res.ports.bus == 2) & (res.ports.peer_bus == 3)].iloc[0]
    return errors, files, node_id, int(port.offered_packets), int(port.dropped_packets)


def test_pcap_on_one_port_is_read_back_and_errors_name_the_bus(tmp_path):
    from cppsns3.traces import read_pcap

    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    errors, files, node_id, offered, dropped = run_in_child(
        _sim_pcap_and_errors, sc, str(tmp_path / "cap"), label="pcap")
    assert errors[0].startswith("the network is not built yet")
    assert errors[1] == "bus: unknown bus 99 in grid 'case14'"
    assert errors[2] == "peer_bus: no link between bus 1 and bus 14"
    assert errors[3] == "buses[1]: no link between bus 1 and bus 14"
    assert errors[4].startswith("another Simulation is built in this process")
    assert len(files) == 1 and files[0].name.startswith(f"cap-{node_id}-")
    df = read_pcap(files[0])
    # Every packet the port sent is in the trace (warm-up included), none it refused.
    assert len(df) >= offered - dropped > 0
    assert np.all(np.diff(df.time_s.to_numpy()) >= 0)
