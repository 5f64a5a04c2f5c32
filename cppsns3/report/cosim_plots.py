"""The day of a co-simulation (``cppsns3 cosim``): one figure over the steps.

Four panels sharing the time axis (hours from the start): generation time
per round, nodes appended, data-block deliveries late or missing, and the
state-estimation error at the generator; fault instants (``line_trip`` at and
until) are vertical lines on every panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plot_cosim_day", "report_cosim"]


def plot_cosim_day(steps: pd.DataFrame, summary: dict, path) -> Path:
    """Draw the day of a co-simulation into ``path`` (PNG); return the path.

    Parameters
    ----------
    steps : pandas.DataFrame
        ``steps.csv`` of the run.
    summary : dict
        Its ``summary.json`` (``fault_instants_s``, ``grid``, ``algorithm``, ``nodes_total``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h = steps.time_s.to_numpy(dtype=float) / 3600.0
    fig = Figure(figsize=(9, 9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True)
    gt = pd.to_numeric(steps.generation_time_s, errors="coerce").to_numpy(dtype=float) * 1e3
    axes[0].plot(h, gt, ".-", lw=1)
    axes[0].set_ylabel("generation\ntime (ms)")
    axes[1].step(h, pd.to_numeric(steps.nodes_appended, errors="coerce"), where="mid")
    axes[1].axhline(summary.get("nodes_total", np.nan), color="grey", lw=0.8, ls=":")
    axes[1].set_ylabel("nodes\nappended")
    axes[2].bar(h, pd.to_numeric(steps.blocks_late, errors="coerce").fillna(0),
                width=(h[1] - h[0]) * 0.8 if len(h) > 1 else 0.2, color="tab:orange")
    axes[2].set_ylabel("deliveries late\nor missing")
    err = pd.to_numeric(steps.se_max_vm_error_pu, errors="coerce").to_numpy(dtype=float)
    axes[3].plot(h, err, ".-", lw=1, color="tab:green", label="max |V_est - V_true|")
    bad = ~np.isfinite(err)
    if bad.any():
        top = np.nanmax(err) if np.isfinite(err).any() else 1.0
        axes[3].plot(h[bad], np.full(bad.sum(), top), "x", color="tab:red", label="estimation failed")
    axes[3].set_ylabel("SE error\n(p.u.)")
    axes[3].legend(loc="upper right", fontsize=8)
    axes[3].set_xlabel("hours from the start")
    for t in summary.get("fault_instants_s", []):
        for ax in axes:
            ax.axvline(t / 3600.0, color="tab:red", lw=1, ls="--")
    axes[0].set_title(f"{summary.get('grid')} co-simulation, {summary.get('algorithm')}, "
                      f"{len(steps)} steps of {summary.get('step_s', 0):g} s (dashed: faults)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def report_cosim(run_dir, out_dir=None) -> list:
    """The figures of a ``cppsns3 cosim`` directory (``steps.csv`` and ``summary.json``)."""
    import json

    d = Path(run_dir)
    steps = pd.read_csv(d / "steps.csv")
    summary = json.loads((d / "summary.json").read_text())
    out = Path(out_dir) if out_dir is not None else d / "plots"
    return [plot_cosim_day(steps, summary, out / "cosim_day.png")]
