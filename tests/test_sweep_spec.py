"""Sweep files, seeds, keys and tables (issue 8): pure Python, no ns-3."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from cppsns3.cli import main
from cppsns3.errors import ScenarioError
from cppsns3.sweep import aggregate_frame, ci_name, derive_seed, plan_runs, run_key, sweep_from_dict
from cppsns3.sweep.spec import load_sweep
from cppsns3.sweep.table import Journal

BASE = {"scenario": "single-link", "replications": 3, "seed": 7, "fixed": {"packets": 2000},
        "vary": {"rho": [0.5, 0.9], "queue_capacity": [5, 10]}}


def test_plan_order_and_counts():
    spec = sweep_from_dict(BASE)
    tasks = plan_runs(spec)
    assert spec.n_runs == len(tasks) == 12
    assert [t.index for t in tasks] == list(range(12))
    assert [(t.params["rho"], t.params["queue_capacity"], t.replication) for t in tasks[:4]] == [
        (0.5, 5, 0), (0.5, 5, 1), (0.5, 5, 2), (0.5, 10, 0)]
    assert all(t.params["packets"] == 2000 for t in tasks)
    assert len({t.seed for t in tasks}) == 12
    assert len({t.key for t in tasks}) == 12
    assert all(1 <= t.seed < 2**31 for t in tasks)


def test_seeds_are_deterministic_and_depend_on_parameters():
    a = plan_runs(sweep_from_dict(BASE))
    b = plan_runs(sweep_from_dict(json.loads(json.dumps(BASE))))
    assert [(t.seed, t.key) for t in a] == [(t.seed, t.key) for t in b]
    # A point's seeds do not depend on the other points of the sweep.
    only = dict(BASE, vary={"rho": [0.9], "queue_capacity": [10]})
    c = plan_runs(sweep_from_dict(only))
    assert [t.seed for t in c] == [t.seed for t in a if t.params["rho"] == 0.9 and t.params["queue_capacity"] == 10]
    # ... but they depend on the base seed, the fixed parameters and the replication.
    assert [t.seed for t in plan_runs(sweep_from_dict(dict(BASE, seed=8)))] != [t.seed for t in a]
    assert [t.seed for t in plan_runs(sweep_from_dict(dict(BASE, fixed={"packets": 3000})))] != [t.seed for t in a]
    p = dict(a[0].params)
    assert derive_seed(7, "single-link", p, 0) == a[0].seed
    assert derive_seed(7, "single-link", p, 1) == a[1].seed
    assert run_key(p, a[0].seed) == a[0].key


def test_ranges():
    spec = sweep_from_dict({"scenario": "single-link",
                            "vary": {"rho": {"start": 0.1, "stop": 0.5, "step": 0.1},
                                     "queue_capacity": {"start": 5, "stop": 15, "num": 3}}})
    assert spec.vary["rho"] == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert spec.vary["queue_capacity"] == (5, 10, 15)
    assert spec.replications == 1 and spec.seed == 1


@pytest.mark.parametrize("data, field", [
    ({"scenario": "single-link", "bogus": 1}, "bogus"),
    ({"replications": 2}, "scenario"),
    ({"scenario": 3}, "scenario"),
    ({"scenario": "single-link", "replications": 0}, "replications"),
    ({"scenario": "single-link", "replications": 1.5}, "replications"),
    ({"scenario": "single-link", "seed": -1}, "seed"),
    ({"scenario": "single-link", "vary": {"rho": []}}, "vary.rho"),
    ({"scenario": "single-link", "vary": {"rho": 0.5}}, "vary.rho"),
    ({"scenario": "single-link", "vary": {"rho": [0.5, 0.5]}}, "vary.rho"),
    ({"scenario": "single-link", "vary": {"rho": [0.5, "high"]}}, "vary.rho"),
    ({"scenario": "single-link", "vary": {"rho": [-0.5]}}, "rho"),
    ({"scenario": "single-link", "vary": {"queue_capacity": [5.5]}}, "vary.queue_capacity"),
    ({"scenario": "single-link", "vary": {"queue_capacity": [0]}}, "queue_capacity"),
    ({"scenario": "single-link", "vary": {"nope": [1]}}, "nope"),
    ({"scenario": "single-link", "fixed": {"packets": 10}}, "packets"),
    ({"scenario": "single-link", "fixed": {"rho": 0.5}, "vary": {"rho": [0.6]}}, "rho"),
    ({"scenario": "single-link", "vary": {"rho": {"start": 0.1, "stop": 0.5}}}, "vary.rho"),
    ({"scenario": "single-link", "vary": {"rho": {"start": 0.5, "stop": 0.1, "step": 0.1}}}, "vary.rho.step"),
    ({"scenario": "missing.toml"}, "scenario"),
])
def test_bad_specs_name_the_field(data, field):
    with pytest.raises(ScenarioError) as exc:
        sweep_from_dict(data)
    assert str(exc.value).startswith(f"{field}:"), str(exc.value)


def test_bad_files_give_one_line_errors(tmp_path, capsys):
    cases = {
        "bad_key.toml": ('scenario = "single-link"\nreplicas = 3\n', "replicas"),
        "bad_value.toml": ('scenario = "single-link"\n[vary]\nqueue_capacity = [5, -1]\n', "queue_capacity"),
        "not_toml.toml": ("scenario = \n", "not valid TOML"),
    }
    for name, (text, needle) in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["sweep", str(tmp_path / name), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err
    assert main(["sweep", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "ok.toml").write_text('scenario = "single-link"\n')
    assert main(["sweep", str(tmp_path / "ok.toml"), "--out", str(tmp_path / "out"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --workers") and err.count("\n") == 1


def test_load_sweep_resolves_scenario_against_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.toml").write_text('scenario = "../nothere.toml"\n')
    with pytest.raises(ScenarioError, match="scenario: no such scenario file"):
        load_sweep(tmp_path / "sub" / "s.toml")


def test_ci_names():
    assert ci_name("measured_loss_probability") == "measured_loss_probability_ci95"
    assert ci_name("measured_mean_time_in_system_s") == "measured_mean_time_in_system_ci95_s"
    assert ci_name("arrival_rate_per_s") == "arrival_rate_ci95_per_s"


def test_journal_skips_a_torn_line(tmp_path):
    j = Journal(tmp_path / "runs.jsonl")
    j.append({"run_key": "a", "status": "ok", "x": 1.0})
    with open(j.path, "ab") as fh:
        fh.write(b'{"run_key": "b", "sta')  # killed mid-write
    j.append({"run_key": "c", "status": "ok", "x": float("nan")})
    rows = j.load()
    assert sorted(rows) == ["a", "c"] and rows["c"]["x"] is None


def test_aggregate_means_and_half_widths():
    runs = pd.DataFrame({
        "run_key": list("abcde"), "run_index": range(5), "replication": [0, 1, 2, 0, 1], "seed": range(5),
        "rho": [0.5, 0.5, 0.5, 0.9, 0.9], "status": ["ok", "ok", "ok", "ok", "failed"],
        "analytic_loss_probability": [0.1, 0.1, 0.1, 0.2, np.nan],
        "measured_loss_probability": [0.1, 0.2, 0.3, 0.25, np.nan],
        "measured_loss_probability_ci95": [0.01, 0.01, 0.01, 0.05, np.nan],
        "run_wall_s": [1.0, 2.0, 3.0, 4.0, 5.0],
    })
    agg = aggregate_frame(runs, ["rho"], ["rho"])
    assert list(agg["rho"]) == [0.5, 0.9]
    assert list(agg["replications_ok"]) == [3, 1] and list(agg["replications_failed"]) == [0, 1]
    assert agg["measured_loss_probability"][0] == pytest.approx(0.2)
    # t(0.975, 2) * s / sqrt(3) with s = 0.1
    assert agg["measured_loss_probability_ci95"][0] == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)
    assert agg["measured_loss_probability_ci95"][1] == pytest.approx(0.05)  # the single run's own
    assert list(agg["ci95_method"]) == ["replications", "within-run"]
    assert "analytic_loss_probability_ci95" not in agg.columns
    assert agg.columns[-1] == "run_wall_s"
