#!/usr/bin/env python
"""Benchmark of sweeps (issue 8): speed-up with 2 workers, per-run overheads.

Usage::

    python scripts/bench_sweep.py [--packets 50000] [--json]

1. Speed-up of a 16-run single-link sweep (rho in {0.5, 0.7, 0.9, 1.1} x K in
   {5, 10} x 2 replications) with 2 local workers against 1, from a cold
   start (run servers started and warmed up inside the timing) and in steady
   state (a second sweep of the same size on the idle, warm servers).
2. Per-run overhead against the simulation time ``sim_wall_s``:
   - warm run server (default path): fork + result through a pipe in the
     server (``overhead_wall_s``) plus the parent <-> server dispatch;
   - cold process path (``--cold``): a child that loads ns-3 and compiles
     the C++ code for every run;
   - Dask: a 2-worker LocalCluster with worker processes, the same sweep
     from a cold start (the Dask executor stops its run servers after each
     sweep) against the local cold start, and the round trip of an empty task.

Prints a table (or one JSON object with ``--json``).  Figures depend on the
machine's load; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cppsns3.sweep import plan_runs, run_sweep, sweep_from_dict  # noqa: E402
from cppsns3.sweep.executors import close_idle_servers  # noqa: E402
from cppsns3.sweep.worker import RunServer  # noqa: E402


def spec16(packets: int, seed: int):
    return sweep_from_dict({"scenario": "single-link", "replications": 2, "seed": seed,
                            "fixed": {"packets": packets},
                            "vary": {"rho": [0.5, 0.7, 0.9, 1.1], "queue_capacity": [5, 10]}})


def timed_sweep(spec, tmp: Path, name: str, **kw):
    t0 = time.perf_counter()
    res = run_sweep(spec, tmp / name, progress=False, **kw)
    wall = time.perf_counter() - t0
    if res.failed:
        raise SystemExit(f"error: {name}: {res.failed} run(s) failed")
    return wall, res.runs


def _noop():
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=50000, help="Packets per run (default 50000).")
    ap.add_argument("--no-dask", action="store_true", help="Skip the Dask measurements.")
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = ap.parse_args(argv)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True))
    out: dict = {"runs": 16, "packets_per_run": args.packets}
    with tempfile.TemporaryDirectory(prefix="cppsns3-bench-sweep-") as d:
        tmp = Path(d)
        # Different base seeds: each sweep runs 16 new runs (nothing to resume).
        log("1 worker, cold start ...")
        w1_cold, _ = timed_sweep(spec16(args.packets, 1), tmp, "w1a", workers=1)
        log("1 worker, steady state ...")
        w1, rows1 = timed_sweep(spec16(args.packets, 2), tmp, "w1b", workers=1)
        close_idle_servers()
        log("2 workers, cold start ...")
        w2_cold, _ = timed_sweep(spec16(args.packets, 1), tmp, "w2a", workers=2)
        log("2 workers, steady state ...")
        w2, rows2 = timed_sweep(spec16(args.packets, 2), tmp, "w2b", workers=2)
        same = rows1.drop(columns=[c for c in rows1 if c.endswith("_wall_s")]).equals(
            rows2.drop(columns=[c for c in rows2 if c.endswith("_wall_s")]))
        out.update({
            "sweep_1_worker_cold_start_wall_s": w1_cold, "sweep_2_workers_cold_start_wall_s": w2_cold,
            "speedup_cold_start": w1_cold / w2_cold,
            "sweep_1_worker_wall_s": w1, "sweep_2_workers_wall_s": w2, "speedup": w1 / w2,
            "same_table_1_vs_2_workers": bool(same),
            "sim_wall_s_mean": float(rows2["sim_wall_s"].mean()),
            # If the simulations themselves slow down with 2 workers, other jobs share the cores.
            "sim_wall_s_mean_1_worker": float(rows1["sim_wall_s"].mean()),
            "sim_wall_s_mean_2_workers": float(rows2["sim_wall_s"].mean()),
            "load_average_1min": float(os.getloadavg()[0]),
            "warm_fork_overhead_wall_s_mean": float(rows2["overhead_wall_s"].mean()),
        })
        # Parent <-> warm server dispatch: execute() round trip minus the run's own wall time.
        log("dispatch round trips ...")
        tasks = plan_runs(spec16(args.packets, 3))[:6]
        srv = RunServer(warm=True)
        srv.execute(tasks[0])  # warm-up
        gaps = []
        for t in tasks[1:]:
            t0 = time.perf_counter()
            row = srv.execute(t)
            gaps.append(time.perf_counter() - t0 - row["run_wall_s"])
        srv.close()
        out["warm_dispatch_wall_s_mean"] = float(np.mean(gaps))
        out["warm_per_run_overhead_wall_s"] = out["warm_fork_overhead_wall_s_mean"] + out["warm_dispatch_wall_s_mean"]
        log("cold process path ...")
        srv = RunServer(warm=False)
        cold = [srv.execute(t) for t in tasks[:3]]
        srv.close()
        cold_run = float(np.mean([r["run_wall_s"] for r in cold]))
        out["cold_run_wall_s_mean"] = cold_run
        out["cold_ns3_load_wall_s_mean"] = float(np.mean([r["ns3_load_wall_s"] for r in cold]))
        out["cold_per_run_overhead_wall_s"] = cold_run - out["sim_wall_s_mean"]
        close_idle_servers()
        if not args.no_dask:
            from distributed import Client, LocalCluster

            log("Dask LocalCluster (2 worker processes) ...")
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                    Client(cl) as client:
                lat = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    client.submit(_noop, pure=False).result()
                    lat.append(time.perf_counter() - t0)
                # The Dask executor stops its run servers after each sweep, so
                # every Dask sweep is a cold start: compare with the local cold start.
                wd_cold, rowsd = timed_sweep(spec16(args.packets, 2), tmp, "da", scheduler=client)
            same_d = rows2.drop(columns=[c for c in rows2 if c.endswith("_wall_s")]).equals(
                rowsd.drop(columns=[c for c in rowsd if c.endswith("_wall_s")]))
            out.update({
                "dask_empty_task_round_trip_wall_s": float(np.median(lat)),
                "sweep_dask_2_workers_cold_start_wall_s": wd_cold,
                "dask_extra_per_run_wall_s": (wd_cold - w2_cold) * 2 / 16,
                "same_table_local_vs_dask": bool(same_d),
            })
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"16-run single-link sweep, {args.packets} packets per run "
          f"(mean simulation time {out['sim_wall_s_mean']:.3f} s per run)")
    print(f"  cold start (servers started and warmed inside the timing): 1 worker {w1_cold:.2f} s, "
          f"2 workers {w2_cold:.2f} s, speed-up {out['speedup_cold_start']:.2f}")
    print(f"  steady state (warm idle servers):                          1 worker {w1:.2f} s, "
          f"2 workers {w2:.2f} s, speed-up {out['speedup']:.2f}")
    print(f"  same table on 1 and 2 workers: {out['same_table_1_vs_2_workers']}; mean simulation time per run "
          f"{out['sim_wall_s_mean_1_worker']:.3f} s on 1 worker, {out['sim_wall_s_mean_2_workers']:.3f} s on 2 "
          f"(1-min load average at the end {out['load_average_1min']:.2f})")
    print("per-run overhead against the simulation time:")
    sim = out["sim_wall_s_mean"]
    print(f"  warm run server: fork+collect {out['warm_fork_overhead_wall_s_mean'] * 1e3:.1f} ms + dispatch "
          f"{out['warm_dispatch_wall_s_mean'] * 1e3:.1f} ms = {out['warm_per_run_overhead_wall_s'] * 1e3:.1f} ms "
          f"({out['warm_per_run_overhead_wall_s'] / sim:.1%} of the simulation)")
    print(f"  cold process (--cold): {out['cold_per_run_overhead_wall_s']:.2f} s per run "
          f"(ns-3 import {out['cold_ns3_load_wall_s_mean']:.2f} s + C++ compilation; "
          f"{out['cold_per_run_overhead_wall_s'] / sim:.1f}x the simulation)")
    if "dask_empty_task_round_trip_wall_s" in out:
        print(f"  Dask: empty task round trip {out['dask_empty_task_round_trip_wall_s'] * 1e3:.1f} ms; "
              f"sweep on 2 worker processes {out['sweep_dask_2_workers_cold_start_wall_s']:.2f} s "
              f"(cold start, servers warmed inside the timing), "
              f"{out['dask_extra_per_run_wall_s'] * 1e3:+.1f} ms per run against the local cold start; "
              f"same table: {out['same_table_local_vs_dask']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
