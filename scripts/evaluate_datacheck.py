#!/usr/bin/env python3
"""Evaluate the feature-value data check (issue 10): table, ROC-like plot, timing.

Builds the 15-minute power-flow series of a grid, trains the check
(:func:`cppsns3.datacheck.train_model`) on all days but the last, injects
bias, scaling, replay and noise into a fraction of the held-out day's blocks
and checks the day as a node would, at several tolerances, with and without
the per-series calibrated bounds.  Writes into ``--out`` (default
``results/datacheck``):

- ``datacheck.csv``: one row per mode, attack, magnitude, replay age and
  tolerance: ``detection_rate``, ``false_alarm_rate``, ``blocks``,
  ``attacked_blocks``;
- ``datacheck_roc.png``: detection rate against false-alarm rate over the
  tolerances (left) and detection rate against tolerance (right);
- ``datacheck_summary.json``: factors, clean false-alarm rates and the
  time per block of the feature check and of signature + Merkle
  verification of the same blocks (``cppsns3.chain``).

Usage::

    python scripts/evaluate_datacheck.py --grid case14 --days 14 --seed 1
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

TOLERANCES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15)
ATTACKS = (
    ("bias", 0.02, 1), ("bias", 0.05, 1), ("bias", 0.10, 1),
    ("scale", 0.05, 1), ("scale", 0.10, 1),
    ("replay", 1.0, 1), ("replay", 1.0, 6),
    ("noise", 0.05, 1), ("noise", 0.10, 1),
)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", default="case14", help="pandapower case (default case14)")
    ap.add_argument("--days", type=int, default=14, help="days of series; the last is held out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.25, help="fraction of blocks attacked")
    ap.add_argument("--out", default="results/datacheck", help="output folder")
    args = ap.parse_args(argv)
    if args.days < 3:
        print(f"error: --days: must be >= 3, got {args.days}", file=sys.stderr)
        return 2

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cppsns3.chain.measurements import power_flow_series
    from cppsns3.datacheck import block_mask, inject, train_model
    from cppsns3.datacheck.evaluate import (
        block_rates,
        flag_blocks,
        split_holdout,
        terminal_frame,
        time_feature_check,
        time_signature_merkle,
    )
    from cppsns3.datacheck.forecast import DEFAULT_TOLERANCE

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    _log(f"power flows of {args.grid} over {args.days} days")
    frame = terminal_frame(power_flow_series(args.grid, days=args.days, seed=args.seed))
    train, test = split_holdout(frame, 1)
    rows, summary = [], {"grid": args.grid, "seed": args.seed, "days": args.days,
                         "attack_rate": args.rate, "default_tolerance": DEFAULT_TOLERANCE,
                         "clean": {}}
    models = {}
    for mode, calibrate in (("calibrated", True), ("eq8_only", False)):
        _log(f"training ({mode})")
        model = train_model(train, grid=args.grid, seed=args.seed, calibrate=calibrate, progress=_log)
        models[mode] = model
        summary["factors"] = model.factors()
        summary["clean"][mode] = {}
        for tol in TOLERANCES:
            r = block_rates(flag_blocks(model, test, tol))
            summary["clean"][mode][str(tol)] = r["false_alarm_rate"]
            rows.append({"mode": mode, "attack": "none", "magnitude": 0.0, "replay_days_back": "",
                         "tolerance": tol, "detection_rate": "", "false_alarm_rate": r["false_alarm_rate"],
                         "blocks": r["blocks"], "attacked_blocks": 0})
        for k, (attack, mag, back) in enumerate(ATTACKS):
            _log(f"{mode}: {attack} {mag:g} (replay {back} d)" if attack == "replay" else f"{mode}: {attack} {mag:g}")
            mask = block_mask(test, args.rate, seed=args.seed + 1000 + k)
            bad = inject(test, attack, mag, mask, levels=model.levels, history=frame,
                         replay_days_back=back, seed=args.seed + 2000 + k)
            for tol in TOLERANCES:
                r = block_rates(flag_blocks(model, bad, tol), mask)
                rows.append({"mode": mode, "attack": attack, "magnitude": mag,
                             "replay_days_back": back if attack == "replay" else "",
                             "tolerance": tol, "detection_rate": r["detection_rate"],
                             "false_alarm_rate": r["false_alarm_rate"], "blocks": r["blocks"],
                             "attacked_blocks": r["attacked_blocks"]})
    _log("timing")
    t_feat = time_feature_check(models["calibrated"], test, 300)
    t_sig = time_signature_merkle(test, 300, args.grid)
    n_records = test.shape[1] / len({c.split("/")[0] for c in test.columns})
    summary.update({
        "time_per_block_feature_check_s": t_feat,
        "time_per_block_signature_merkle_s": t_sig,
        "mean_records_per_block": n_records,
        "wall_s": time.perf_counter() - t0,
    })

    csv_path = out / "datacheck.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "datacheck_summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    styles = {"calibrated": "-", "eq8_only": "--"}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (attack, mag, back) in enumerate(ATTACKS):
        label = f"{attack} {mag:g}" + (f" ({back} d old)" if attack == "replay" else "")
        for mode, ls in styles.items():
            sel = [r for r in rows if r["mode"] == mode and r["attack"] == attack
                   and r["magnitude"] == mag and (attack != "replay" or r["replay_days_back"] == back)]
            fa = [r["false_alarm_rate"] for r in sel]
            det = [r["detection_rate"] for r in sel]
            tol = [r["tolerance"] for r in sel]
            kw = dict(color=colors[k % len(colors)], ls=ls, marker="o", ms=3)
            ax1.plot(fa, det, **kw)
            ax2.plot(tol, det, label=label if mode == "calibrated" else None, **kw)
    ax1.set_xscale("symlog", linthresh=1e-3)
    ax1.set_xlabel("false-alarm rate (untouched blocks flagged)")
    ax1.set_ylabel("detection rate (attacked blocks flagged)")
    ax1.set_title("ROC-like: one point per tolerance 0.005-0.15\n"
                  "(colours as on the right; solid: calibrated, dashed: Eq. 8 only)", fontsize=10)
    ax1.set_ylim(-0.02, 1.02)
    ax1.grid(alpha=0.3)
    ax2.set_xscale("log")
    ax2.set_xlabel("tolerance on |Delta| (fraction)")
    ax2.set_ylabel("detection rate")
    ax2.set_title("detection vs tolerance (solid: calibrated, dashed: Eq. 8 only)")
    ax2.axvline(DEFAULT_TOLERANCE, color="grey", lw=0.8, ls=":")
    ax2.set_ylim(-0.02, 1.02)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Feature-value data check (Eq. 5-8) on {args.grid}, held-out day, "
                 f"{args.rate:.0%} of blocks attacked, seed {args.seed}")
    fig.tight_layout()
    png = out / "datacheck_roc.png"
    fig.savefig(png, dpi=120)
    print(csv_path)
    print(png)
    print(out / "datacheck_summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
