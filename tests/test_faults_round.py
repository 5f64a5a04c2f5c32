"""Faults and attacks inside the network, in round mode (issue 18 item 2).

Every run is a real ns-3 round of ieee14 (QT-DR, seeded) with one fault kind;
each test asserts on what that kind must change and on the accounting that
must hold whatever the fault: the tampered or replayed bytes are never listed
in the generator block nor appended anywhere, every refusal has a reason per
node, and every packet FlowMonitor saw sent was received or dropped with a
reason (and the drops match the queues' and relays' own counts).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import cppsns3
from cppsns3.sim.runner import run_in_child

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DATA_SCALE = 0.02
SEED = 1
#: Block verdicts a receiver gives to bytes changed on the way (never "unknown bytes":
#: the receiver verifies what it received).
CHANGED_BYTES_REASONS = {"format error", "merkle mismatch", "bad signature", "unknown signer"}


def _round(sc):
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="round", data_scale=DATA_SCALE, seed=SEED)
    prep = sim.prepared.round_inputs.prep
    res = sim.run()
    raw = res.raw[0]
    return {
        "summary": res.summary,
        "listed": set(raw["listed_blocks"]),
        "genuine": {hashlib.sha256(p).digest() for p in prep.payloads.values()},
        "replayed": {hashlib.sha256(p).digest() for p in prep.replays.values()},
        "payload_digest": {sc.network.nodes[v]: hashlib.sha256(p).digest() for v, p in prep.payloads.items()},
    }


def _run(faults):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(faults=faults)
    return run_in_child(_round, sc, label=f"faults {faults!r}")


@pytest.fixture(scope="module")
def baseline():
    return _run([])


def _check_accounting(r):
    """What holds for every fault kind."""
    s = r["summary"]
    nodes = s["nodes"]
    assert sorted(nodes, key=int) == [str(b) for b in sorted(int(b) for b in nodes)] and len(nodes) == s["nodes_total"]
    for bus, rec in nodes.items():
        assert set(rec) >= {"accepted", "rejected", "resent", "late", "cut_off"}, bus
        assert rec["rejected"] == sum(rec["reject_reasons"].values()), bus
    assert sum(rec["rejected"] for rec in nodes.values()) == s["blocks_rejected"]
    totals = {}
    for rec in nodes.values():
        for k, c in rec["reject_reasons"].items():
            totals[k] = totals.get(k, 0) + c
    assert totals == s["reject_reasons"]
    assert s["nodes_appended"] == sum(rec["appended"] for rec in nodes.values())
    # Nothing but the terminals' genuine blocks is ever listed (and so appended).
    assert r["listed"] <= r["genuine"]
    assert not r["listed"] & r["replayed"]
    p = s["packets"]
    assert p["sent"] == p["received"] + p["dropped"], p  # no packet vanished
    assert p["in_flight"] == 0
    assert p["dropped_by_reason"].get("queue", 0) == p["queue_drops"]
    assert p["dropped_by_reason"].get("route_error", 0) == p["relay_drops"]


def test_fault_free_round_accounts_every_block_and_packet(baseline):
    _check_accounting(baseline)
    s = baseline["summary"]
    n = s["nodes_total"]
    assert s["nodes_appended"] == n and s["blocks_rejected"] == 0
    # Three demand terminals: each node accepts the other terminals' blocks.
    terminals = {2, 6, 9}
    for bus, rec in s["nodes"].items():
        assert rec["accepted"] == len(terminals - {int(bus)}), bus
        assert (rec["late"], rec["cut_off"], rec["rejected"]) == (0, False, 0), bus
    assert baseline["listed"] == baseline["genuine"]
    assert s["packets"]["dropped"] == 0


def test_relay_tamper_bytes_are_refused_for_their_real_reason_and_never_appended(baseline):
    r = _run([{"kind": "relay_tamper", "bus": 4, "fraction": 0.5}])
    _check_accounting(r)
    s = r["summary"]
    assert s["packets"]["relay_tampered"] > 0
    assert s["blocks_rejected"] > 0
    assert set(s["reject_reasons"]) <= CHANGED_BYTES_REASONS, s["reject_reasons"]
    # The relay itself receives its own copies untouched (it only changes what it forwards).
    assert s["nodes"]["4"]["rejected"] == 0
    # A node that refused a block the generator listed cannot append, and says why.
    for bus, rec in s["nodes"].items():
        if not rec["appended"]:
            assert s["append_errors"][bus], bus
    assert s["nodes_appended"] < s["nodes_total"]


def test_relay_drop_is_recovered_by_tcp_and_counted_as_drops(baseline):
    r = _run([{"kind": "relay_drop", "bus": 4, "fraction": 0.2}])
    _check_accounting(r)
    s = r["summary"]
    assert s["packets"]["relay_drops"] > 0
    assert s["nodes_appended"] == s["nodes_total"] and s["blocks_rejected"] == 0
    assert r["listed"] == r["genuine"]
    # Loss costs retransmission timeouts (t_wait = 10 ms): the round is slower.
    assert s["generation_time_s"] > baseline["summary"]["generation_time_s"] + 0.005


def test_relay_delay_holds_the_forwarded_packets_back(baseline):
    r = _run([{"kind": "relay_delay", "bus": 4, "delay_ms": 5.0}])
    _check_accounting(r)
    s = r["summary"]
    assert s["packets"]["relay_delayed"] > 0 and s["packets"]["dropped"] == 0
    assert s["nodes_appended"] == s["nodes_total"]
    # Blocks through bus 4 take at least 5 ms longer each way of their TCP exchange.
    assert s["generation_time_s"] >= baseline["summary"]["generation_time_s"] + 0.005


def test_replayed_block_is_refused_everywhere_and_the_real_one_still_awaited(baseline):
    r = _run([{"kind": "replay", "bus": 2}])
    _check_accounting(r)
    s = r["summary"]
    assert r["replayed"] and not r["replayed"] & r["genuine"]
    for bus, rec in s["nodes"].items():
        if bus != "2":
            assert rec["reject_reasons"] == {"replay": 1}, bus
    assert s["nodes_appended"] == s["nodes_total"]
    # Bus 2's block of this round is listed: the replay did not stand in for it.
    assert r["payload_digest"][2] in r["listed"]


def test_node_down_and_back_its_block_is_late_and_it_catches_up(baseline):
    r = _run([{"kind": "node_down", "bus": 2, "at_s": 0.001, "until_s": 0.05}])
    _check_accounting(r)
    s = r["summary"]
    assert s["cut_off_buses"] == [] and s["nodes_appended"] == s["nodes_total"]
    assert s["generation_time_s"] >= 0.05  # bus 2 appends only after it is back
    assert r["payload_digest"][2] not in r["listed"]  # it was down when the generator built the block
    late = {bus for bus, rec in s["nodes"].items() if rec["late"]}
    assert late == set(s["nodes"]) - {"2"}  # everyone else got bus 2's block after the round's block
    assert s["packets"]["dropped_by_reason"].get("interface_down", 0) > 0
    assert s["replanned_pairs"] > 0


def test_node_down_for_good_is_cut_off_and_not_waited_for(baseline):
    r = _run([{"kind": "node_down", "bus": 2, "at_s": 0.001}])
    _check_accounting(r)
    s = r["summary"]
    assert s["cut_off_buses"] == [2]
    assert s["nodes"]["2"]["cut_off"] and not s["nodes"]["2"]["appended"]
    assert s["nodes_appended"] == s["nodes_total"] - 1
    assert s["generation_time_s"] is not None


def test_link_flap_is_rerouted_each_time(baseline):
    r = _run([{"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0.0005, "period_s": 0.004, "count": 3}])
    _check_accounting(r)
    s = r["summary"]
    assert s["nodes_appended"] == s["nodes_total"]
    # Down and up three times: each change re-routes the pairs over link 1-2 (and back).
    assert s["replanned_pairs"] >= 6


def test_summary_json_carries_the_per_node_accounting(tmp_path):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(faults=[{"kind": "replay", "bus": 9}])
    cppsns3.run(sc, tmp_path, mode="round", algorithm="qtdr", data_scale=0.01)
    e = json.loads((tmp_path / "summary.json").read_text())["algorithms"]["qtdr"]
    assert e["reject_reasons"] == {"replay": e["nodes_total"] - 1}
    assert e["nodes"]["9"]["rejected"] == 0 and e["nodes"]["1"]["reject_reasons"] == {"replay": 1}
    assert e["packets"]["sent"] == e["packets"]["received"] + e["packets"]["dropped"]
