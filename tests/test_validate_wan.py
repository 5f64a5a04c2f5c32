"""Validation where queueing matters (issue 17 item 1): the WAN-rate scenarios.

At 100 Mbit/s a 5000 B packet takes 0.4 ms to send, the order of the links'
propagation delays, so the queueing part of a flow's delay (waiting and
transmission at its sending ports) is what these tests assert on, not a
propagation-dominated total.  Runs are short (0.5 s simulated, 3 replications);
the sweep over load with 10 s runs is scripts/validate_delay_models.py
(docs/science.md, "Delay model where queueing matters").
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cppsns3.model.scenario import load_scenario
from cppsns3.sim.run import RunOptions, run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
LOAD = 0.6
REPS = 3


@pytest.fixture(scope="module")
def wan14(tmp_path_factory):
    out = tmp_path_factory.mktemp("wan14")
    run_scenario(SCENARIOS / "ieee14_wan.toml", out, RunOptions(
        mode="validate", algorithm="qtdr", seed=5, replications=REPS, load=LOAD, duration_s=0.5))
    return pd.read_csv(out / "flows.csv"), pd.read_csv(out / "links.csv")


def test_wan_scenarios_use_rates_by_voltage_class():
    sc14 = load_scenario(SCENARIOS / "ieee14_wan.toml")
    sc39 = load_scenario(SCENARIOS / "ieee39_wan.toml")
    # One rule in both files: 100 Mbit/s at >= 100 kV, 1 Gbit/s below.
    assert sc14.bandwidth == sc39.bandwidth
    assert sorted(set(np.asarray(sc14.network.bandwidth_mbps))) == [100.0, 1000.0]
    assert set(np.asarray(sc39.network.bandwidth_mbps)) == {100.0}   # case39 is all 345 kV


def test_flow_delay_split_into_propagation_and_queueing(wan14):
    flows, links = wan14
    delay = {(a, b): d for a, b, d in zip(links.a_bus, links.b_bus, links.delay_s)}
    delay.update({(b, a): d for (a, b), d in list(delay.items())})
    for r in flows.itertuples():
        buses = [int(b) for b in r.buses.split()]
        prop = sum(delay[(u, v)] for u, v in zip(buses[:-1], buses[1:]))
        assert r.propagation_delay_s == pytest.approx(prop, rel=1e-6)
    assert np.allclose(flows.analytic_queueing_delay_s, flows.analytic_delay_s - flows.propagation_delay_s)
    assert np.allclose(flows.measured_queueing_delay_s, flows.measured_delay_s - flows.propagation_delay_s)


def test_queueing_dominates_the_delay(wan14):
    flows, _ = wan14
    share = flows.measured_queueing_delay_s / flows.measured_delay_s
    # The point of the scenario: a wrong queueing model must show in the total.
    assert share.median() > 0.7
    assert (flows.measured_queueing_delay_s > 0).all()


def test_source_port_queueing_inside_bonferroni_ci(wan14):
    """Single-hop flows cross one M/M/1/K port fed by Poisson sources only: Eq. 1 is exact there."""
    flows, _ = wan14
    singles = flows[flows.hops == 1]
    assert len(singles) >= 4
    scale = stats.t.ppf(1 - 0.05 / (2 * len(singles)), REPS - 1) / stats.t.ppf(0.975, REPS - 1)
    err = (singles.measured_queueing_delay_s - singles.analytic_queueing_delay_s).abs()
    assert (err <= scale * singles.measured_delay_ci95_s).all(), singles[["src_bus", "dst_bus"]]
