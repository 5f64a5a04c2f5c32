#!/usr/bin/env python
"""Load_B of every router beside the relaxation's lower bound (issue 17 item 3).

1. The five shipped Table 2 scenarios (scenarios/ieee{14,30,39,57,118}.toml).
2. Seeded random terminal sets of other grids, drawn by
   ``scaling_scenario`` of scripts/bench_plan.py (terminals at
   max(3, round(frac x buses)) buses, volumes 1..6 MB, uniform 40 Gbit/s
   links, a 100 s sampling period, hop bound auto).

Per case: Load_B (Mbit/s) of qtdr, qos-r, ra-dbmm and qtdr-ls, the certified
lower bound and the path set it holds over, qtdr-ls's excess over it, which
router is lowest, and times: the whole plan (all four routers and the bound),
the bound alone, qtdr-ls alone (its search, after the bound) and the paper's
three together.  Each case runs once in this process.

    python scripts/routing_bound_table.py [--cases ieee14 ieee118 case24_ieee_rts:1 ...] [--frac 0.05] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ["ieee14", "ieee30", "ieee39", "ieee57", "ieee118", "case24_ieee_rts:1", "case24_ieee_rts:2",
                 "case89pegase:1", "case89pegase:2", "case300:1"]


def scenario_of(case: str, frac: float):
    """A shipped scenario (``ieee118``) or a seeded random terminal set (``case300:1``)."""
    from cppsns3.model.scenario import load_scenario

    if ":" not in case:
        return load_scenario(ROOT / "scenarios" / f"{case}.toml")
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_plan import scaling_scenario  # the seeded rule of the planning benchmark

    grid, seed = case.split(":")
    return scaling_scenario(grid, int(seed), frac)


def row(case: str, frac: float) -> dict:
    from cppsns3.model.routing import plan

    sc = scenario_of(case, frac)
    t = time.perf_counter()
    pl = plan(sc, "all")
    total = time.perf_counter() - t
    t = time.perf_counter()
    plan(sc, ["qtdr", "qos-r", "ra-dbmm"], lower_bound=False)
    paper3 = time.perf_counter() - t
    lb = {a: ap.load_balance for a, ap in pl.algorithms.items()}
    bound = pl.load_balance_lower_bound
    return {
        "case": case, "buses": sc.network.n_nodes, "links": sc.network.n_links, "terminals": len(sc.terminals),
        "hop_bound": pl.hop_bound,
        **{f"{a.replace('-', '_')}_load_balance_mbps": v for a, v in lb.items()},
        "load_balance_lower_bound": bound, "lower_bound_candidates": pl.lower_bound_candidates,
        "qtdr_ls_above_bound_ratio": lb["qtdr-ls"] / bound - 1.0,
        "lowest": min(lb, key=lb.get), "qtdr_ls_is_lowest": lb["qtdr-ls"] <= min(lb.values()),
        "plan_all_s": total, "lower_bound_s": pl.lower_bound_time_s,
        "qtdr_ls_search_s": pl.algorithms["qtdr-ls"].plan_time_s - pl.lower_bound_time_s,
        "paper_three_without_bound_s": paper3,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=DEFAULT_CASES)
    ap.add_argument("--frac", type=float, default=0.05, help="share of buses with a terminal (random sets)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    rows = []
    for c in args.cases:
        rows.append(row(c, args.frac))
        print(f"planned {c}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"frac": args.frac, "rows": rows}))
        return 0
    print(f"{'case':<18} {'n':>4} {'T':>3} {'QT-DR':>8} {'QoS-R':>8} {'RA-DBMM':>8} {'QT-DR-LS':>9} {'bound':>8} "
          f"{'excess':>7} {'lowest':>8} {'all_s':>6} {'bound_s':>7} {'ls_s':>5} {'paper3_s':>8}")
    for r in rows:
        print(f"{r['case']:<18} {r['buses']:>4} {r['terminals']:>3} {r['qtdr_load_balance_mbps']:>8.1f} "
              f"{r['qos_r_load_balance_mbps']:>8.1f} {r['ra_dbmm_load_balance_mbps']:>8.1f} "
              f"{r['qtdr_ls_load_balance_mbps']:>9.1f} {r['load_balance_lower_bound']:>8.1f} "
              f"{r['qtdr_ls_above_bound_ratio']:>7.1%} {r['lowest']:>8} {r['plan_all_s']:>6.2f} "
              f"{r['lower_bound_s']:>7.2f} {r['qtdr_ls_search_s']:>5.2f} {r['paper_three_without_bound_s']:>8.2f}")
    for r in rows:
        print(f"{r['case']}: bound over {r['lower_bound_candidates']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
