#!/usr/bin/env python
"""Wall time, peak memory and simulated events per second of `cppsns3 run`.

Targets (issue 6): the ieee39 full-volume round for all three algorithms in
under 2 minutes wall, ieee118 in under 15 minutes, on a 2-core machine.

    python scripts/bench_run.py [--scenarios ieee39 ieee118] [--data-scale 1.0] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(name: str, data_scale: float, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "cppsns3", "run", str(ROOT / "scenarios" / f"{name}.toml"),
               "--out", out, "--mode", mode, "--data-scale", str(data_scale)]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        timing = json.loads((Path(out) / "timing.json").read_text())
        summary = json.loads((Path(out) / "summary.json").read_text())
    algos = {}
    for a, e in summary["algorithms"].items():
        t_a = timing["algorithms"][a]
        algos[a] = {
            "generation_time_s": e.get("generation_time_s"),
            "nodes_appended": e.get("nodes_appended"),
            "nodes_total": e["nodes_total"],
            "load_balance": e["load_balance"],
            "events": t_a["events"],
            "sim_wall_s": t_a["sim_wall_s"],
            "events_per_s": t_a["events_per_s"],
        }
    return {"scenario": name, "mode": mode, "data_scale": data_scale, "wall_s": wall,
            "peak_child_rss_mb": timing["peak_child_rss_mb"], "parent_rss_mb": timing["parent_rss_mb"],
            "algorithms": algos}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["ieee39", "ieee118"])
    ap.add_argument("--data-scale", type=float, default=1.0)
    ap.add_argument("--mode", default="round", choices=["round", "validate"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [bench(s, args.data_scale, args.mode) for s in args.scenarios]
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        print(f"{r['scenario']} {r['mode']} data_scale={r['data_scale']}: wall {r['wall_s']:.1f} s, "
              f"peak child RSS {r['peak_child_rss_mb']:.0f} MB, parent RSS {r['parent_rss_mb']:.0f} MB")
        for a, e in r["algorithms"].items():
            gt = e["generation_time_s"]
            print(f"  {a:<8} generation {gt if gt is None else round(gt, 4)} s  appended {e['nodes_appended']}/"
                  f"{e['nodes_total']}  events {e['events']}  sim {e['sim_wall_s']:.1f} s  "
                  f"{e['events_per_s']:.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
