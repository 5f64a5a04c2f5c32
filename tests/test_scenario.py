"""Scenario loading and validation."""

from pathlib import Path

import pytest

from cppsns3.errors import ScenarioError
from cppsns3.model.scenario import load_scenario, scenario_from_dict

SCEN = Path(__file__).resolve().parent.parent / "scenarios"


def _base(**kw):
    d = {"grid": "case14", "terminals": [{"bus": 2, "data_mb": 12.0}, {"bus": 9, "data_mb": 16}]}
    d.update(kw)
    return d


def test_defaults_and_rates():
    sc = scenario_from_dict(_base(sampling_period_s=2.0))
    assert sc.queue_capacity == 50 and sc.delay_bound_ms == 50.0 and sc.yen_k == 5
    assert sc.algorithms == ("qtdr", "qos-r", "ra-dbmm")
    assert sc.terminal_rate_mbps(sc.terminals[0]) == pytest.approx(12.0 * 8 / 2.0)
    assert sc.hop_bound >= 3  # auto: eccentricity + 2
    assert sc.network.n_nodes == 14


@pytest.mark.parametrize("mutate, field, value", [
    (lambda d: d.update(colour="red"), "colour", "unknown key"),
    (lambda d: d["terminals"][0].update(bus=99), "terminals[0].bus", "99"),
    (lambda d: d["terminals"][1].update(data_mb=0), "terminals[1].data_mb", "0"),
    (lambda d: d["terminals"][1].update(data_mb=-3.0), "terminals[1].data_mb", "-3.0"),
    (lambda d: d.update(grid="case9999"), "grid", "case9999"),
    (lambda d: d.update(queue_capacity=2.5), "queue_capacity", "2.5"),
    (lambda d: d.update(algorithms=["qtdr", "dijkstra"]), "algorithms", "dijkstra"),
    (lambda d: d.update(bandwidth={"default_mbps": -1}), "bandwidth.default_mbps", "-1"),
    (lambda d: d.update(bandwidth={"speed": 1}), "bandwidth.speed", "unknown key"),
    (lambda d: d.update(datacheck={"enabled": "yes"}), "datacheck.enabled", "yes"),
    (lambda d: d.update(datacheck={"tolerance": 0}), "datacheck.tolerance", "0"),
    (lambda d: d.update(faults=[{"kind": "meteor", "bus": 2}]), "faults[0].kind", "meteor"),
    (lambda d: d.update(faults=[{"kind": "link_down", "at_s": 1.0, "a_bus": 1, "b_bus": 14}]),
     "faults[0].b_bus", "14"),
    (lambda d: d.update(faults=[{"kind": "tampered_block", "bus": 77}]), "faults[0].bus", "77"),
    (lambda d: d.update(terminals=[]), "terminals", "[]"),
    (lambda d: d["terminals"].append({"bus": 2, "data_mb": 1.0}), "terminals[2].bus", "2"),
])
def test_bad_scenarios_name_field_and_value(mutate, field, value):
    d = _base()
    mutate(d)
    with pytest.raises(ScenarioError) as ei:
        scenario_from_dict(d)
    msg = str(ei.value)
    assert msg.startswith(field), msg
    assert value in msg, msg


def test_faults_and_datacheck_loaded():
    sc = scenario_from_dict(_base(
        faults=[{"kind": "link_down", "at_s": 0.5, "a_bus": 1, "b_bus": 2},
                {"kind": "unregistered_key", "bus": 9}],
        datacheck={"enabled": True, "tolerance": 0.1}))
    assert sc.faults[0].kind == "link_down" and (sc.faults[0].a_bus, sc.faults[0].b_bus) == (1, 2)
    assert sc.faults[1].bus == 9 and sc.faults[1].at_s is None
    assert sc.datacheck.enabled and sc.datacheck.tolerance == 0.1


def test_relative_grid_path_resolves_against_file(tmp_path):
    import pandapower as pp
    import pandapower.networks as pn

    (tmp_path / "grids").mkdir()
    pp.to_json(pn.case14(), str(tmp_path / "grids" / "g14.json"))
    (tmp_path / "s.toml").write_text(
        'grid = "grids/g14.json"\n[[terminals]]\nbus = 2\ndata_mb = 1.0\n')
    sc = load_scenario(tmp_path / "s.toml")
    assert sc.network.n_nodes == 14


def test_bad_toml_and_missing_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("grid = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")


@pytest.mark.parametrize("name", ["ieee14", "ieee30", "ieee39", "ieee57", "ieee118", "ieee39_feasibility"])
def test_shipped_scenarios_load(name):
    sc = load_scenario(SCEN / f"{name}.toml")
    assert sc.terminals and all(t.data_mb > 0 for t in sc.terminals)
