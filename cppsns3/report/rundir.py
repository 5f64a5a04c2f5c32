"""Load a run output directory (``cppsns3 run ... --out DIR``) into pandas.

Layout (docs: CONTRACTS "Runs"): ``summary.json``, ``flows.csv``,
``ports.csv``, ``links.csv``, ``flowmon-ALGORITHM.xml`` and ``grid.json``
(the pandapower net, :meth:`RunData.grid_net`).  Only
``summary.json`` is required; a CSV that is absent leaves its table ``None``
(the plots that need it are skipped), and a CSV that is present must carry
the columns of :data:`REQUIRED_COLUMNS`.  Measured columns may be missing
(round mode has no per-port measurements): the plots that need them are
skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["ALGORITHMS", "FLOWS_COLUMNS", "LINKS_COLUMNS", "PORTS_COLUMNS", "REQUIRED_COLUMNS", "RunData", "load_run"]

from cppsns3.model.scenario import ALGORITHMS  # canonical algorithm order (CLI and JSON names)

FLOWS_COLUMNS = (
    "algorithm", "src_bus", "dst_bus", "hops", "buses", "sent_packets", "received_packets", "dropped_packets",
    "analytic_delay_s", "analytic_delay_relay_only_s", "measured_delay_s", "measured_delay_ci95_s", "loss_ratio",
)
PORTS_COLUMNS = (
    "algorithm", "bus", "peer_bus", "rho", "capacity", "analytic_loss_probability", "measured_loss_probability",
    "measured_loss_probability_ci95", "analytic_mean_time_in_system_s", "measured_mean_time_in_system_s",
    "measured_mean_time_in_system_ci95_s",
)
LINKS_COLUMNS = (
    "algorithm", "a_bus", "b_bus", "bandwidth_mbps", "length_km", "delay_s", "residual_mbps", "utilisation",
    "measured_utilisation",
)


#: Columns a present CSV must have; the ``measured_*`` ones may be absent
#: (``cppsns3 run`` writes them in validate mode only for ports and links).
REQUIRED_COLUMNS = {
    "flows": ("algorithm", "src_bus", "dst_bus", "analytic_delay_s"),
    "ports": ("algorithm", "bus", "peer_bus", "rho", "capacity", "analytic_loss_probability",
              "analytic_mean_time_in_system_s"),
    "links": ("algorithm", "a_bus", "b_bus", "utilisation"),
}


@dataclass
class RunData:
    """One run output directory, loaded.

    Attributes
    ----------
    path : Path
        The directory.
    summary : dict
        ``summary.json``.
    flows, ports, links : pandas.DataFrame or None
        The CSVs (``None`` when absent).
    flowmon : dict of str to Path
        ``flowmon-ALGORITHM.xml`` files by algorithm name.
    """

    path: Path
    summary: dict
    flows: pd.DataFrame | None = None
    ports: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    flowmon: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """``round`` or ``validate`` (``""`` if the summary does not say)."""
        return str(self.summary.get("mode", ""))

    @property
    def grid(self) -> str:
        """The grid name of the summary, or the directory name."""
        return str(self.summary.get("grid", self.path.name))

    def algorithms(self) -> list[str]:
        """Algorithms present, in canonical order (unknown names last)."""
        names = list((self.summary.get("algorithms") or {}).keys())
        for df in (self.flows, self.ports, self.links):
            if df is not None:
                names += [a for a in df["algorithm"].astype(str).unique() if a not in names]
        return sorted(set(names), key=lambda a: (ALGORITHMS.index(a) if a in ALGORITHMS else 99, a))

    def grid_net(self):
        """The run's pandapower net: ``grid.json``, else the summary's ``grid`` if it names a
        :mod:`pandapower.networks` function (``"case39"``); ``None`` if neither.

        Raises
        ------
        ValueError
            If ``grid.json`` is not a pandapower JSON net.
        """
        p = self.path / "grid.json"
        if p.is_file():
            import pandapower as pp

            try:
                return pp.from_json(str(p))
            except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
                raise ValueError(f"{p}: not a pandapower JSON net ({' '.join(str(exc).split())})") from None
        name = self.summary.get("grid")
        if isinstance(name, str) and name.isidentifier():
            from cppsns3.errors import ScenarioError
            from cppsns3.model.grid import load_grid

            try:
                return load_grid(name)
            except ScenarioError:
                return None
        return None

    def generation_times(self) -> pd.DataFrame:
        """``algorithm, generation_time_s, generation_time_ci95_s`` (NaN where absent)."""
        rows = []
        for a, rec in (self.summary.get("algorithms") or {}).items():
            if isinstance(rec, dict) and rec.get("generation_time_s") is not None:
                rows.append((a, float(rec["generation_time_s"]),
                             float(rec.get("generation_time_ci95_s") or float("nan"))))
        df = pd.DataFrame(rows, columns=["algorithm", "generation_time_s", "generation_time_ci95_s"])
        order = {a: i for i, a in enumerate(ALGORITHMS)}
        return df.sort_values("algorithm", key=lambda s: s.map(lambda a: order.get(a, 99))).reset_index(drop=True)


def _csv(path: Path, columns) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file (expected a header with columns {', '.join(columns)})") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a valid CSV file ({' '.join(str(exc).split())})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    df["algorithm"] = df["algorithm"].astype(str)
    return df


def load_run(path) -> RunData:
    """Load a run output directory.

    Parameters
    ----------
    path : str or os.PathLike
        The ``--out`` directory of ``cppsns3 run``.

    Returns
    -------
    RunData

    Raises
    ------
    FileNotFoundError
        If the directory or its ``summary.json`` does not exist.
    ValueError
        If ``summary.json`` is not a JSON object, or a CSV lacks a contract
        column (the message names the file and the columns).
    """
    d = Path(path)
    if not d.is_dir():
        raise FileNotFoundError(f"run directory not found: {d}")
    sp = d / "summary.json"
    if not sp.is_file():
        raise FileNotFoundError(f"{d}: no summary.json (not a `cppsns3 run` output directory)")
    try:
        summary = json.loads(sp.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{sp}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{sp}: expected a JSON object, got {type(summary).__name__}")
    run = RunData(path=d, summary=summary,
                  flows=_csv(d / "flows.csv", REQUIRED_COLUMNS["flows"]),
                  ports=_csv(d / "ports.csv", REQUIRED_COLUMNS["ports"]),
                  links=_csv(d / "links.csv", REQUIRED_COLUMNS["links"]))
    for f in sorted(d.glob("flowmon-*.xml")):
        run.flowmon[f.stem[len("flowmon-"):]] = f
    return run
