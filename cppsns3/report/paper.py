"""The paper's figures and Table 3 from several runs (Yang et al. 2018, Figs. 9-12).

Used by ``scripts/reproduce_paper.py``; every function here works on run
output directories (:func:`cppsns3.report.rundir.load_run`) or on scenarios
(the planner), never on ns-3 directly.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from cppsns3.report import plots
from cppsns3.report.rundir import ALGORITHMS, load_run

#: The paper's three routers: Table 3 needs all of them; others are extra columns.
PAPER_ALGORITHMS = ("qos-r", "ra-dbmm", "qtdr")

__all__ = [
    "PAPER_TABLE3",
    "generation_times_by_grid",
    "merged_table",
    "table3",
    "table3_from_plans",
]

#: Table 3 of the paper: Load_B as (QoS-R, RA-DBMM, QT-DR); units not given.
PAPER_TABLE3 = {
    "14-bus": (7.19, 6.96, 4.83),
    "30-bus": (13.32, 11.05, 8.23),
    "39-bus": (17.67, 15.61, 10.38),
    "57-bus": (19.14, 15.35, 13.99),
    "118-bus": (24.55, 21.16, 14.87),
}


def _key(a: str) -> str:
    return a.replace("-", "_")


def _reduction(base: float, ours: float) -> float:
    return (base - ours) / base if base and math.isfinite(base) and math.isfinite(ours) else math.nan


def table3_from_plans(load_balance: dict, lower_bounds: dict | None = None) -> pd.DataFrame:
    """Table 3 analogue from Load_B values, beside the paper's numbers.

    Parameters
    ----------
    load_balance : dict
        ``{grid label: {algorithm: Load_B in Mbit/s}}``; labels as in
        :data:`PAPER_TABLE3` (``"14-bus"`` ...) get the paper's values beside.
        Algorithms beyond the paper's three (``qtdr-ls``) add a
        ``NAME_load_balance_mbps`` column.
    lower_bounds : dict, optional
        ``{grid label: load_balance_lower_bound}``: adds
        ``load_balance_lower_bound_mbps``.

    Returns
    -------
    pandas.DataFrame
        ``grid``, ``qos_r_load_balance_mbps``, ``ra_dbmm_load_balance_mbps``,
        ``qtdr_load_balance_mbps``, ``paper_qos_r_load_balance``,
        ``paper_ra_dbmm_load_balance``, ``paper_qtdr_load_balance``,
        ``qtdr_vs_qos_r_reduction_ratio``, ``paper_qtdr_vs_qos_r_reduction_ratio``,
        ``qtdr_vs_ra_dbmm_reduction_ratio``, ``paper_qtdr_vs_ra_dbmm_reduction_ratio``
        (a reduction ratio is (baseline - QT-DR) / baseline: > 0 when QT-DR
        balances better).

    Raises
    ------
    ValueError
        If a grid lacks one of the paper's three algorithms.
    """
    rows = []
    for grid, vals in load_balance.items():
        missing = [a for a in PAPER_ALGORITHMS if a not in vals]
        if missing:
            raise ValueError(f"grid {grid}: no Load_B for {', '.join(missing)}")
        paper = PAPER_TABLE3.get(grid, (math.nan,) * 3)
        ours = {a: float(vals[a]) for a in ALGORITHMS if a in vals}
        extra = [a for a in ALGORITHMS if a in ours and a not in PAPER_ALGORITHMS]
        rows.append({
            "grid": grid,
            **{f"{_key(a)}_load_balance_mbps": ours[a] for a in PAPER_ALGORITHMS + tuple(extra)},
            **({"load_balance_lower_bound_mbps": float(lower_bounds[grid])} if lower_bounds else {}),
            **{f"paper_{_key(a)}_load_balance": p for a, p in zip(PAPER_ALGORITHMS, paper)},
            "qtdr_vs_qos_r_reduction_ratio": _reduction(ours["qos-r"], ours["qtdr"]),
            "paper_qtdr_vs_qos_r_reduction_ratio": _reduction(paper[0], paper[2]),
            "qtdr_vs_ra_dbmm_reduction_ratio": _reduction(ours["ra-dbmm"], ours["qtdr"]),
            "paper_qtdr_vs_ra_dbmm_reduction_ratio": _reduction(paper[1], paper[2]),
        })
    return pd.DataFrame(rows)


def table3(scenarios: dict, csv_path=None, png_path=None, progress=None) -> pd.DataFrame:
    """Plan every scenario with every algorithm and build the Table 3 analogue (with the bound).

    Parameters
    ----------
    scenarios : dict
        ``{grid label: scenario TOML path}``, e.g. ``{"14-bus": "scenarios/ieee14.toml"}``.
    csv_path, png_path : str or os.PathLike, optional
        Where to write the table and its plot.
    progress : callable, optional
        Called with each grid label after it is planned.

    Returns
    -------
    pandas.DataFrame
        See :func:`table3_from_plans`.

    Raises
    ------
    ScenarioError
        If a scenario is invalid.
    NoFeasiblePath
        If a scenario cannot be routed.
    """
    import cppsns3

    lb, bound = {}, {}
    for grid, path in scenarios.items():
        p = cppsns3.plan(cppsns3.Scenario.load(path), "all")
        lb[grid] = {a: ap.load_balance for a, ap in p.algorithms.items()}
        bound[grid] = p.load_balance_lower_bound
        if progress is not None:
            progress(grid)
    t = table3_from_plans(lb, bound)
    if csv_path is not None:
        from cppsns3.atomic import atomic_open

        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(csv_path, "w", newline="") as fh:
            t.to_csv(fh, index=False, float_format="%.6g")
    if png_path is not None:
        plots.plot_load_balance_table(t, png_path)
    return t


def generation_times_by_grid(run_dirs: dict) -> pd.DataFrame:
    """Generation times of round-mode runs, one row per grid and algorithm.

    Parameters
    ----------
    run_dirs : dict
        ``{grid label: run output directory}``.

    Returns
    -------
    pandas.DataFrame
        ``grid, algorithm, generation_time_s, generation_time_ci95_s``.

    Raises
    ------
    FileNotFoundError
        If a directory or its summary.json is missing.
    ValueError
        If a directory's files are malformed.
    """
    parts = []
    for grid, d in run_dirs.items():
        t = load_run(d).generation_times()
        parts.append(t.assign(grid=grid))
    if not parts:
        return pd.DataFrame(columns=["grid", "algorithm", "generation_time_s", "generation_time_ci95_s"])
    return pd.concat(parts, ignore_index=True)[["grid", "algorithm", "generation_time_s", "generation_time_ci95_s"]]


def merged_table(run_dirs, table: str, label: str = "run") -> pd.DataFrame:
    """One CSV table (``flows``, ``ports`` or ``links``) of several runs, stacked.

    Parameters
    ----------
    run_dirs : dict or sequence
        ``{label: directory}`` (the label goes into column ``label``) or
        a sequence of directories (labelled by their names).
    table : str
        ``"flows"``, ``"ports"`` or ``"links"``.
    label : str
        Name of the label column.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If ``table`` is unknown or a run lacks that table.
    """
    if table not in ("flows", "ports", "links"):
        raise ValueError(f"table must be flows, ports or links, got {table!r}")
    items = run_dirs.items() if isinstance(run_dirs, dict) else [(Path(d).name, d) for d in run_dirs]
    parts = []
    for name, d in items:
        df = getattr(load_run(d), table)
        if df is None:
            raise ValueError(f"{d}: no {table}.csv")
        parts.append(df.assign(**{label: name}))
    return pd.concat(parts, ignore_index=True)
