"""``report_run``: the figures of one run output directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cppsns3.report import netmap, plots
from cppsns3.report.rundir import RunData, load_run

__all__ = ["MAP_FILES", "PLOT_FILES", "flowmon_delay_histograms", "report_run"]

#: File name of each figure and what it shows (one line, for READMEs).
PLOT_FILES = {
    "delay_scatter.png": "measured mean one-way delay per flow against Eq. 2, identity line, 95 % CIs",
    "ports_eq1.png": "per-port loss probability and mean time in system W against Eq. 1, over rho",
    "link_utilisation.png": "utilisation of every link per algorithm (measured bars, planned ticks)",
    "generation_time.png": "block generation time of the round per algorithm",
    "delay_distribution.png": "CDF of one-way packet delay per algorithm from the FlowMonitor histograms",
}

#: Figures drawn only when the run's grid is known (grid.json, or a
#: pandapower.networks name in summary.json); ALGORITHM is each algorithm's name.
MAP_FILES = {
    "network_map-ALGORITHM.png": "CPPS links over the grid coloured by planned and measured utilisation; "
                                 "terminals, generator",
}


#: Fewer non-empty delay-histogram bins than this make no useful distribution plot.
MIN_HISTOGRAM_BINS = 5


def flowmon_delay_histograms(run: RunData) -> pd.DataFrame:
    """All flows' FlowMonitor delay-histogram bins, with an ``algorithm`` column.

    Raises
    ------
    TraceFormatError
        If a ``flowmon-ALGORITHM.xml`` file is malformed or truncated.
    """
    from cppsns3.traces import read_flowmon

    parts = []
    for alg, path in run.flowmon.items():
        h = read_flowmon(path)["delay_histogram"]
        if not h.empty:
            parts.append(h.assign(algorithm=alg))
    if not parts:
        return pd.DataFrame(columns=["algorithm", "flow_id", "bin_index", "bin_start_s", "bin_width_s", "count"])
    return pd.concat(parts, ignore_index=True)


def _has(df, column) -> bool:
    return df is not None and column in df.columns and df[column].notna().any()


def report_run(run_dir, out_dir=None) -> tuple[list[Path], dict[str, str]]:
    """Write every figure a run output directory supports.

    Parameters
    ----------
    run_dir : str or os.PathLike
        Output directory of ``cppsns3 run`` (summary.json, flows.csv,
        ports.csv, links.csv, flowmon-ALGORITHM.xml, grid.json).
    out_dir : str or os.PathLike, optional
        Where to write the PNGs; default ``run_dir/plots``.

    Returns
    -------
    (list of Path, dict)
        The PNGs written (see :data:`PLOT_FILES` and :data:`MAP_FILES`), and for each figure not
        drawn, why (e.g. validate mode has no generation time).

    Raises
    ------
    FileNotFoundError
        If the directory or its summary.json is missing.
    ValueError
        If a file lacks its contract columns.
    TraceFormatError
        If a FlowMonitor file is malformed.
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / "plots"
    where = f"{run.grid}, {run.mode} mode" if run.mode else run.grid
    written: list[Path] = []
    skipped: dict[str, str] = {}

    if _has(run.flows, "measured_delay_s"):
        written.append(plots.plot_delay_scatter(
            run.flows, out / "delay_scatter.png", title=f"Per-flow delay: measured vs Eq. 2 ({where})"))
    else:
        skipped["delay_scatter.png"] = "no flows.csv with measured delays"
    if run.mode == "round":
        # Round-mode ports carry TCP segments in a burst: Eq. 1 (Poisson
        # packets at the planned per-period load) does not describe them.
        skipped["ports_eq1.png"] = "round mode: TCP block transfers are not the M/M/1/K traffic of Eq. 1"
    elif _has(run.ports, "measured_mean_time_in_system_s"):
        written.append(plots.plot_ports_eq1(
            run.ports, out / "ports_eq1.png", title=f"Ports: measured vs Eq. 1 (M/M/1/K) over ρ ({where})"))
    else:
        skipped["ports_eq1.png"] = "no ports.csv with measured values"
    if run.links is not None and not run.links.empty:
        written.append(plots.plot_link_utilisation(
            run.links, out / "link_utilisation.png", title=f"Link utilisation per link and algorithm ({where})"))
    else:
        skipped["link_utilisation.png"] = "no links.csv"
    times = run.generation_times()
    if not times.empty:
        written.append(plots.plot_generation_time(
            times, out / "generation_time.png", title=f"Block generation time per algorithm ({where})"))
    else:
        skipped["generation_time.png"] = "no generation_time_s in summary.json (round mode only)"
    hist = flowmon_delay_histograms(run) if run.flowmon else None
    coarse = hist is not None and not hist.empty and \
        hist.loc[hist["count"] > 0].groupby("algorithm")["bin_start_s"].nunique().max() < MIN_HISTOGRAM_BINS
    if coarse:
        width = float(hist["bin_width_s"].max())
        skipped["delay_distribution.png"] = (
            f"FlowMonitor delay histograms too coarse (every packet in fewer than {MIN_HISTOGRAM_BINS} bins of "
            f"{width:g} s; set the FlowMonitor attribute DelayBinWidth below the delays)")
    elif hist is not None and not hist.empty and hist["count"].sum() > 0:
        written.append(plots.plot_delay_distribution(
            hist, out / "delay_distribution.png", title=f"Packet delay distribution, FlowMonitor ({where})"))
    else:
        skipped["delay_distribution.png"] = "no flowmon-ALGORITHM.xml with delay histograms"
    # Network maps: silently absent when the grid is unknown (runs before grid.json).
    try:
        net = run.grid_net()
        if net is not None and run.links is not None and not run.links.empty:
            written += netmap.plot_network_maps(net, run.links, run.summary, out)
        elif net is not None:
            skipped["network_map-ALGORITHM.png"] = "no links.csv"
    except ValueError as exc:  # unreadable grid.json, or links naming buses the grid lacks
        skipped["network_map-ALGORITHM.png"] = str(exc)
    return written, skipped
