#!/usr/bin/env python
"""Wall time, time outside ns-3, memory and events of `cppsns3 cosim`.

The benchmark of the co-simulation issue: ieee39 (scenarios/ieee39.toml), 96
steps of 900 s at data scale 0.1, QT-DR, through the Python API
(:func:`cppsns3.cosim.engine.cosim`).  Targets on a 2-core machine: total
wall time under 10 minutes; the time outside ns-3 (power flows, data blocks,
state estimation, chain, start-up: everything but the network rounds' own
child time, i.e. the children's build + simulate wall clock) under 25 % of
the total; the parent's peak RSS flat between step 10 and the last step.

    python scripts/bench_cosim.py [--steps 96] [--data-scale 0.1] [--scenario ieee39]
                                  [--algorithm qtdr] [--out DIR] [--profile-steps N] [--json]

``--profile-steps N`` additionally runs N steps under cProfile (the parent
process; the forked ns-3 rounds are not profiled) and prints the functions
with the largest cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's cppsns3, not another installed copy

TARGET_TOTAL_S = 600.0
TARGET_OUTSIDE_SHARE = 0.25


def _scenario_path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        return p
    return ROOT / "scenarios" / f"{name}.toml"


def _median(rows, key):
    vals = [r[key] for r in rows if key in r and r[key] is not None]
    return statistics.median(vals) if vals else float("nan")


def bench(scenario: Path, steps: int, data_scale: float, algorithm: str, out: Path) -> dict:
    from cppsns3.cosim.engine import cosim

    load0 = os.getloadavg()[0]
    ru0 = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    t = time.perf_counter()
    res = cosim(scenario, out, steps=steps, data_scale=data_scale, algorithm=algorithm, progress=False)
    wall = time.perf_counter() - t
    ru1 = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    cpu = [(b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime) for a, b in zip(ru0, ru1)]
    timing = json.loads((out / "timing.json").read_text())
    ts = timing["steps"]
    # The rounds run one after another in their children; the parent's own
    # work overlaps them (engine's pipeline), so the time outside ns-3 on the
    # run's critical path is the total minus the children's build + simulate.
    child_s = sum(s.get("child_build_wall_s", 0.0) + s.get("child_sim_wall_s", 0.0) for s in ts)
    sim_s = sum(s.get("child_sim_wall_s", 0.0) for s in ts)
    network_s = sum(s.get("network_wall_s", 0.0) for s in ts)
    outside = wall - child_s
    work_keys = ("pf_wall_s", "bodies_wall_s", "seal_wall_s", "se_wall_s", "chain_wall_s")
    parent_work_s = sum(s.get(k, 0.0) for s in ts for k in work_keys)
    for s in ts:
        if "network_wall_s" in s:
            s["fork_ipc_wall_s"] = s["network_wall_s"] - s["child_build_wall_s"] - s["child_sim_wall_s"]
    per_step = {k: _median(ts, k) for k in work_keys + ("network_wall_s", "child_build_wall_s",
                                                        "child_sim_wall_s", "fork_ipc_wall_s")}
    rss = {int(k): v for k, v in timing["peak_rss_mb_at_step"].items()}
    events = int(timing["events"])
    return {
        "scenario": res.summary["scenario"], "grid": res.summary["grid"], "algorithm": res.summary["algorithm"],
        "steps": steps, "data_scale": data_scale,
        "total_wall_s": wall,
        "network_wall_s": network_s,
        "child_build_sim_wall_s": child_s,
        "parent_work_wall_s": parent_work_s,
        "outside_ns3_wall_s": outside,
        "outside_ns3_share": outside / wall,
        "outside_share_with_network_wall": (wall - network_s) / wall,
        "parent_cpu_s": cpu[0],
        "children_cpu_s": cpu[1],
        "load_average_1min": [load0, os.getloadavg()[0]],
        "median_step_s": per_step,
        "peak_rss_mb_at_step": rss,
        "peak_child_rss_mb": timing["peak_child_rss_mb"],
        "events": events,
        "events_per_s_sim": events / sim_s if sim_s else float("nan"),
        "events_per_s_total": events / wall,
        "chain_height": res.summary["chain"]["height"],
        "se_failures": len(res.summary["se_failures"]),
        "blocks_late_total": res.summary["blocks_late_total"],
        "steps_overrun": res.summary["steps_overrun"],
        "out_dir": str(out),
    }


def profile(scenario: Path, steps: int, data_scale: float, algorithm: str, top: int = 25) -> str:
    from cppsns3.cosim.engine import cosim

    with tempfile.TemporaryDirectory() as d:
        pr = cProfile.Profile()
        pr.enable()
        cosim(scenario, Path(d), steps=steps, data_scale=data_scale, algorithm=algorithm, progress=False)
        pr.disable()
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats("cumulative").print_stats(top)
    st.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def _print(r: dict) -> None:
    m = r["median_step_s"]
    rss = r["peak_rss_mb_at_step"]
    ok_t = r["total_wall_s"] < TARGET_TOTAL_S
    ok_o = r["outside_ns3_share"] < TARGET_OUTSIDE_SHARE
    print(f"cosim {r['scenario']} ({r['grid']}), {r['algorithm']}, {r['steps']} steps, data scale {r['data_scale']:g}")
    print(f"  total wall            {r['total_wall_s']:9.1f} s   (target < {TARGET_TOTAL_S:.0f} s: "
          f"{'met' if ok_t else 'NOT met'})")
    print(f"  network rounds        {r['network_wall_s']:9.1f} s   (start of the child to its result)")
    print(f"  ns-3 child own time   {r['child_build_sim_wall_s']:9.1f} s   (build + simulate, summed over the rounds)")
    print(f"  parent's work         {r['parent_work_wall_s']:9.1f} s   (power flows, block bodies, sealing, "
          f"estimation, chain; mostly overlapped with the rounds)")
    print(f"  outside ns-3          {r['outside_ns3_wall_s']:9.1f} s = {100 * r['outside_ns3_share']:.1f} % "
          f"of the total (target < {100 * TARGET_OUTSIDE_SHARE:.0f} %: {'met' if ok_o else 'NOT met'}); "
          f"{100 * r['outside_share_with_network_wall']:.1f} % counting the whole network_wall_s as ns-3")
    print("  median per step: "
          f"power flow {m['pf_wall_s']:.3f} s, block bodies {m['bodies_wall_s']:.3f} s, "
          f"sealing {m['seal_wall_s']:.3f} s, "
          f"network {m['network_wall_s']:.3f} s (child build {m['child_build_wall_s']:.3f} s + "
          f"simulate {m['child_sim_wall_s']:.3f} s + fork/IPC/overlap {m['fork_ipc_wall_s']:.3f} s), "
          f"estimation {m['se_wall_s']:.3f} s, chain {m['chain_wall_s']:.3f} s")
    print(f"  CPU time: parent {r['parent_cpu_s']:.1f} s, ns-3 children {r['children_cpu_s']:.1f} s "
          f"(parent share {100 * r['parent_cpu_s'] / (r['parent_cpu_s'] + r['children_cpu_s']):.1f} %); "
          f"load average {r['load_average_1min'][0]:.2f} at the start, {r['load_average_1min'][1]:.2f} at the end "
          f"({os.cpu_count()} cores)")
    steps = sorted(rss)
    print("  parent peak RSS: " + ", ".join(f"step {k} {rss[k]:.0f} MB" for k in steps)
          + f"; peak child RSS {r['peak_child_rss_mb']:.0f} MB")
    print(f"  events {r['events']:,}; {r['events_per_s_sim']:,.0f} events/s of child simulate time, "
          f"{r['events_per_s_total']:,.0f} events/s of total wall")
    print(f"  chain height {r['chain_height']}; SE failures {r['se_failures']}; "
          f"late or missing deliveries {r['blocks_late_total']}; rounds overrunning {r['steps_overrun']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=96)
    ap.add_argument("--data-scale", type=float, default=0.1)
    ap.add_argument("--scenario", default="ieee39", help="name in scenarios/ or a .toml path")
    ap.add_argument("--algorithm", default="qtdr")
    ap.add_argument("--out", default=None, help="keep the run's directory here (default: a temporary one)")
    ap.add_argument("--profile-steps", type=int, default=0, help="also profile this many steps (cProfile)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    scenario = _scenario_path(args.scenario)
    if args.out is not None:
        out = Path(args.out)
        r = bench(scenario, args.steps, args.data_scale, args.algorithm, out)
    else:
        with tempfile.TemporaryDirectory() as d:
            r = bench(scenario, args.steps, args.data_scale, args.algorithm, Path(d))
        r["out_dir"] = None
    prof = profile(scenario, args.profile_steps, args.data_scale, args.algorithm) if args.profile_steps else None
    if args.json:
        if prof is not None:
            r["profile"] = prof
        print(json.dumps(r, indent=2))
        return 0
    _print(r)
    if prof is not None:
        print(f"\ncProfile of {args.profile_steps} steps (parent process):")
        print(prof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
