#!/usr/bin/env python
"""Generation time of packet-level rounds per router (issue 17 item 4).

For each grid: ``cppsns3.run(scenario, mode="round", algorithm="all",
replications=N, data_scale=X)`` (the paper's generation process over ns-3,
every router on the same traffic, blocks and seeds), then per router the
planned Load_B beside the measured generation time (mean and 95 % CI
half-width over the replications) and the phase-1 completion time where the
summary has it.  The table goes to stdout (``--json``: one object), the run
directories under ``--out``.

    python scripts/generation_time_routers.py --out results/gen_routers [--grids ieee14 ieee30 ...]
        [--replications 3] [--data-scale 0.1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--grids", nargs="*", default=["ieee14", "ieee30", "ieee39", "ieee57", "ieee118"])
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--data-scale", type=float, default=0.1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import cppsns3

    rows = []
    for g in args.grids:
        sc = cppsns3.Scenario.load(ROOT / "scenarios" / f"{g}.toml")
        t = time.perf_counter()
        s = cppsns3.run(sc, Path(args.out) / g, mode="round", algorithm="all",
                        replications=args.replications, data_scale=args.data_scale)
        wall = time.perf_counter() - t
        for a, e in s["algorithms"].items():
            rows.append({"grid": g, "algorithm": a, "load_balance_mbps": e["load_balance"],
                         "load_balance_lower_bound": s.get("load_balance_lower_bound"),
                         "generation_time_s": e.get("generation_time_s"),
                         "generation_time_ci95_s": e.get("generation_time_ci95_s"),
                         "nodes_appended": e.get("nodes_appended"), "nodes_total": e.get("nodes_total"),
                         "run_wall_s": wall})
        print(f"ran {g} in {wall:.1f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"replications": args.replications, "data_scale": args.data_scale, "rows": rows}))
        return 0
    print(f"{'grid':<8} {'algorithm':<8} {'Load_B_mbps':>11} {'gen_time_s':>11} {'ci95_s':>9} {'appended':>9}")
    for r in rows:
        ci = r["generation_time_ci95_s"]
        print(f"{r['grid']:<8} {r['algorithm']:<8} {r['load_balance_mbps']:>11.1f} {r['generation_time_s']:>11.4f} "
              f"{(ci if ci is not None else float('nan')):>9.4f} {r['nodes_appended']:>4}/{r['nodes_total']:<4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
