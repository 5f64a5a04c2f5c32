"""Sweeps that run ns-3 (issue 8): same table on 1 worker, 2 workers and a Dask
LocalCluster; resume; a run that aborts becomes a failed row.

Runs are tiny (2000 packets); most of the time goes into the run servers'
one-off ns-3 load.
"""

import json
import subprocess
import sys

import pandas as pd
import pytest

from cppsns3.cli import main
from cppsns3.sweep import run_sweep, sweep_from_dict
from cppsns3.sweep.worker import ABORT_HOOK_ENV

SPEC = {"scenario": "single-link", "replications": 2, "seed": 11, "fixed": {"packets": 2000},
        "vary": {"rho": [0.5, 0.9], "queue_capacity": [5]}}


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without wall-clock columns (the only ones allowed to differ)."""
    return frame[[c for c in frame.columns if not c.endswith("_wall_s")]].reset_index(drop=True)


@pytest.fixture(scope="module")
def ns3_loaded_before():
    return "cppsns3.ns3" in sys.modules


@pytest.fixture(scope="module")
def reference(tmp_path_factory, ns3_loaded_before):
    """The sweep on 1 local worker."""
    out = tmp_path_factory.mktemp("w1")
    return out, run_sweep(sweep_from_dict(SPEC), out, workers=1, progress=False)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, reference):
    """2 workers, interrupted after 1 run by max_runs, resumed, then resumed again."""
    out = tmp_path_factory.mktemp("w2")
    spec = sweep_from_dict(SPEC)
    first = run_sweep(spec, out, workers=2, max_runs=1, progress=False)
    second = run_sweep(spec, out, workers=2, progress=False)
    third = run_sweep(spec, out, workers=2, progress=False)
    return out, first, second, third


def test_resume_skips_finished_runs(resumed):
    out, first, second, third = resumed
    assert (first.ran, first.remaining, len(first.runs)) == (1, 3, 1)
    assert (second.ran, second.skipped, second.remaining) == (3, 1, 0)
    assert (third.ran, third.skipped) == (0, 4)
    assert third.executor.startswith("none")
    assert len(pd.read_csv(out / "runs.csv")) == 4
    assert len(open(out / "runs.jsonl").read().splitlines()) == 4  # no run ran twice
    # The interrupted sweep's row is unchanged by the resume.
    assert first.runs.iloc[0].to_dict() == second.runs.iloc[0].to_dict()


def test_tables_are_complete(reference):
    out = reference[0]
    runs = pd.read_csv(out / "runs.csv")
    assert (runs["status"] == "ok").all()
    assert list(runs["run_index"]) == [0, 1, 2, 3]
    for col in ("seed", "rho", "queue_capacity", "packets", "analytic_loss_probability",
                "measured_loss_probability", "measured_loss_probability_ci95",
                "measured_mean_time_in_system_s", "measured_mean_time_in_system_ci95_s",
                "sent_packets", "run_wall_s", "sim_wall_s", "overhead_wall_s"):
        assert col in runs.columns, col
    assert (runs["sent_packets"] == 2000).all()
    agg = pd.read_csv(out / "aggregate.csv")
    assert list(agg["rho"]) == [0.5, 0.9] and list(agg["replications_ok"]) == [2, 2]
    assert (agg["measured_mean_time_in_system_ci95_s"] > 0).all()
    assert agg.loc[1, "measured_loss_probability"] > agg.loc[0, "measured_loss_probability"]


def test_same_table_on_two_workers(reference, resumed):
    pd.testing.assert_frame_equal(_stable(resumed[2].runs), _stable(reference[1].runs))
    pd.testing.assert_frame_equal(_stable(pd.read_csv(resumed[0] / "runs.csv")),
                                  _stable(pd.read_csv(reference[0] / "runs.csv")))
    pd.testing.assert_frame_equal(_stable(pd.read_csv(resumed[0] / "aggregate.csv")),
                                  _stable(pd.read_csv(reference[0] / "aggregate.csv")))


def test_same_table_on_a_dask_cluster(reference, tmp_path):
    import distributed
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = run_sweep(sweep_from_dict(SPEC), tmp_path, scheduler=client, progress=False)
    assert res.executor.startswith("Dask")
    pd.testing.assert_frame_equal(_stable(res.runs), _stable(reference[1].runs))


def test_an_aborting_run_is_a_failed_row_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ABORT_HOOK_ENV, json.dumps({"rho": 0.9}))
    spec = dict(SPEC, replications=1)
    path = tmp_path / "sweep.toml"
    path.write_text('scenario = "single-link"\nreplications = 1\nseed = 11\n[fixed]\npackets = 2000\n'
                    '[vary]\nrho = [0.9, 0.5]\n')
    rc = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--json", "--no-progress"])
    cap = capsys.readouterr()
    assert rc == 1
    summary = json.loads(cap.out)
    assert (summary["runs_ok"], summary["runs_failed"]) == (1, 1)
    assert cap.err.startswith("error: 1 run(s) failed") and cap.err.count("\n") == 1
    runs = pd.read_csv(tmp_path / "out" / "runs.csv", keep_default_na=False)
    bad, good = runs.iloc[0], runs.iloc[1]
    assert bad["status"] == "failed" and bad["rho"] == 0.9
    assert "crashed" in bad["error"] and "test hook: aborting" in bad["last_output"]
    assert good["status"] == "ok" and float(good["measured_mean_time_in_system_s"]) > 0
    # Resume keeps the failed row; retry_failed runs it again (and it fails again).
    spec = sweep_from_dict(spec | {"vary": {"rho": [0.9, 0.5]}})
    assert run_sweep(spec, tmp_path / "out", workers=1, progress=False).ran == 0
    retried = run_sweep(spec, tmp_path / "out", workers=1, progress=False, retry_failed=True)
    assert (retried.ran, retried.failed) == (1, 1)
    assert len(retried.runs) == 2 and list(retried.runs["status"]) == ["failed", "ok"]


def test_the_parent_never_loads_ns3(tmp_path):
    # In a fresh interpreter: other tests of this process may have loaded ns-3.
    code = (
        "import sys, json\n"
        "from cppsns3.sweep import run_sweep, sweep_from_dict\n"
        f"spec = sweep_from_dict(json.loads({json.dumps(json.dumps(SPEC))}))\n"
        f"run_sweep(spec, {str(tmp_path / 'out')!r}, workers=1, progress=False)\n"
        "print('cppsns3.ns3' in sys.modules, 'cppyy' in sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-2:] == ["False", "False"]
