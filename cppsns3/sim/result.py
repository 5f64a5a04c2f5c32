"""Results of packet-level runs: typed objects with DataFrames, and the run-directory files.

A :class:`RunResult` is one algorithm of one run: ``flows``, ``ports`` and
``links`` are pandas DataFrames with the columns of ``flows.csv``,
``ports.csv`` and ``links.csv``; ``summary`` is that algorithm's entry of
``summary.json``'s ``"algorithms"``.  :func:`write_run` writes the files of a
run directory from one or more results (each file to a temporary name, then
renamed, so an interrupted run never leaves a half-written file under its
final name: :mod:`cppsns3.atomic`).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cppsns3.atomic import AtomicBatch, write_atomic

__all__ = ["RunResult", "write_run", "write_atomic", "clean_json"]


def clean_json(x):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, keys -> str."""
    if isinstance(x, dict):
        return {str(k): clean_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean_json(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def _csv(df) -> str:
    return df.to_csv(index=False, float_format="%.9g", lineterminator="\n")


@dataclass
class RunResult:
    """One algorithm's result of a packet-level run.

    Attributes
    ----------
    algorithm, mode : str
    flows, ports, links : pandas.DataFrame
        Columns as ``flows.csv``, ``ports.csv``, ``links.csv`` (docs/run.md).
    summary : dict
        This algorithm's entry of ``summary.json``'s ``"algorithms"``.
    header : dict
        The run's top-level ``summary.json`` keys (scenario, grid, seed, ...).
    timing : dict
        Wall-clock figures (vary run to run; ``timing.json``).
    routes : dict
        ``(src node, dst node) -> node path`` installed at the end of the first
        replication (after any re-routing around failed links).
    flowmon_path : Path or None
        The first replication's FlowMonitor XML.
    raw : list of dict
        The per-replication measurements the tables were made from.
    """

    algorithm: str
    mode: str
    flows: object
    ports: object
    links: object
    summary: dict
    header: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    routes: dict = field(default_factory=dict, repr=False)
    flowmon_path: Path | None = None
    raw: list = field(default_factory=list, repr=False)
    net: object = field(default=None, repr=False)

    def summary_json(self) -> dict:
        """The whole ``summary.json`` object of a run of this algorithm alone."""
        return {**self.header, "algorithms": {self.algorithm: self.summary}}

    def write(self, out_dir) -> Path:
        """Write the files ``cppsns3 run`` writes (this algorithm only) into ``out_dir``.

        Returns
        -------
        Path
            The ``summary.json`` written.
        """
        return write_run(out_dir, [self])


def write_run(out_dir, results, timing_extra: dict | None = None, batch: AtomicBatch | None = None) -> Path:
    """Write a run directory from the results of its algorithms.

    Files: ``summary.json`` (deterministic: same seed, same bytes),
    ``flows.csv``, ``ports.csv``, ``links.csv``, ``flowmon-ALGORITHM.xml``,
    ``timing.json`` and ``grid.json`` (the pandapower net the run used).
    All are written to temporary names first and renamed into place
    together at the end (:class:`cppsns3.atomic.AtomicBatch`), so an
    interrupted write leaves the previous files or the new ones, never a
    half-written one.

    Parameters
    ----------
    batch : AtomicBatch, optional
        The run's batch, in which the children's FlowMonitor XML files were
        staged (:func:`cppsns3.sim.run.run`); committed here.  Default: a
        new one.
    """
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = list(results)
    summary = {**results[0].header, "algorithms": {r.algorithm: r.summary for r in results}}
    timing = {"algorithms": {r.algorithm: r.timing for r in results}, **(timing_extra or {})}
    batch = AtomicBatch() if batch is None else batch
    moved = [r for r in results if r.flowmon_path is not None and batch.staged(r.flowmon_path)]
    with batch:
        for r in results:
            if r.flowmon_path is None:
                continue
            dst = out / f"flowmon-{r.algorithm}.xml"
            src = Path(r.flowmon_path)
            if batch.staged(src) or not src.exists() or src.resolve() == dst.resolve():
                continue  # staged for dst already (renamed at commit), or nothing to copy
            shutil.copyfile(src, batch.stage(dst))
        net = results[0].net
        if net is not None:
            import pandapower as pp

            batch.write(out / "grid.json", pp.to_json(net))
        batch.write(out / "flows.csv", _csv(pd.concat([r.flows for r in results], ignore_index=True)))
        batch.write(out / "ports.csv", _csv(pd.concat([r.ports for r in results], ignore_index=True)))
        batch.write(out / "links.csv", _csv(pd.concat([r.links for r in results], ignore_index=True)))
        batch.write(out / "timing.json", json.dumps(clean_json(timing), indent=2) + "\n")
        batch.write(out / "summary.json", json.dumps(clean_json(summary), indent=2) + "\n")
    for r in moved:
        r.flowmon_path = out / f"flowmon-{r.algorithm}.xml"
    return out / "summary.json"
