"""Calibration of the memory guard: estimate vs measured peak RSS of real runs, side by side.

Runs ``cppsns3 run SCENARIO --algorithm qtdr`` in a fresh process per
configuration (round mode at several data scales, validate mode at several
durations, one replication), reads the measured peak resident memory of the
ns-3 child and of the parent from the run's ``timing.json``
(``peak_child_rss_mb``, ``parent_rss_mb``: getrusage maxima, MiB) and prints
them beside :func:`cppsns3.sim.guard.estimate_run_memory` (the figure the
guard compares with the memory available) and their ratio
``measured / estimate``, where measured is the larger of child and parent.

    python scripts/bench_memory_guard.py            # ieee14/39/57/118, ~3 min on 2 cores
    python scripts/bench_memory_guard.py --quick    # ieee14 and ieee39 only, ~1 min
    python scripts/bench_memory_guard.py --full118  # adds ieee118 rounds at 1x and 3x volume (~8 min, 7-9 GB)
    python scripts/bench_memory_guard.py --reuse DIR   # keep run directories in DIR and reuse them

Figures: docs/performance.md ("Memory guard").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
sys.path.insert(0, str(ROOT))  # this checkout's cppsns3, not another installed copy

# (grid, mode, data scale or validate duration_s)
CONFIGS = [
    ("ieee14", "round", 0.01), ("ieee14", "round", 0.3), ("ieee14", "round", 1.0), ("ieee14", "round", 3.0),
    ("ieee30", "round", 0.3),
    ("ieee39", "round", 0.02), ("ieee39", "round", 0.1), ("ieee39", "round", 0.3),
    ("ieee57", "round", 0.1),
    ("ieee118", "round", 0.05), ("ieee118", "round", 0.15),
    ("ieee14", "validate", 0.05), ("ieee14", "validate", 2.0),
    ("ieee39", "validate", 0.05), ("ieee39", "validate", 0.5), ("ieee57", "validate", 0.2),
]
QUICK = {("ieee14", "round", 0.01), ("ieee14", "round", 1.0), ("ieee39", "round", 0.1),
         ("ieee14", "validate", 0.05), ("ieee39", "validate", 0.5)}
FULL118 = [("ieee118", "round", 1.0), ("ieee118", "round", 3.0)]
MIB = 1024 * 1024


def run_dir(base: Path, grid: str, mode: str, x: float) -> Path:
    return base / f"{grid}-{mode}-{x:g}"


def measure(base: Path, grid: str, mode: str, x: float, reuse: bool) -> dict:
    out = run_dir(base, grid, mode, x)
    timing = out / "timing.json"
    if not (reuse and timing.is_file()):
        extra = ["--data-scale", str(x)] if mode == "round" else ["--duration-s", str(x), "--replications", "1"]
        cmd = [sys.executable, "-m", "cppsns3", "run", str(SCENARIOS / f"{grid}.toml"), "--out", str(out),
               "--mode", mode, "--algorithm", "qtdr", "--max-memory-gb", "1000", "--json", *extra]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    t = json.loads(timing.read_text())
    return {"child_bytes": t["peak_child_rss_mb"] * MIB, "parent_bytes": t["parent_rss_mb"] * MIB,
            "events": t["algorithms"]["qtdr"]["events"]}


def estimate(grid: str, mode: str, x: float):
    import cppsns3
    from cppsns3.sim.guard import estimate_run_memory
    from cppsns3.sim.pipeline import RunOptions

    sc = cppsns3.Scenario.load(SCENARIOS / f"{grid}.toml")
    opts = (RunOptions(mode=mode, algorithm="qtdr", data_scale=x) if mode == "round"
            else RunOptions(mode=mode, algorithm="qtdr", duration_s=x, replications=1)).validated()
    return estimate_run_memory(sc, cppsns3.plan(sc, ["qtdr"]), opts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few small configurations only")
    ap.add_argument("--full118", action="store_true",
                    help="add ieee118 rounds at 1x and 3x the Table 2 volumes (7-9 GB)")
    ap.add_argument("--reuse", metavar="DIR", help="keep the run directories in DIR; reuse those present")
    ap.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    args = ap.parse_args(argv)
    configs = [c for c in CONFIGS if not args.quick or c in QUICK] + (FULL118 if args.full118 else [])
    keep = tempfile.TemporaryDirectory(prefix="bench-memory-") if args.reuse is None else None
    base = Path(args.reuse) if args.reuse else Path(keep.name)
    rows = []
    for grid, mode, x in configs:
        m = measure(base, grid, mode, x, reuse=args.reuse is not None)
        e = estimate(grid, mode, x)
        measured = max(m["child_bytes"], m["parent_bytes"])
        rows.append({"grid": grid, "mode": mode, "x": x, "estimate_gb": e.total_bytes / 1e9,
                     "estimate_child_gb": e.child_bytes / 1e9, "estimate_parent_gb": e.parent_bytes / 1e9,
                     "measured_child_gb": m["child_bytes"] / 1e9, "measured_parent_gb": m["parent_bytes"] / 1e9,
                     "ratio": measured / e.total_bytes, "counts": e.counts})
        if not args.json:
            if len(rows) == 1:
                print(f"{'grid':<8}{'mode':<9}{'scale/dur':>10}{'est. child':>11}{'est. parent':>12}"
                      f"{'meas. child':>12}{'meas. parent':>13}{'meas./est.':>11}   (GB)")
            r = rows[-1]
            print(f"{grid:<8}{mode:<9}{x:>10g}{r['estimate_child_gb']:>11.2f}{r['estimate_parent_gb']:>12.2f}"
                  f"{r['measured_child_gb']:>12.2f}{r['measured_parent_gb']:>13.2f}{r['ratio']:>11.2f}", flush=True)
    ratios = [r["ratio"] for r in rows]
    if args.json:
        print(json.dumps({"rows": rows, "min_ratio": min(ratios), "max_ratio": max(ratios)}))
    else:
        print(f"measured / estimate: {min(ratios):.2f} .. {max(ratios):.2f} over {len(rows)} runs")
    if keep is not None:
        keep.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
