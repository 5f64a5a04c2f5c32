"""Parameter sweeps and replications (issue 8).

.. code-block:: python

    from cppsns3.sweep import load_sweep, run_sweep
    result = run_sweep(load_sweep("scenarios/sweep_single_link.toml"), "out/sweep", workers=2)
    result.runs        # DataFrame of runs.csv (one row per run)
    result.aggregate   # DataFrame of aggregate.csv (means and 95 % half-widths)

Runs execute in forked children of *run servers* (:mod:`cppsns3.sweep.worker`),
locally (:class:`LocalExecutor`) or on a Dask cluster (:class:`DaskExecutor`);
this package never loads ns-3 in the calling process.
"""

from cppsns3.sweep.engine import SweepResult, run_sweep
from cppsns3.sweep.executors import DaskExecutor, LocalExecutor, default_workers
from cppsns3.sweep.spec import RunTask, SweepSpec, derive_seed, load_sweep, plan_runs, run_key, sweep_from_dict
from cppsns3.sweep.table import aggregate_frame, ci_name, runs_frame

__all__ = [
    "SweepSpec", "RunTask", "SweepResult", "LocalExecutor", "DaskExecutor",
    "load_sweep", "sweep_from_dict", "plan_runs", "derive_seed", "run_key", "run_sweep",
    "runs_frame", "aggregate_frame", "ci_name", "default_workers",
]
