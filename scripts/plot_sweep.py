#!/usr/bin/env python
"""Plot a sweep: measured figures with 95 % CI bars against the analytic lines.

Usage::

    python scripts/plot_sweep.py DIR [--x rho] [--group queue_capacity] [--out DIR/sweep.png]

Reads ``DIR/aggregate.csv`` (written by ``cppsns3 sweep``).  One panel per
figure ``X`` that has both ``measured_X`` and ``analytic_X`` columns (for the
single-link sweep: loss probability and mean time in system W); in each
panel, one colour per value of ``--group`` (K): the analytic value as a line,
the measured mean as markers with the 95 % CI half-width as error bars.
Probabilities use a log axis.  Prints the PNG path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cppsns3.sweep.table import ci_name  # noqa: E402

_LABELS = {
    "loss_probability": ("loss probability", 1.0),
    "mean_time_in_system_s": ("mean time in system W (µs)", 1e6),
    "delay_s": ("end-to-end delay (ms)", 1e3),
    "mean_number_in_system": ("mean number in system L", 1.0),
}


def _dense_mm1k(sub: pd.DataFrame, x: str, group: str | None, name: str, scale: float):
    """Eq. 1 on a fine rho grid for a single-link sweep (rho on x, K per curve); else None."""
    if x != "rho" or group != "queue_capacity" or "service_rate_per_s" not in sub.columns or sub.empty:
        return None
    if sub["service_rate_per_s"].nunique() != 1:
        return None
    from cppsns3.model.queueing import mm1k_loss_probability, mm1k_mean_number, mm1k_mean_time

    mu = float(sub["service_rate_per_s"].iloc[0])
    k = int(sub["queue_capacity"].iloc[0])
    rho = np.linspace(float(sub[x].min()), float(sub[x].max()), 200)
    if name == "loss_probability":
        y = mm1k_loss_probability(rho, k)
    elif name == "mean_time_in_system_s":
        y = np.array([mm1k_mean_time(r * mu, mu, k) for r in rho])
    elif name == "mean_number_in_system":
        y = mm1k_mean_number(rho, k)
    else:
        return None
    return rho, np.asarray(y, dtype=float) * scale


def figure_pairs(frame: pd.DataFrame) -> list[str]:
    """Figures ``X`` with both ``measured_X`` and ``analytic_X`` columns, in column order."""
    return [c[len("measured_"):] for c in frame.columns
            if c.startswith("measured_") and "_ci95" not in c and f"analytic_{c[len('measured_'):]}" in frame.columns]


def plot(agg: pd.DataFrame, x: str, group: str | None, out: Path, title: str) -> Path:
    """Draw every figure pair of ``agg`` against ``x``, one colour per ``group`` value."""
    pairs = [p for p in figure_pairs(agg) if p != "mean_number_in_system"] or figure_pairs(agg)
    if not pairs:
        raise SystemExit("error: aggregate.csv has no measured_X/analytic_X column pair to plot")
    if x not in agg.columns:
        raise SystemExit(f"error: --x: no column {x!r} in aggregate.csv")
    if group is not None and group not in agg.columns:
        raise SystemExit(f"error: --group: no column {group!r} in aggregate.csv")
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.4 * len(pairs), 5.0), squeeze=False)
    groups = [None] if group is None else sorted(agg[group].unique())
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, name in zip(axes[0], pairs):
        label, scale = _LABELS.get(name, (name, 1.0))
        positive, zeros = [], []
        for i, g in enumerate(groups):
            sub = agg if g is None else agg[agg[group] == g]
            sub = sub.sort_values(x)
            c = colours[i % len(colours)]
            tag = "" if g is None else f"{'K' if group == 'queue_capacity' else group}={g}"
            xs = sub[x].to_numpy(float)
            an = sub[f"analytic_{name}"].to_numpy(float) * scale
            me = sub[f"measured_{name}"].to_numpy(float) * scale
            hw_col = ci_name(f"measured_{name}")
            hw = sub[hw_col].to_numpy(float) * scale if hw_col in sub.columns else np.zeros_like(me)
            hw = np.where(np.isfinite(hw), hw, 0.0)
            dense = _dense_mm1k(sub, x, group, name, scale)
            if dense is not None:  # exact M/M/1/K curve between the sweep's points
                ax.plot(dense[0], dense[1], "-", color=c, lw=1.4, label=f"analytic {tag}".strip())
            else:
                ax.plot(xs, an, "-", color=c, lw=1.4, label=f"analytic {tag}".strip())
            log = "probability" in name
            shown = me > 0 if log else np.isfinite(me)
            # On a log axis, a bar reaching zero or below is drawn to the bottom edge.
            lower = np.minimum(hw, me * 0.999) if log else hw
            ax.errorbar(xs[shown], me[shown], yerr=[lower[shown], hw[shown]], fmt="o", ms=4, color=c,
                        capsize=3, lw=1, label=f"measured {tag} (95 % CI)".strip())
            zeros.append((xs[~shown & np.isfinite(me)], hw[~shown & np.isfinite(me)], c))
            positive += [v for v in me[shown] if v > 0]
        if "probability" in name:
            ax.set_yscale("log")
            lo = max(min(positive) / 5, 1e-7) if positive else 1e-6
            ax.set_ylim(lo, 1.0)
            for zx, zhw, c in zeros:  # no loss seen: a triangle at the bottom, bar to the upper bound
                if zx.size:
                    ax.plot(zx, np.full(zx.size, lo * 1.15), "v", color=c, ms=6, mfc="none")
                    ax.vlines(zx, lo * 1.15, np.maximum(zhw, lo * 1.15), color=c, lw=1, linestyles=":")
            if any(z[0].size for z in zeros):
                ax.plot([], [], "v", color="grey", mfc="none", label="no loss seen (dotted: CI upper bound)")
        ax.set_xlabel(x)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3, which="both")
    # One legend for all panels, under them (the curves fill the panels).
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    rows = (len(handles) + 3) // 4
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="Sweep output folder (holds aggregate.csv).")
    ap.add_argument("--x", default="rho", help="Column on the x axis (default rho).")
    ap.add_argument("--group", default="queue_capacity", help="Column giving one curve per value ('' for none).")
    ap.add_argument("--out", default=None, help="PNG path (default DIR/sweep.png).")
    args = ap.parse_args(argv)
    d = Path(args.dir)
    try:
        agg = pd.read_csv(d / "aggregate.csv")
    except FileNotFoundError:
        print(f"error: dir: no aggregate.csv in {str(d)!r}", file=sys.stderr)
        return 2
    if agg.empty:
        print(f"error: dir: {str(d / 'aggregate.csv')!r} has no rows", file=sys.stderr)
        return 2
    reps = agg["replications_ok"]
    title = (f"{d.name}: {len(agg)} points, {int(reps.min())}-{int(reps.max())} ok replication(s) each; "
             "lines analytic, markers measured ± 95 % CI")
    out = plot(agg, args.x, args.group or None, Path(args.out) if args.out else d / "sweep.png", title)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
