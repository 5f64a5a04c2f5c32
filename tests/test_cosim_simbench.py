"""A SimBench grid (``grid = "simbench:CODE"``): bus names as labels, its own profiles, a short cosim (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import cppsns3
from cppsns3.chain import verify_chain_file
from cppsns3.chain.measurements import PowerFlowStepper, power_flow_series
from cppsns3.cosim.engine import cosim
from cppsns3.errors import ScenarioError
from cppsns3.model.grid import load_grid

simbench = pytest.importorskip("simbench")

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "simbench_mv_cosim.toml"
CODE = "1-MV-rural--0-sw"


@pytest.fixture(scope="module")
def scenario():
    return cppsns3.Scenario.load(SCENARIO)


@pytest.fixture(scope="module")
def absolute(scenario):
    return simbench.get_absolute_values(scenario.net, profiles_instead_of_study_cases=True)


def test_scenario_names_buses_by_their_simbench_names_and_plans(scenario):
    assert scenario.grid == f"simbench:{CODE}"
    assert all(isinstance(t.bus, str) and t.bus.startswith("MV1.101 ") for t in scenario.terminals)
    assert scenario.network.n_nodes == len(scenario.net.bus)
    pl = cppsns3.plan(scenario, ["qtdr"])
    assert isinstance(pl.algorithms["qtdr"].generator_bus, str)


def test_unknown_simbench_code_is_one_line_naming_grid_and_value():
    with pytest.raises(ScenarioError) as ei:
        load_grid("simbench:1-MV-nowhere--0-sw")
    msg = str(ei.value)
    assert msg.startswith("grid:") and "1-MV-nowhere--0-sw" in msg and "\n" not in msg


def test_stepper_uses_the_simbench_profile_rows(scenario, absolute):
    p, q = absolute[("load", "p_mw")], absolute[("load", "q_mvar")]
    sg = absolute[("sgen", "p_mw")]
    # Neighbouring rows differ, so an off-by-one mapping cannot pass.
    for r in (1, 5, 8):
        assert not np.allclose(p.iloc[r], p.iloc[r - 1]) and not np.allclose(p.iloc[r], p.iloc[r + 1])
    st = PowerFlowStepper(scenario.net, 6, 900.0, seed=3, noise_std=0.05)
    assert st.profile_source == "simbench" and list(st.profile_rows) == [0, 1, 2, 3, 4, 5]
    for s in (1, 5):
        st.solve(s)
        np.testing.assert_allclose(st.net.load.p_mw.to_numpy(), p.iloc[s].to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(st.net.load.q_mvar.to_numpy(), q.iloc[s].to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(st.net.sgen.p_mw.to_numpy(), sg.iloc[s].to_numpy(), rtol=0, atol=1e-12)
        assert np.isfinite(st.net.res_bus.vm_pu).all()
    # Hourly steps take every fourth 15-min row; the year wraps around.
    hourly = PowerFlowStepper(scenario.net, 3, 3600.0)
    assert list(hourly.profile_rows) == [0, 4, 8]
    hourly.solve(2)
    np.testing.assert_allclose(hourly.net.load.p_mw.to_numpy(), p.iloc[8].to_numpy(), rtol=0, atol=1e-12)
    n = len(p)
    assert PowerFlowStepper(scenario.net, 2, n * 900.0).profile_rows.tolist() == [0, 0]
    # The original net is not changed; other grids keep the synthetic profile.
    assert scenario.net.load.p_mw.equals(load_grid(f"simbench:{CODE}", REPO).load.p_mw)
    assert PowerFlowStepper("case9", 2).profile_source == "synthetic"


def test_power_flow_series_on_the_simbench_grid_has_no_noise(scenario):
    a = power_flow_series(scenario.net, days=1, step_s=21600.0, seed=1, noise_std=0.05)
    b = power_flow_series(scenario.net, days=1, step_s=21600.0, seed=2, noise_std=0.0)
    assert len(a) == 4 and a.equals(b)


def test_three_step_cosim_on_the_simbench_grid(scenario, tmp_path):
    res = cosim(scenario, tmp_path / "run", steps=3, data_scale=0.01, progress=False)
    s = res.steps
    assert (s.chain_height == [1, 2, 3]).all()
    assert (s.nodes_appended == s.nodes_total).all() and (s.nodes_total == len(scenario.net.bus)).all()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["profiles"] == "simbench" and summary["grid"] == f"simbench:{CODE}"
    assert summary["chain"]["height"] == 3
    rep = verify_chain_file(res.chain_path)
    assert rep.valid and rep.height == 3
