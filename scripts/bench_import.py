#!/usr/bin/env python
"""Import time of the ns-3 layer vs the wheel's stock `from ns import ns`.

Both run side by side in fresh interpreters, from an empty temporary folder
(the stock loader scans the current directory).  The cppsns3 figure is the
*warm* import: its precompiled header is built first if missing.

    python scripts/bench_import.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

SNIPPETS = {
    "stock_from_ns_import_ns": "from ns import ns; ns.Simulator",
    "cppsns3_import_ns": "from cppsns3.ns3 import ns; ns.Simulator",
    "cppsns3_import_ns_and_cpp": "from cppsns3.ns3 import ns, cpp; cpp.PoissonSource",
}

TIMER = """
import resource, sys, time
t = time.perf_counter()
exec({code!r})
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(code: str, cwd: str) -> tuple[float, float]:
    p = subprocess.run([sys.executable, "-c", TIMER.format(code=code)], cwd=cwd,
                       capture_output=True, text=True, check=True)
    wall, rss_kb = p.stdout.strip().splitlines()[-1].split()
    return float(wall), float(rss_kb) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        measure(SNIPPETS["cppsns3_import_ns"], empty)  # builds the PCH if missing
        res = {}
        for _ in range(args.repeats):  # interleaved, so both see the same machine state
            for name, code in SNIPPETS.items():
                res.setdefault(name, []).append(measure(code, empty))
    out = {
        name: {"median_wall_s": statistics.median(w for w, _ in v), "peak_rss_mb": max(m for _, m in v)}
        for name, v in res.items()
    }
    out["speedup_import_ns"] = out["stock_from_ns_import_ns"]["median_wall_s"] / out["cppsns3_import_ns"]["median_wall_s"]
    out["speedup_import_ns_and_cpp"] = (
        out["stock_from_ns_import_ns"]["median_wall_s"] / out["cppsns3_import_ns_and_cpp"]["median_wall_s"]
    )
    if args.json:
        print(json.dumps(out))
    else:
        for name in SNIPPETS:
            print(f"{name:<30} {out[name]['median_wall_s']:7.2f} s   peak RSS {out[name]['peak_rss_mb']:6.0f} MB")
        print(f"speed-up, import ns:           {out['speedup_import_ns']:.1f}x")
        print(f"speed-up, import ns + own C++: {out['speedup_import_ns_and_cpp']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
