"""The Python scenario scripts of scenarios/ run as tests at a small scale (as ns-3 runs its examples)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def _script(name, *args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, str(SCENARIOS / name), *map(str, args)], capture_output=True, text=True,
                       timeout=900, cwd=cwd, env=env)
    assert r.returncode == 0, f"{name} exited {r.returncode}:\n{r.stderr[-3000:]}"
    return r.stdout


def test_every_python_scenario_has_a_test():
    # mosaik_world.py runs in tests/test_cosim.py::test_mosaik_world_runs_four_steps.
    tested = {"ieee39_round.py", "modified_grid_validate.py", "background_pcap.py", "mosaik_world.py"}
    assert {p.name for p in SCENARIOS.glob("*.py")} == tested


def test_ieee39_round_script(tmp_path):
    out = tmp_path / "r"
    stdout = _script("ieee39_round.py", "--out", out, "--data-scale", "0.005", "--algorithm", "qtdr",
                     cwd=tmp_path)
    s = json.loads((out / "summary.json").read_text())
    e = s["algorithms"]["qtdr"]
    assert e["nodes_appended"] == e["nodes_total"] == 39
    assert s["grid"] == "case39" and s["data_scale"] == 0.005
    assert f"{e['generation_time_s']:.6f}" in stdout
    assert (out / "grid.json").stat().st_size > 0


def test_modified_grid_script_uses_the_added_lines(tmp_path):
    out = tmp_path / "m"
    _script("modified_grid_validate.py", "--out", out, "--duration-s", "0.1", cwd=tmp_path)
    links = pd.read_csv(out / "links.csv")
    pairs = {frozenset(p) for p in zip(links.a_bus, links.b_bus)}
    assert frozenset((1, 30)) in pairs  # the right of way added in the script
    length = links[(links.a_bus == 1) & (links.b_bus == 30)].length_km.iloc[0]
    assert length == pytest.approx(120.0)  # 48 ohm at 0.40 ohm/km
    flows = pd.read_csv(out / "flows.csv")
    assert len(flows) == 4 * 29 and (flows.sent_packets > 0).all()
    for png in ("delay_measured_vs_eq2.png", "network_map.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_background_pcap_script(tmp_path):
    out = tmp_path / "bg"
    duration, rate = 0.2, 20.0
    _script("background_pcap.py", "--out", out, "--duration-s", duration, "--rate-mbps", rate, cwd=tmp_path)
    rep = json.loads((out / "background.json").read_text())
    # OnOff at a constant 20 Mbit/s of 1000 B payloads for 0.2 s: 500 packets, all
    # crossing the traced port 5 -> 6 (1000 + 28 + 2 B each on the wire).
    expected = duration * rate * 1e6 / (8 * 1000)
    assert abs(rep["pcap_background_packets"] - expected) <= 2
    assert rep["pcap_background_bytes"] == rep["pcap_background_packets"] * 1030
    # The port carries the plan's load plus the background's 1030/1000 x 20 % of 100 Mbit/s.
    extra = rep["port_measured_rho"] - rep["port_planned_rho"]
    assert 0.15 < extra < 0.30
    assert rep["flows_through_port"] > 0
