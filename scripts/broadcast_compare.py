#!/usr/bin/env python
"""Relay broadcast against the paper's unicasts, in packet-level rounds (issue 17 item 5).

For each grid and each ``broadcast`` mode: ``cppsns3.run(scenario,
mode="round", algorithm=ALGO, data_scale=X, replications=N, broadcast=MODE)``
(same blocks, seeds and generator in both modes), then the generation time
(mean and 95 % CI half-width), the bytes every port transmitted
(``bytes_on_wire``), the busiest link's utilisation over the round
(``max_link_utilisation``, both directions' busy fractions added) and the
TCP segments the queues dropped.  One CSV row per (grid, mode) is written as
soon as it is measured (``--out``/broadcast.csv), so a run can be resumed;
the table goes to stdout.

    python scripts/broadcast_compare.py --out results/broadcast [--grids ieee14 ieee30 ...]
        [--algorithm qtdr] [--replications 3] [--data-scale 0.1]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["grid", "broadcast", "algorithm", "data_scale", "replications", "generation_time_s",
           "generation_time_ci95_s", "bytes_on_wire", "max_link_utilisation", "queue_drops", "nodes_appended",
           "nodes_total", "wall_s"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--grids", nargs="*", default=["ieee14", "ieee30", "ieee39", "ieee57", "ieee118"])
    ap.add_argument("--algorithm", default="qtdr")
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--data-scale", type=float, default=0.1)
    args = ap.parse_args(argv)
    import cppsns3
    from cppsns3.model.names import BROADCAST_MODES

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "broadcast.csv"
    done = {}
    if table.exists():
        with table.open() as fh:
            done = {(r["grid"], r["broadcast"]): r for r in csv.DictReader(fh)}
    rows = []
    for g in args.grids:
        sc = cppsns3.Scenario.load(ROOT / "scenarios" / f"{g}.toml")
        for mode in BROADCAST_MODES:
            if (g, mode) in done:
                rows.append(done[(g, mode)])
                continue
            t = time.perf_counter()
            s = cppsns3.run(sc, out / f"{g}-{mode}", mode="round", algorithm=args.algorithm,
                            data_scale=args.data_scale, replications=args.replications, broadcast=mode)
            e = s["algorithms"][args.algorithm]
            row = {"grid": g, "broadcast": mode, "algorithm": args.algorithm, "data_scale": args.data_scale,
                   "replications": args.replications, "generation_time_s": e["generation_time_s"],
                   "generation_time_ci95_s": e["generation_time_ci95_s"],
                   "bytes_on_wire": e["packets"]["bytes_on_wire"],
                   "max_link_utilisation": e["max_link_utilisation"], "queue_drops": e["packets"]["queue_drops"],
                   "nodes_appended": e["nodes_appended"], "nodes_total": e["nodes_total"],
                   "wall_s": round(time.perf_counter() - t, 1)}
            rows.append(row)
            new = not table.exists()
            with table.open("a", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=COLUMNS)
                if new:
                    w.writeheader()
                w.writerow(row)
            print(f"{g} {mode}: {row['generation_time_s']} s, {row['bytes_on_wire']} B", file=sys.stderr)
    print("| grid | broadcast | generation time (s) | bytes on the wire (MB) | busiest link utilisation | "
          "queue drops |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        gt, hw = float(r["generation_time_s"]), r["generation_time_ci95_s"]
        hw = f" ± {float(hw):.4f}" if hw not in (None, "", "nan") and float(hw) == float(hw) else ""
        print(f"| {r['grid']} | {r['broadcast']} | {gt:.4f}{hw} | {int(r['bytes_on_wire']) / 1e6:.1f} | "
              f"{float(r['max_link_utilisation']):.3f} | {r['queue_drops']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
