"""The time-stepped co-simulation: chain across steps, line trips, late blocks at the estimator, mosaik."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandapower as pp
import pytest

import cppsns3
from cppsns3.chain import verify_chain_file
from cppsns3.cosim.engine import STEPS_COLUMNS, cosim
from cppsns3.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def _ieee14_all_terminals(**keys):
    """ieee14 with a demand terminal at every bus (tiny blocks): the estimator is observable."""
    return cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").replace(
        terminals=[(b, 0.002) for b in range(1, 15)], **keys)


def _cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "cppsns3", *map(str, args)], capture_output=True, text=True,
                          timeout=900, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cosim") / "a"
    return cosim(_ieee14_all_terminals(), out, steps=4, progress=False)


def test_short_run_chain_verifies_and_a_flipped_byte_is_refused(clean_run, tmp_path):
    res = clean_run
    assert list(res.steps.columns) == STEPS_COLUMNS
    assert (res.steps.nodes_appended == 14).all() and (res.steps.chain_height == [1, 2, 3, 4]).all()
    rep = verify_chain_file(res.chain_path)
    assert rep.valid and rep.height == 4
    r = _cli("verify-chain", res.chain_path)
    assert r.returncode == 0 and r.stdout.strip() == "4"
    raw = bytearray(res.chain_path.read_bytes())
    raw[len(raw) * 5 // 8] ^= 0x40  # inside a later round
    bad = tmp_path / "bad.cpchain"
    bad.write_bytes(bytes(raw))
    rep = verify_chain_file(bad)
    assert not rep.valid and rep.first_bad_height is not None and 1 <= rep.first_bad_height <= 3
    r = _cli("verify-chain", bad, "--json")
    assert r.returncode == 1
    j = json.loads(r.stdout)
    assert j["valid"] is False and j["first_bad_height"] == rep.first_bad_height and j["reason"]
    r = _cli("verify-chain", bad)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:")
    assert str(rep.first_bad_height) in lines[0]


def test_the_grid_moves_and_the_estimator_sees_it(clean_run):
    s = clean_run.steps
    # Every block arrived in time; the estimate is close to the true state.
    assert (s.blocks_late == 0).all() and (s.blocks_in_time_at_generator == 13).all()
    assert np.isfinite(s.se_max_vm_error_pu).all() and (s.se_max_vm_error_pu < 0.02).all()
    assert (s.time_s == [0, 900, 1800, 2700]).all()


def test_each_step_is_estimated_against_its_own_power_flow(clean_run):
    """The engine overlaps step k's estimation with step k+1's power flow (pipeline): the
    estimation must still see step k's solved net, and each data block point at the tip of
    the round before it.  Recomputed here one step after the other, without the engine."""
    from cppsns3.chain.chainfile import read_chain
    from cppsns3.chain.measurements import DEFAULT_START_TIME_S, PowerFlowStepper
    from cppsns3.cosim.estimation import estimate, measurement_table

    sc = _ieee14_all_terminals()
    gen_bus = clean_run.summary["generator_bus"]
    stepper = PowerFlowStepper(sc.net, 4, 900.0, sc.seed, DEFAULT_START_TIME_S)
    expect = []
    for k in range(4):
        stepper.solve(k)
        table = measurement_table(stepper.net, list(range(1, 15)), seed=sc.seed, step=k)
        expect.append(estimate(stepper.net, table, local_bus=gen_bus).max_vm_error_pu)
    got = clean_run.steps.se_max_vm_error_pu.to_numpy(dtype=float)
    assert np.array_equal(got, np.array(expect)), (got, expect)
    assert len(set(got.tolist())) == 4  # the steps differ, so a step mixed up with its neighbour shows
    tip = bytes(32)
    for gblk, data in read_chain(clean_run.chain_path).rounds:
        assert gblk.prev_hash == tip and {d.prev_hash for d in data} == {tip} and len(data) == 14
        tip = gblk.hash()


def test_same_seed_same_steps_and_chain(clean_run, tmp_path):
    again = cosim(_ieee14_all_terminals(), tmp_path / "b", steps=4, progress=False)
    a_dir = clean_run.out_dir
    assert (a_dir / "steps.csv").read_bytes() == (tmp_path / "b" / "steps.csv").read_bytes()
    assert (a_dir / "chain.cpchain").read_bytes() == again.chain_path.read_bytes()


def test_line_trip_acts_on_the_power_flow_and_the_network(tmp_path):
    net = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml").net
    names = net.bus["name"].astype(int)
    line = int(net.line.index[(names[net.line.from_bus].to_numpy() == 2) & (names[net.line.to_bus].to_numpy() == 3)][0])
    sc = _ieee14_all_terminals(faults=[{"kind": "line_trip", "line": line, "at_s": 900.0, "until_s": 2700.0}])
    pl = cppsns3.plan(sc, ["qtdr"])
    uses = [p for p in pl.algorithms["qtdr"].paths
            if any({u, v} == {2, 3} for u, v in zip(p.buses[:-1], p.buses[1:]))]
    assert uses  # the plan routes over the link along that line
    s = cosim(sc, tmp_path, steps=4, progress=False).steps
    assert s.tripped_lines.fillna("").astype(str).tolist() == ["", str(line), str(line), ""]
    # The tripped line carries no power; before the trip it carried tens of MW.
    assert s.tripped_line_max_abs_p_mw[1] == 0 and s.tripped_line_max_abs_p_mw[2] == 0
    net = copy.deepcopy(net)
    pp.runpp(net)
    assert abs(net.res_line.p_from_mw[line]) > 10
    assert s.down_links.fillna("").tolist() == ["", "2-3", "2-3", ""]
    assert (s.routes_on_down_links.fillna(0) == 0).all()
    assert (s.nodes_appended == 14).all() and (s.cut_off_buses.fillna("") == "").all()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["fault_instants_s"] == [900.0, 2700.0]


def test_a_blocked_terminal_is_missing_from_the_estimation(clean_run, tmp_path):
    from cppsns3.cosim.estimation import measurement_table

    # Bus 8 hangs on the single link 7-8: take it down for the whole run.
    sc = _ieee14_all_terminals(faults=[{"kind": "link_down", "a_bus": 7, "b_bus": 8, "at_s": 0.0}])
    s = cosim(sc, tmp_path, steps=2, progress=False).steps
    base = clean_run.steps.iloc[:2]
    assert (s.cut_off_buses.astype(str) == "8").all()
    assert (s.blocks_in_time_at_generator == base.blocks_in_time_at_generator - 1).all()
    # Bus 8's block reaches none of the 13 others, and none of theirs reaches bus 8.
    assert (s.blocks_late == 2 * 13).all()
    net = copy.deepcopy(sc.net)
    pp.runpp(net)
    n8 = len(measurement_table(net, [8], seed=1, step=0))
    assert n8 >= 1
    assert (s.se_measurements == base.se_measurements - n8).all()
    # Nodes still connected append; bus 8 cannot.
    assert (s.nodes_appended == 13).all()


def test_bad_options_are_one_line_errors(tmp_path):
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    with pytest.raises(ScenarioError, match="--steps must be an integer"):
        cosim(sc, tmp_path, steps=0)
    with pytest.raises(ScenarioError, match="--tolerance-s must be in"):
        cosim(sc, tmp_path, steps=1, tolerance_s=-1.0)
    r = _cli("cosim", SCENARIOS / "ieee14.toml", "--out", tmp_path / "x", "--step-s", "0")
    assert r.returncode == 2 and r.stderr.strip().startswith("error: --step-s")
    assert not (tmp_path / "x" / "steps.csv").exists()


def test_cli_and_report_draw_the_day(tmp_path):
    r = _cli("cosim", SCENARIOS / "ieee14.toml", "--out", tmp_path, "--steps", "2", "--data-scale", "0.002", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    j = json.loads(r.stdout)
    assert j["chain"]["height"] == 2 and j["steps"] == 2
    assert "step 2/2" in r.stderr  # progress per step
    r = _cli("report", tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    png = Path(r.stdout.strip().splitlines()[-1])
    assert png.name == "cosim_day.png" and png.read_bytes()[:4] == b"\x89PNG"


def test_mosaik_world_runs_four_steps(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, str(SCENARIOS / "mosaik_world.py"), "--out", str(tmp_path), "--steps", "4"],
                       capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    d = pd.read_csv(tmp_path / "deliveries.csv")
    assert len(d) == 4 * 3 and sorted(d.time_s.unique()) == [0, 900, 1800, 2700]
    assert d.arrived.all() and (d.nodes_reached == 13).all()
    assert (d.delivery_time_s > 0).all()  # the generator (bus 5) is none of the terminals


def test_network_faults_act_step_by_step_and_are_accounted_per_node(tmp_path):
    # Bus 8 (one link, 7-8) is down for step 1 only; bus 9 replays an older block every
    # step; the relay at bus 4 drops a tenth of the segments it forwards.
    sc = _ieee14_all_terminals(faults=[{"kind": "node_down", "bus": 8, "at_s": 900.0, "until_s": 1800.0},
                                       {"kind": "replay", "bus": 9},
                                       {"kind": "relay_drop", "bus": 4, "fraction": 0.1}])
    res = cosim(sc, tmp_path, steps=3, progress=False)
    s = res.steps
    assert s.cut_off_buses.fillna("").astype(str).tolist() == ["", "8", ""]
    assert s.nodes_appended.tolist() == [14, 13, 14]
    summary = json.loads((tmp_path / "summary.json").read_text())
    nodes = summary["nodes"]
    assert nodes["8"]["cut_off"] == 1 and nodes["8"]["appended"] == 2
    assert all(nodes[b]["cut_off"] == 0 and nodes[b]["appended"] == 3 for b in nodes if b != "8")
    # Every node refuses bus 9's replay in every step it is reachable; bus 9 refuses none.
    assert nodes["9"]["rejected"] == 0
    assert nodes["8"]["reject_reasons"] == {"replay": 2}
    assert all(nodes[b]["reject_reasons"] == {"replay": 3} for b in nodes if b not in ("8", "9"))
    assert summary["reject_reasons"] == {"replay": 2 + 12 * 3}
    p = summary["packets"]
    assert p["sent"] == p["received"] + p["dropped"] and p["in_flight"] == 0
    assert p["relay_drops"] > 0 and p["dropped_by_reason"]["route_error"] == p["relay_drops"]
    # The chain holds bus 9's real blocks only: it verifies, and every step has its data.
    assert verify_chain_file(tmp_path / "chain.cpchain").height == 3
