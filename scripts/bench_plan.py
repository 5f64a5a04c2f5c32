#!/usr/bin/env python
"""Planning benchmark (issue 4).

1. ``scenarios/ieee118.toml`` with all three algorithms: wall time of
   ``plan()`` (median of --repeats runs; grid loading excluded) and QT-DR's share.
2. Scaling: case300, case1354pegase, case2869pegase with demand terminals at
   about 5 % of the buses (``numpy.random.default_rng(seed).choice`` over the
   sorted bus names, volumes drawn from 1..6 MB like Table 2), uniform
   40 Gbit/s links, a 100 s sampling period (so that the flows of ~140
   terminals to every node fit the links of case2869pegase), hop
   bound auto.  Each case runs in a child process; it reports the plan time per
   algorithm and the peak resident memory of the child (ru_maxrss) before and
   after planning.

    python scripts/bench_plan.py [--repeats 5] [--skip-scaling] [--cases case300 ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[5])
from bench_plan import scaling_scenario
from cppsns3.model.routing import plan
grid, seed, frac, algos = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(",")
import pandapower.networks  # noqa: F401  (imports outside the timed grid loading)
t0 = time.perf_counter()
sc = scaling_scenario(grid, seed, frac)
load_s = time.perf_counter() - t0
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n_t = len(sc.terminals)
res = {"grid": grid, "buses": len(sc.network.nodes), "links": sc.network.n_links, "terminals": n_t,
       "hop_bound": sc.hop_bound, "pairs": n_t * (sc.network.n_nodes - 1), "load_s": load_s,
       "rss_before_plan_mb": rss0 / 1024}
for a in algos:
    t = time.perf_counter()
    pl = plan(sc, a)
    res[a + "_s"] = time.perf_counter() - t
    res[a + "_load_balance_mbps"] = pl.algorithms[a].load_balance
    del pl
res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""


def scaling_scenario(grid: str, seed: int = 1, fraction: float = 0.05):
    """The scaling scenario of a pandapower grid: demand terminals at ``fraction`` of the buses.

    ``numpy.random.default_rng(seed).choice`` over the sorted bus names (at
    least 3), volumes drawn from 1..6 MB like Table 2, uniform 40 Gbit/s, a
    100 s sampling period, hop bound auto.

    Returns
    -------
    Scenario
    """
    import numpy as np
    import pandapower.networks as pn

    from cppsns3.model.scenario import scenario_from_dict

    net = getattr(pn, grid)()
    names = sorted(int(x) for x in net.bus.name)
    rng = np.random.default_rng(seed)
    n_t = max(3, round(fraction * len(names)))
    buses = rng.choice(names, size=n_t, replace=False)
    terms = [{"bus": int(b), "data_mb": float(rng.integers(1, 7))} for b in buses]
    return scenario_from_dict({"grid": grid, "terminals": terms, "sampling_period_s": 100.0,
                               "bandwidth": {"default_mbps": 40000.0}})


def bench_118(repeats: int) -> dict:
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "ieee118.toml")
    plan(sc, "all")  # warm-up (first-call imports)
    totals, shares = [], {}
    for _ in range(repeats):
        t = time.perf_counter()
        pl = plan(sc, "all")
        totals.append(time.perf_counter() - t)
        for a, ap in pl.algorithms.items():
            shares.setdefault(a, []).append(ap.plan_time_s)
    med = statistics.median(totals)
    per = {a: statistics.median(v) for a, v in shares.items()}
    return {"total_s": med, "min_s": min(totals), "per_algorithm_s": per,
            "qtdr_share_ratio": per["qtdr"] / sum(per.values())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="planning benchmark")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--cases", nargs="*", default=["case300", "case1354pegase", "case2869pegase"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--algorithms", default="qtdr,qos-r,ra-dbmm")
    args = ap.parse_args(argv)
    r = bench_118(args.repeats)
    print(f"ieee118, all three algorithms: median {r['total_s']:.3f} s (min {r['min_s']:.3f} s) over "
          f"{args.repeats} runs; " + ", ".join(f"{a} {t:.3f} s" for a, t in r["per_algorithm_s"].items())
          + f"; QT-DR share {r['qtdr_share_ratio']:.0%}", flush=True)
    if args.skip_scaling:
        return 0
    print(f"{'grid':<15} {'buses':>6} {'links':>6} {'terms':>6} {'pairs':>7} {'hops':>5} "
          + " ".join(f"{a + '_s':>10}" for a in args.algorithms.split(","))
          + f" {'rss_before_mb':>14} {'peak_rss_mb':>12}", flush=True)
    for grid in args.cases:
        p = subprocess.run([sys.executable, "-c", CHILD, grid, str(args.seed), str(args.fraction),
                            args.algorithms, str(Path(__file__).resolve().parent)], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{grid:<15} failed: {p.stderr.strip().splitlines()[-1]}", flush=True)
            continue
        x = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{grid:<15} {x['buses']:>6} {x['links']:>6} {x['terminals']:>6} {x['pairs']:>7} "
              f"{x['hop_bound']:>5} "
              + " ".join(f"{x[a + '_s']:>10.2f}" for a in args.algorithms.split(","))
              + f" {x['rss_before_plan_mb']:>14.0f} {x['peak_rss_mb']:>12.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
