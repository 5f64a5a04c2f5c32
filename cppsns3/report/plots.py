"""Figures of a run and of the paper (matplotlib, Agg backend, PNG).

Every function takes tidy DataFrames (the run directory's CSV columns), writes
one titled PNG with labelled axes (units in the labels) and returns its path.
Algorithms always get the same colour: QT-DR blue, QoS-R orange, RA-DBMM green.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cppsns3.model.queueing import mm1k_loss_probability, mm1k_mean_number  # noqa: E402

__all__ = [
    "ALGORITHM_COLOURS",
    "ALGORITHM_LABELS",
    "plot_delay_distribution",
    "plot_delay_scatter",
    "plot_generation_time",
    "plot_generation_time_by_grid",
    "plot_link_utilisation",
    "plot_load_balance_table",
    "plot_ports_eq1",
]

ALGORITHM_LABELS = {"qtdr": "QT-DR", "qos-r": "QoS-R", "ra-dbmm": "RA-DBMM", "qtdr-ls": "QT-DR-LS"}
ALGORITHM_COLOURS = {"qtdr": "tab:blue", "qos-r": "tab:orange", "ra-dbmm": "tab:green", "qtdr-ls": "tab:red"}
from cppsns3.model.scenario import ALGORITHMS as _ORDER  # noqa: E402 - the one list of names
_DPI = 120


def _label(a: str) -> str:
    return ALGORITHM_LABELS.get(a, a)


def _colour(a: str, i: int = 0) -> str:
    return ALGORITHM_COLOURS.get(a, f"C{3 + i}")


def _algorithms(df: pd.DataFrame) -> list[str]:
    names = [str(a) for a in df["algorithm"].unique()]
    return sorted(names, key=lambda a: (_ORDER.index(a) if a in _ORDER else 99, a))


def _save(fig, path) -> Path:
    from cppsns3.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=_DPI, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def _require(df, columns, what):
    if df is None:
        raise ValueError(f"{what}: no data")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def _yerr(values, half_widths, floor: float = 0.0):
    """Asymmetric error bars that never reach below ``floor * value`` (losses >= 0, delays > 0)."""
    y = np.asarray(values, float)
    hw = np.nan_to_num(np.asarray(half_widths, float))
    return np.vstack([np.minimum(hw, y * (1.0 - floor)), hw])


def _time_unit(values_s) -> tuple[float, str]:
    v = np.asarray(values_s, float)
    v = v[np.isfinite(v)]
    top = float(np.max(np.abs(v))) if v.size else 1.0
    if top >= 1.0:
        return 1.0, "s"
    if top >= 1e-3:
        return 1e3, "ms"
    return 1e6, "µs"


def plot_delay_scatter(flows: pd.DataFrame, path, title: str | None = None) -> Path:
    """Measured mean one-way delay per flow against Eq. 2, with 95 % CI bars.

    Filled markers use Eq. 2 with every sending port on the path (the model
    the simulated network follows); small crosses use the paper's variant
    that queues at the relays only.  The dashed line is y = x.

    Parameters
    ----------
    flows : pandas.DataFrame
        ``flows.csv`` rows: ``algorithm, analytic_delay_s,
        analytic_delay_relay_only_s, measured_delay_s, measured_delay_ci95_s``.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or no flow has a measured delay.
    """
    cols = ("algorithm", "analytic_delay_s", "measured_delay_s", "measured_delay_ci95_s")
    _require(flows, cols, "flows")
    f = flows.dropna(subset=["analytic_delay_s", "measured_delay_s"])
    if f.empty:
        raise ValueError("flows: no flow has both an analytic and a measured delay")
    scale, unit = _time_unit(pd.concat([f["analytic_delay_s"], f["measured_delay_s"]]))
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    for i, a in enumerate(_algorithms(f)):
        g = f.loc[f["algorithm"] == a]
        ci = _yerr(g["measured_delay_s"] * scale, g["measured_delay_ci95_s"].fillna(0) * scale, floor=0.001)
        ax.errorbar(g["analytic_delay_s"] * scale, g["measured_delay_s"] * scale, yerr=ci, fmt="o", ms=4,
                    color=_colour(a, i), ecolor=_colour(a, i), elinewidth=0.8, capsize=2, alpha=0.8,
                    label=f"{_label(a)} ({len(g)} flows)")
        if "analytic_delay_relay_only_s" in g.columns and g["analytic_delay_relay_only_s"].notna().any():
            ax.plot(g["analytic_delay_relay_only_s"] * scale, g["measured_delay_s"] * scale, "x", ms=4,
                    color=_colour(a, i), alpha=0.35,
                    label=f"{_label(a)}, Eq. 2 relays only" if i == 0 else None)
    both = pd.concat([f["analytic_delay_s"], f["measured_delay_s"]]).to_numpy(float) * scale
    lo, hi = float(np.min(both)), float(np.max(both))
    use_log = lo > 0 and hi / lo > 30
    pad = (hi - lo) * 0.05 or hi * 0.05 or 1.0
    lims = (lo / 1.3, hi * 1.3) if use_log else (max(0.0, lo - pad), hi + pad)
    ax.plot(lims, lims, "k--", lw=1, label="measured = analytic")
    if use_log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_xlabel(f"analytic delay, Eq. 2 ({unit})")
    ax.set_ylabel(f"measured mean delay ({unit}), 95 % CI")
    ax.set_title(title or "Per-flow one-way delay: measured vs Eq. 2")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def _common_mu(p: pd.DataFrame):
    """Service rate shared by all ports, from Eq. 1 (None if they differ)."""
    rho = p["rho"].to_numpy(float)
    k = p["capacity"].to_numpy(int)
    w = p["analytic_mean_time_in_system_s"].to_numpy(float)
    loss = p["analytic_loss_probability"].to_numpy(float)
    ok = (rho > 0) & (w > 0) & np.isfinite(w)
    if not ok.any():
        return None
    mu = mm1k_mean_number(rho[ok], k[ok]) / (rho[ok] * (1 - loss[ok]) * w[ok])
    mu = np.atleast_1d(mu)
    return float(np.median(mu)) if np.ptp(mu) <= 1e-3 * np.median(mu) else None


def plot_ports_eq1(ports: pd.DataFrame, path, title: str | None = None) -> Path:
    """Per-port loss probability and mean time in system W against Eq. 1, over rho.

    Left: loss probability; right: W.  Filled markers with 95 % CI bars are
    measured, open markers are Eq. 1 for the same port; the lines are Eq. 1
    over rho for each capacity K (for W only when all ports share one service
    rate, since W depends on it).

    Parameters
    ----------
    ports : pandas.DataFrame
        ``ports.csv`` rows.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or no port has measured values.
    """
    cols = ("algorithm", "rho", "capacity", "analytic_loss_probability", "measured_loss_probability",
            "measured_loss_probability_ci95", "analytic_mean_time_in_system_s", "measured_mean_time_in_system_s",
            "measured_mean_time_in_system_ci95_s")
    _require(ports, cols, "ports")
    p = ports.dropna(subset=["rho", "measured_mean_time_in_system_s"])
    p = p.loc[p["rho"] > 0]
    if p.empty:
        raise ValueError("ports: no loaded port (rho > 0) has a measured mean time in system")
    scale, unit = _time_unit(pd.concat([p["analytic_mean_time_in_system_s"], p["measured_mean_time_in_system_s"]]))
    fig, (axl, axw) = plt.subplots(1, 2, figsize=(11.5, 4.8))
    rho_max = float(p["rho"].max())
    x_max = max(0.1, rho_max * 1.08)
    grid = np.linspace(1e-3, x_max, 200)
    mu = _common_mu(p)
    for k in sorted(p["capacity"].astype(int).unique()):
        axl.plot(grid, mm1k_loss_probability(grid, k), "k-", lw=0.8, alpha=0.6, label=f"Eq. 1, K = {k}")
        if mu is not None:
            w = mm1k_mean_number(grid, k) / (grid * mu * (1 - mm1k_loss_probability(grid, k)))
            axw.plot(grid, w * scale, "k-", lw=0.8, alpha=0.6, label=f"Eq. 1, K = {k}")
    for i, a in enumerate(_algorithms(p)):
        g = p.loc[p["algorithm"] == a]
        c = _colour(a, i)
        axl.errorbar(g["rho"], g["measured_loss_probability"],
                     yerr=_yerr(g["measured_loss_probability"], g["measured_loss_probability_ci95"]),
                     fmt="o", ms=4, color=c, elinewidth=0.8, capsize=2, alpha=0.8, label=f"{_label(a)} measured")
        axl.plot(g["rho"], g["analytic_loss_probability"], "o", ms=6, mfc="none", color=c, alpha=0.6,
                 label=f"{_label(a)} Eq. 1 (open)")
        axw.errorbar(g["rho"], g["measured_mean_time_in_system_s"] * scale,
                     yerr=_yerr(g["measured_mean_time_in_system_s"] * scale,
                                g["measured_mean_time_in_system_ci95_s"] * scale), fmt="o", ms=4, color=c,
                     elinewidth=0.8, capsize=2, alpha=0.8, label=f"{_label(a)} measured")
        axw.plot(g["rho"], g["analytic_mean_time_in_system_s"] * scale, "o", ms=6, mfc="none", color=c,
                 alpha=0.6, label=f"{_label(a)} Eq. 1 (open)")
    axl.set_xlabel("port utilisation ρ = λ/μ")
    axl.set_ylabel("loss probability (fraction of packets), 95 % CI")
    axl.set_ylim(bottom=-0.02 * max(1e-6, axl.get_ylim()[1]))
    axl.set_title("Loss per port")
    axw.set_xlabel("port utilisation ρ = λ/μ")
    axw.set_ylabel(f"mean time in system W ({unit}), 95 % CI")
    axw.set_title("Time in system per port")
    for ax in (axl, axw):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(0, x_max)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title or "Ports: measured vs Eq. 1 (M/M/1/K) over ρ")
    fig.tight_layout()
    return _save(fig, path)


def plot_link_utilisation(links: pd.DataFrame, path, title: str | None = None) -> Path:
    """Utilisation of every link per algorithm (measured; planned or offered as black ticks).

    Grouped bars per link when there are at most 60 links, else one line per
    algorithm over the link index (Fig. 12 style).  A link's utilisation is
    its busier direction's.

    Parameters
    ----------
    links : pandas.DataFrame
        ``links.csv`` rows (``measured_utilisation`` may be empty: the planned
        ``utilisation`` is then drawn alone).  With ``offered_utilisation``
        (validate mode, traffic scaled to a load) the ticks show it instead
        of the planned value.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or the table is empty.
    """
    _require(links, ("algorithm", "a_bus", "b_bus", "utilisation"), "links")
    if links.empty:
        raise ValueError("links: empty table")
    algs = _algorithms(links)
    keys = links[["a_bus", "b_bus"]].drop_duplicates().reset_index(drop=True)
    labels = [f"{a}-{b}" for a, b in zip(keys["a_bus"], keys["b_bus"])]
    n = len(keys)
    has_measured = "measured_utilisation" in links.columns and links["measured_utilisation"].notna().any()
    # validate mode scales the planned traffic: compare with what was offered
    ref = "offered_utilisation" if ("offered_utilisation" in links.columns
                                    and links["offered_utilisation"].notna().any()) else "utilisation"
    ref_label = "offered (planned x load scale)" if ref == "offered_utilisation" else "planned"
    many = n > 60
    fig, ax = plt.subplots(figsize=(max(8.0, min(0.28 * n * (1 if many else len(algs) / 2.2), 16.0)), 4.8))
    width = 0.8 / max(1, len(algs))
    x = np.arange(n)
    for i, a in enumerate(algs):
        g = keys.merge(links.loc[links["algorithm"] == a], on=["a_bus", "b_bus"], how="left")
        planned = g[ref].to_numpy(float)
        meas = g["measured_utilisation"].to_numpy(float) if has_measured else planned
        c = _colour(a, i)
        if many:
            ax.plot(x, meas, "-", color=c, lw=1, marker=".", ms=3,
                    label=f"{_label(a)} {'measured' if has_measured else 'planned'}")
            if has_measured:
                ax.plot(x, planned, ":", color=c, lw=0.8, alpha=0.8, label=f"{_label(a)} {ref_label}")
        else:
            xs = x - 0.4 + width * (i + 0.5)
            ax.bar(xs, meas, width=width, color=c, label=f"{_label(a)} {'measured' if has_measured else 'planned'}")
            if has_measured:
                ax.plot(xs, planned, "_", color="k", ms=max(3.0, 40 * width), mew=1.2,
                        label=ref_label if i == 0 else None)
    if many:
        step = max(1, n // 40)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(labels[::step], rotation=90, fontsize=6)
        ax.set_xlabel(f"link (a-b bus), every {step}{'th' if step > 1 else ''} labelled")
    else:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=90 if n > 12 else 0, fontsize=7 if n > 12 else 9)
        ax.set_xlabel("link (a-b bus)")
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylabel("utilisation (fraction of link bandwidth)")
    ax.set_ylim(0, max(0.05, float(np.nanmax(links[[ref] + (
        ["measured_utilisation"] if has_measured else [])].to_numpy(float))) * 1.15))
    ax.set_title(title or "Link utilisation per link and algorithm")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(4, 2 * len(algs)), loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def plot_generation_time(times: pd.DataFrame, path, title: str | None = None) -> Path:
    """Generation time of one round per algorithm (bars, 95 % CI where known).

    Parameters
    ----------
    times : pandas.DataFrame
        ``algorithm, generation_time_s`` and optionally ``generation_time_ci95_s``.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or there is no time.
    """
    _require(times, ("algorithm", "generation_time_s"), "generation times")
    t = times.dropna(subset=["generation_time_s"])
    if t.empty:
        raise ValueError("generation times: none given")
    algs = _algorithms(t)
    t = t.set_index("algorithm").loc[algs]
    scale, unit = _time_unit(t["generation_time_s"])
    ci = t["generation_time_ci95_s"].fillna(0).to_numpy(float) * scale if "generation_time_ci95_s" in t else None
    if ci is not None and not (ci > 0).any():
        ci = None
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    vals = t["generation_time_s"].to_numpy(float) * scale
    bars = ax.bar([_label(a) for a in algs], vals, yerr=ci, capsize=4,
                  color=[_colour(a, i) for i, a in enumerate(algs)])
    for b, v in zip(bars, vals):
        ax.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=9,
                    xytext=(0, 3), textcoords="offset points")
    ax.set_ylabel(f"generation time ({unit})")
    ax.set_xlabel("routing algorithm")
    ax.set_ylim(0, float(np.max(vals + (ci if ci is not None else 0))) * 1.18 or 1.0)
    ax.set_title(title or "Block generation time per algorithm")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_generation_time_by_grid(times: pd.DataFrame, path, title: str | None = None) -> Path:
    """Generation time per grid and algorithm (grouped bars, Fig. 11 style).

    Parameters
    ----------
    times : pandas.DataFrame
        ``grid, algorithm, generation_time_s`` (optional
        ``generation_time_ci95_s``); grids are drawn in their row order.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or there is no time.
    """
    _require(times, ("grid", "algorithm", "generation_time_s"), "generation times")
    t = times.dropna(subset=["generation_time_s"])
    if t.empty:
        raise ValueError("generation times: none given")
    grids = list(dict.fromkeys(t["grid"].astype(str)))
    algs = _algorithms(t)
    scale, unit = _time_unit(t["generation_time_s"])
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(grids) + 2), 4.6))
    width = 0.8 / len(algs)
    x = np.arange(len(grids))
    for i, a in enumerate(algs):
        g = t.loc[t["algorithm"] == a].set_index(t.loc[t["algorithm"] == a, "grid"].astype(str))
        vals = np.array([g["generation_time_s"].get(k, np.nan) for k in grids], float) * scale
        ci = None
        if "generation_time_ci95_s" in g:
            ci = np.array([g["generation_time_ci95_s"].get(k, np.nan) for k in grids], float) * scale
            ci = np.nan_to_num(ci)
            if not (ci > 0).any():
                ci = None
        ax.bar(x - 0.4 + width * (i + 0.5), vals, width=width, yerr=ci, capsize=3, color=_colour(a, i),
               label=_label(a))
    vals = t["generation_time_s"].to_numpy(float)
    if vals.min() > 0 and vals.max() / vals.min() > 30:
        ax.set_yscale("log")  # grids of very different size
    ax.set_xticks(x)
    ax.set_xticklabels(grids)
    ax.set_xlabel("grid")
    ax.set_ylabel(f"generation time ({unit})")
    ax.set_title(title or "Block generation time across grids")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_load_balance_table(table: pd.DataFrame, path, title: str | None = None) -> Path:
    """Table 3 analogue: Load_B per grid and algorithm, ours beside the paper's.

    Left: this package's Load_B (Mbit/s); middle: the paper's (units not
    given); right: QT-DR's reduction against each baseline, ours and the
    paper's, in percent.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`cppsns3.report.paper.table3`.
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing.
    """
    algs = ("qos-r", "ra-dbmm", "qtdr")
    ours = [f"{a.replace('-', '_')}_load_balance_mbps" for a in algs]
    paper = [f"paper_{a.replace('-', '_')}_load_balance" for a in algs]
    red = ("qtdr_vs_qos_r_reduction_ratio", "paper_qtdr_vs_qos_r_reduction_ratio",
           "qtdr_vs_ra_dbmm_reduction_ratio", "paper_qtdr_vs_ra_dbmm_reduction_ratio")
    _require(table, ("grid",) + tuple(ours) + tuple(paper) + red, "table 3")
    grids = table["grid"].astype(str).tolist()
    x = np.arange(len(grids))
    width = 0.8 / 3
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, cols, ylabel, sub in ((axes[0], ours, "Load_B, Eq. 3 (Mbit/s)", "this package (planner)"),
                                  (axes[1], paper, "Load_B (paper; units not given)", "paper, Table 3")):
        for i, (a, c) in enumerate(zip(algs, cols)):
            ax.bar(x - 0.4 + width * (i + 0.5), table[c].to_numpy(float), width=width, color=_colour(a),
                   label=_label(a))
        ax.set_xticks(x)
        ax.set_xticklabels(grids)
        ax.set_xlabel("grid")
        ax.set_ylabel(ylabel)
        ax.set_title(sub)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[2]
    w2 = 0.8 / 4
    specs = (("qtdr_vs_qos_r_reduction_ratio", "vs QoS-R, ours", "tab:orange", None),
             ("paper_qtdr_vs_qos_r_reduction_ratio", "vs QoS-R, paper", "tab:orange", "//"),
             ("qtdr_vs_ra_dbmm_reduction_ratio", "vs RA-DBMM, ours", "tab:green", None),
             ("paper_qtdr_vs_ra_dbmm_reduction_ratio", "vs RA-DBMM, paper", "tab:green", "//"))
    for i, (c, lab, col, hatch) in enumerate(specs):
        ax.bar(x - 0.4 + w2 * (i + 0.5), 100 * table[c].to_numpy(float), width=w2, color=col if not hatch else "white",
               edgecolor=col, hatch=hatch, label=lab)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(grids)
    ax.set_xlabel("grid")
    ax.set_ylabel("QT-DR Load_B reduction (%)")
    ax.set_title("QT-DR reduction of Load_B (> 0: QT-DR better)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(title or "Table 3 analogue: load balance Load_B per grid and algorithm")
    fig.tight_layout()
    return _save(fig, path)


def plot_delay_distribution(hist: pd.DataFrame, path, title: str | None = None) -> Path:
    """CDF of one-way packet delay per algorithm from FlowMonitor delay histograms.

    Parameters
    ----------
    hist : pandas.DataFrame
        ``algorithm, bin_start_s, bin_width_s, count`` (all flows' bins; equal
        bins are summed).
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If a column is missing or there are no counts.
    """
    _require(hist, ("algorithm", "bin_start_s", "bin_width_s", "count"), "delay histogram")
    if hist.empty or hist["count"].sum() == 0:
        raise ValueError("delay histogram: no packets")
    scale, unit = _time_unit(hist["bin_start_s"] + hist["bin_width_s"])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, a in enumerate(_algorithms(hist)):
        g = hist.loc[hist["algorithm"] == a].groupby(["bin_start_s", "bin_width_s"], as_index=False)["count"].sum()
        g = g.sort_values("bin_start_s")
        cum = g["count"].cumsum().to_numpy(float)
        if cum[-1] == 0:
            continue
        # each bin rises linearly from its start to its end; empty gaps stay flat
        starts = g["bin_start_s"].to_numpy(float) * scale
        ends = (g["bin_start_s"] + g["bin_width_s"]).to_numpy(float) * scale
        before = np.concatenate([[0.0], cum[:-1]]) / cum[-1]
        xs = np.column_stack([starts, ends]).ravel()
        ys = np.column_stack([before, cum / cum[-1]]).ravel()
        ax.plot(xs, ys, "-", color=_colour(a, i), label=f"{_label(a)} ({int(cum[-1])} packets)")
    ax.set_xlabel(f"one-way packet delay ({unit}), FlowMonitor bins")
    ax.set_ylabel("fraction of received packets (CDF)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "Packet delay distribution (FlowMonitor)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _save(fig, path)

