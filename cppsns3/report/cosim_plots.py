"""The day of a co-simulation (``cppsns3 cosim``): one figure over the steps.

Panels sharing the time axis (hours from the start): generation time per
round, nodes appended, data-block deliveries late or missing, the network's
side of the faults (links down, routes still over a down link; only when a
link or line was out in some step), and the state-estimation error at the
generator, with the steps whose estimation failed marked along the bottom
(the reason of the first one written in the panel when none succeeded).
Fault instants (``line_trip`` at and until) are dashed vertical lines on
every panel, the steps with a tripped line are shaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plot_cosim_day", "report_cosim"]


def _text(col) -> list:
    """A steps.csv text column (read back by pandas as NaN / float / str) as strings."""
    out = []
    for v in col:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append("")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _spans(mask) -> list:
    """(first, last) index of each run of True in ``mask``."""
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if not m and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


def plot_cosim_day(steps: pd.DataFrame, summary: dict, path) -> Path:
    """Draw the day of a co-simulation into ``path`` (PNG); return the path.

    Parameters
    ----------
    steps : pandas.DataFrame
        ``steps.csv`` of the run.
    summary : dict
        Its ``summary.json`` (``fault_instants_s``, ``grid``, ``algorithm``,
        ``nodes_total``, ``step_s``, ``se_failures``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    num = lambda c: pd.to_numeric(steps[c], errors="coerce").to_numpy(dtype=float)  # noqa: E731
    h = steps.time_s.to_numpy(dtype=float) / 3600.0
    step_h = float(summary.get("step_s") or ((h[1] - h[0]) * 3600.0 if len(h) > 1 else 900.0)) / 3600.0
    down_links = _text(steps.down_links)
    tripped = _text(steps.tripped_lines)
    faulted = any(down_links) or any(tripped)
    n_panels = 5 if faulted else 4
    fig = Figure(figsize=(10, 2.2 * n_panels + 0.6))
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(n_panels, 1, sharex=True))
    ax_gt, ax_nodes, ax_late = axes[:3]
    ax_net = axes[3] if faulted else None
    ax_se = axes[-1]

    gt = num("generation_time_s") * 1e3
    ax_gt.plot(h, gt, ".-", lw=1)
    ax_gt.set_ylabel("generation\ntime (ms)")
    if np.isfinite(gt).any():
        lo, hi = np.nanmin(gt), np.nanmax(gt)
        pad = max(0.05 * (hi - lo), 0.02 * hi, 0.01)
        ax_gt.set_ylim(max(0.0, lo - pad), hi + pad)

    total = summary.get("nodes_total", np.nan)
    appended = num("nodes_appended")
    ax_nodes.step(h, appended, where="mid")
    ax_nodes.axhline(total, color="grey", lw=0.8, ls=":", label=f"all {total} nodes")
    ax_nodes.set_ylabel("nodes\nappended")
    ax_nodes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if np.isfinite(total):
        low = np.nanmin(appended) if np.isfinite(appended).any() else 0.0
        ax_nodes.set_ylim(max(-0.5, low - 1.5), total + 1.5)
    ax_nodes.legend(loc="lower right", fontsize=8)

    width = step_h * 0.8
    late = np.nan_to_num(num("blocks_late"))
    ax_late.bar(h, late, width=width, color="tab:orange")
    ax_late.set_ylabel("deliveries late\nor missing")
    ax_late.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_late.set_ylim(0, max(1.0, late.max() * 1.15) if late.size else 1.0)
    if late.size and late.max() == 0:
        ax_late.text(0.5, 0.5, f"none (all in time, tolerance {summary.get('tolerance_s', 1.0):g} s)",
                     transform=ax_late.transAxes, ha="center", va="center", color="grey", fontsize=9)

    if ax_net is not None:
        n_down = np.array([len(s.split()) for s in down_links], dtype=float)
        on_down = np.nan_to_num(num("routes_on_down_links"))
        ax_net.step(h, n_down, where="mid", color="tab:red", label="links down in the round")
        ax_net.bar(h, on_down, width=width, color="tab:purple", alpha=0.7, label="routes still over a down link")
        ax_net.set_ylabel("links down /\nroutes on them")
        ax_net.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_net.set_ylim(0, max(1.0, n_down.max(), on_down.max()) * 1.3)
        for a, b in _spans([bool(s) for s in down_links]):
            names = sorted({x for s in down_links[a:b + 1] for x in s.split()})
            ax_net.text((h[a] + h[b] + step_h) / 2, max(1.0, n_down[a:b + 1].max()) * 1.05,
                        "down: " + " ".join(names), ha="center", va="bottom", fontsize=8, color="tab:red")
        ax_net.legend(loc="upper left", fontsize=8)

    err = num("se_max_vm_error_pu")
    mean_err = num("se_mean_vm_error_pu")
    ok = np.isfinite(err)
    ax_se.plot(h, err, ".-", lw=1, color="tab:green", label="max |V_est - V_true|" if ok.any() else None)
    if np.isfinite(mean_err).any():
        ax_se.plot(h, mean_err, "-", lw=0.8, color="tab:olive", alpha=0.8, label="mean |V_est - V_true|")
    if ok.any():
        ax_se.set_ylim(0, np.nanmax(err) * 1.2)
    else:
        ax_se.set_ylim(0, 1)
        ax_se.set_yticks([])
    bad = ~ok
    failures = summary.get("se_failures", {}) or {}
    if bad.any():
        # Along the bottom of the panel (axes coordinates): a failed step has no error value.
        ax_se.plot(h[bad], np.full(bad.sum(), 0.04), "x", color="tab:red", transform=ax_se.get_xaxis_transform(),
                   clip_on=False, label=f"estimation failed ({int(bad.sum())} of {len(h)} steps)")
    if not ok.any() and len(h):
        first = failures.get(str(int(steps.step.iloc[0])), next(iter(failures.values()), ""))
        ax_se.text(0.5, 0.55, "state estimation failed in every step" + (f":\n{first}" if first else ""),
                   transform=ax_se.transAxes, ha="center", va="center", fontsize=9, color="tab:red")
    ax_se.set_ylabel("SE error\n(p.u.)")
    ax_se.legend(loc="upper right", fontsize=8)
    ax_se.set_xlabel("hours from the start")

    instants = summary.get("fault_instants_s", []) or []
    spans = _spans([bool(s) for s in tripped])
    for i, ax in enumerate(axes):
        for t in instants:
            ax.axvline(t / 3600.0, color="tab:red", lw=1, ls="--")
        for a, b in spans:
            ax.axvspan(h[a], h[b] + step_h, color="tab:red", alpha=0.08, lw=0)
        ax.grid(True, alpha=0.3)
    if len(h):
        ax_se.set_xlim(h[0] - step_h, h[-1] + 2 * step_h)
        ax_se.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 3, 6, 10]))
    note = ""
    if instants or spans:
        lines = sorted({x for s in tripped for x in s.split()})
        note = "\ndashed: fault instants" + (f"; shaded: line {', '.join(lines)} tripped" if lines else "")
    ax_gt.set_title(f"{summary.get('grid')} co-simulation, {summary.get('algorithm')}, "
                    f"{len(steps)} steps of {summary.get('step_s', 0):g} s, generator bus "
                    f"{summary.get('generator_bus')}{note}", fontsize=10)
    fig.tight_layout()
    from cppsns3.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    return path


def report_cosim(run_dir, out_dir=None) -> list:
    """The figures of a ``cppsns3 cosim`` directory (``steps.csv`` and ``summary.json``)."""
    import json

    d = Path(run_dir)
    steps = pd.read_csv(d / "steps.csv")
    summary = json.loads((d / "summary.json").read_text())
    out = Path(out_dir) if out_dir is not None else d / "plots"
    return [plot_cosim_day(steps, summary, out / "cosim_day.png")]
