"""A network-scenario sweep (issue 8): the ieee14 validation run as a sweep adapter."""

from pathlib import Path

import pandas as pd
import pytest

from cppsns3.errors import ScenarioError
from cppsns3.sweep import run_sweep, sweep_from_dict

IEEE14 = str(Path(__file__).resolve().parents[1] / "scenarios" / "ieee14.toml")
SPEC = {"scenario": IEEE14, "replications": 2, "seed": 3,
        "fixed": {"duration_s": 0.003, "queue_capacity": 10}, "vary": {"rho": [0.9]}}


def test_bad_network_parameters_name_the_field():
    for vary, field in (({"rho": [2.0]}, "rho"), ({"algorithm": ["dijkstra"]}, "algorithm"),
                        ({"path_src_bus": [99]}, "path_src_bus"), ({"duration_s": [0]}, "duration_s")):
        with pytest.raises(ScenarioError) as exc:
            sweep_from_dict({"scenario": IEEE14, "vary": vary})
        assert str(exc.value).startswith(f"{field}:"), str(exc.value)


def test_ieee14_sweep_rows_and_same_table_on_1_and_2_workers(tmp_path):
    spec = sweep_from_dict(SPEC)
    assert spec.scenario_name == "ieee14.toml" and spec.defaults["algorithm"] == "qtdr"
    two = run_sweep(spec, tmp_path / "w2", workers=2, progress=False)
    assert (two.ok, two.failed) == (2, 0), two.runs[["status", "error"]]
    runs = two.runs
    assert (runs["port_rho"] - 0.9).abs().max() < 1e-9  # the path crosses the busiest port
    assert (runs["path_hops"] >= 2).all()
    assert (runs["measured_delay_s"] > 0).all() and (runs["analytic_delay_s"] > 0).all()
    assert (runs["port_offered_packets"] > 100).all()
    assert runs["seed"].nunique() == 2
    one = run_sweep(spec, tmp_path / "w1", workers=1, progress=False)  # reuses an idle warm server
    stable = [c for c in runs.columns if not c.endswith("_wall_s")]
    pd.testing.assert_frame_equal(one.runs[stable], runs[stable])
    agg = pd.read_csv(tmp_path / "w2" / "aggregate.csv")
    assert agg.loc[0, "replications_ok"] == 2 and "measured_delay_ci95_s" in agg.columns
