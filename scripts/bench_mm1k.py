#!/usr/bin/env python
"""`cppsns3 mm1k` against the same experiment as a pure C++ program (issue 16).

Both sides run the single-link M/M/1/K experiment with the same parameters:

- ``cppsns3 mm1k ... --json``: the console script beside this interpreter
  (else ``python -m cppsns3``), a whole process each time: Python start-up,
  the CLI, the run in a forked child (the built library through ctypes, or
  cppyy's JIT when there is none), the statistics in numpy;
- ``cppsns3-mm1k`` (tools/cppsns3-mm1k.cc, installed beside the library by
  ``pip install .``, or in ``build/release/``): the same simulation and the
  same statistics in C++.

Each side runs ``--repeats`` times, alternating; the figure of a side is its
fastest run (the machine is shared: the minimum is the least disturbed); the
median of the ratios of adjacent runs and the CPU times (process: getrusage
of the children; simulation phase: CLOCK_PROCESS_CPUTIME_ID around
``Simulator::Run``) are reported too, being less sensitive to other jobs.
Both must report the same event count and packet counts, else the script
fails.  Targets: whole process cppsns3 / C++ <= 1.25, simulation phase
(``Simulator::Run``, timed inside the run on both sides) <= 1.10.

It also times start-up: the whole ``cppsns3 mm1k --rho 0.9 --capacity 5
--packets 2000 --seed 1`` process, ``--startup-repeats`` times (target: under
1.0 s).

Usage::

    python scripts/bench_mm1k.py [--rho 0.9] [--capacity 5] [--packets 600000]
        [--seed 1] [--repeats 3] [--startup-repeats 5] [--native lib|jit|auto] [--json]

``--json`` prints one object with the keys of ``scripts/bench_native.py``
(``cppsns3_sim_wall_s, cpp_sim_wall_s, ratio, events, events_per_s``) plus
``cppsns3_process_wall_s, cpp_process_wall_s, process_ratio``, the per-run
lists and ``startup``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SIM_RATIO = 1.10
TARGET_PROCESS_RATIO = 1.25
TARGET_STARTUP_S = 1.0
STARTUP_ARGS = ["--rho", "0.9", "--capacity", "5", "--packets", "2000", "--seed", "1"]
_RUN_LINE = re.compile(r"ns-3 run: (\d+) events, build ([0-9.]+) s, simulation ([0-9.]+) s "
                       r"\(cpu ([0-9.]+) s\) \(([^)]*)\)")


def _log(msg: str) -> None:
    print(f"bench_mm1k: {msg}", file=sys.stderr, flush=True)


def cppsns3_command() -> list[str]:
    """The ``cppsns3`` console script of this interpreter's environment, else ``python -m cppsns3``."""
    exe = Path(sys.executable).parent / "cppsns3"
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)]
    found = shutil.which("cppsns3")
    return [found] if found else [sys.executable, "-m", "cppsns3"]


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_cppsns3(cmd: list[str], args: list[str], native_mode: str) -> dict:
    env = dict(os.environ, CPPSNS3_NATIVE=native_mode)
    c0 = _children_cpu_s()
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "mm1k", *args, "--json"], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    wall = time.perf_counter() - t0
    cpu = _children_cpu_s() - c0
    if proc.returncode != 0:
        raise SystemExit(f"bench_mm1k: cppsns3 mm1k failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout)
    m = _RUN_LINE.search(proc.stderr)
    if not m:
        raise SystemExit(f"bench_mm1k: no 'ns-3 run:' line on cppsns3's stderr:\n{proc.stderr[-2000:]}")
    out["timing"] = {"events": int(m.group(1)), "build_wall_s": float(m.group(2)),
                     "sim_wall_s": float(m.group(3)), "sim_cpu_s": float(m.group(4)),
                     "native": m.group(5) == "native library"}
    out["process_wall_s"] = wall
    out["process_cpu_s"] = cpu
    return out


def run_cpp(exe: Path, args: list[str]) -> dict:
    c0 = _children_cpu_s()
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = _children_cpu_s() - c0
    if proc.returncode != 0:
        raise SystemExit(f"bench_mm1k: {exe.name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    out["process_cpu_s"] = cpu
    return out


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def bench(args) -> dict:
    from cppsns3.ns3 import native

    exe = native.reference_program(name="cppsns3-mm1k")
    if exe is None:
        raise SystemExit("bench_mm1k: cppsns3-mm1k not found beside the native library or in build/release: "
                         "pip install . (or run scripts/build_native.sh)")
    cmd = cppsns3_command()
    run_args = ["--rho", repr(args.rho), "--capacity", str(args.capacity), "--packets", str(args.packets),
                "--seed", str(args.seed)]
    _log(f"cppsns3: {' '.join(cmd)}; C++: {exe}")
    _log("warm-up run of each side (page cache)")
    run_cppsns3(cmd, STARTUP_ARGS, args.native)
    run_cpp(exe, STARTUP_ARGS)

    startup_py, startup_cpp = [], []
    for i in range(args.startup_repeats):
        startup_py.append(run_cppsns3(cmd, STARTUP_ARGS, args.native))
        startup_cpp.append(run_cpp(exe, STARTUP_ARGS))
    py_runs, cpp_runs = [], []
    for i in range(args.repeats):
        _log(f"repeat {i + 1}/{args.repeats}: cppsns3 mm1k {' '.join(run_args)}")
        py_runs.append(run_cppsns3(cmd, run_args, args.native))
        _log(f"repeat {i + 1}/{args.repeats}: {exe.name}")
        cpp_runs.append(run_cpp(exe, run_args))

    a, b = py_runs[0], cpp_runs[0]
    if a["timing"]["events"] != b["timing"]["events"]:
        raise SystemExit(f"bench_mm1k: event counts differ: cppsns3 {a['timing']['events']}, "
                         f"C++ {b['timing']['events']}")
    for key in ("sent", "received", "dropped", "warmup_packets"):
        if a["counts"][key] != b["counts"][key]:
            raise SystemExit(f"bench_mm1k: {key} differs: cppsns3 {a['counts'][key]}, C++ {b['counts'][key]}")
    for key in ("loss_probability", "loss_probability_ci95", "mean_time_in_system_s",
                "mean_time_in_system_ci95_s", "mean_number_in_system"):
        if not _close(a["measured"][key], b["measured"][key]):
            raise SystemExit(f"bench_mm1k: measured {key} differs: cppsns3 {a['measured'][key]!r}, "
                             f"C++ {b['measured'][key]!r}")

    py_sim = min(r["timing"]["sim_wall_s"] for r in py_runs)
    cpp_sim = min(r["timing"]["sim_wall_s"] for r in cpp_runs)
    py_proc = min(r["process_wall_s"] for r in py_runs)
    cpp_proc = min(r["process_wall_s"] for r in cpp_runs)
    events = int(a["timing"]["events"])
    # Adjacent pairs see about the same machine: the median of their ratios
    # is less sensitive to other jobs than the ratio of the two minima.
    pair = lambda f: statistics.median(f(p) / f(c) for p, c in zip(py_runs, cpp_runs))  # noqa: E731
    su = [r["process_wall_s"] for r in startup_py]
    su_cpp = [r["process_wall_s"] for r in startup_cpp]
    return {
        "rho": args.rho,
        "capacity": args.capacity,
        "packets": args.packets,
        "seed": args.seed,
        "repeats": args.repeats,
        "native": all(r["timing"]["native"] for r in py_runs),
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        "cppsns3_sim_wall_s": py_sim,
        "cpp_sim_wall_s": cpp_sim,
        "ratio": py_sim / cpp_sim,
        "target_ratio": TARGET_SIM_RATIO,
        "events": events,
        "events_per_s": events / py_sim,
        "cpp_events_per_s": events / cpp_sim,
        "cppsns3_process_wall_s": py_proc,
        "cpp_process_wall_s": cpp_proc,
        "process_ratio": py_proc / cpp_proc,
        "target_process_ratio": TARGET_PROCESS_RATIO,
        "ratio_median_of_pairs": pair(lambda r: r["timing"]["sim_wall_s"]),
        "process_ratio_median_of_pairs": pair(lambda r: r["process_wall_s"]),
        "cppsns3_sim_cpu_s": min(r["timing"]["sim_cpu_s"] for r in py_runs),
        "cpp_sim_cpu_s": min(r["timing"]["sim_cpu_s"] for r in cpp_runs),
        "cppsns3_process_cpu_s": min(r["process_cpu_s"] for r in py_runs),
        "cpp_process_cpu_s": min(r["process_cpu_s"] for r in cpp_runs),
        "cppsns3_sim_wall_runs_s": [r["timing"]["sim_wall_s"] for r in py_runs],
        "cpp_sim_wall_runs_s": [r["timing"]["sim_wall_s"] for r in cpp_runs],
        "cppsns3_process_wall_runs_s": [r["process_wall_s"] for r in py_runs],
        "cpp_process_wall_runs_s": [r["process_wall_s"] for r in cpp_runs],
        "startup": {
            "args": " ".join(STARTUP_ARGS),
            "cppsns3_process_wall_s": min(su),
            "cppsns3_process_wall_median_s": statistics.median(su),
            "cppsns3_process_wall_runs_s": su,
            "cppsns3_process_cpu_s": min(r["process_cpu_s"] for r in startup_py),
            "cpp_process_wall_s": min(su_cpp),
            "cpp_process_wall_runs_s": su_cpp,
            "target_s": TARGET_STARTUP_S,
        },
    }


def _print_table(r: dict) -> None:
    print(f"mm1k rho={r['rho']} K={r['capacity']} packets={r['packets']} seed={r['seed']}: "
          f"{r['events']} events; fastest of {r['repeats']}")
    print(f"{'':30s}{'process (s)':>13s}{'simulation (s)':>16s}{'events/s':>12s}")
    print(f"{'cppsns3 mm1k (' + ('library' if r['native'] else 'JIT') + ')':30s}"
          f"{r['cppsns3_process_wall_s']:13.3f}{r['cppsns3_sim_wall_s']:16.3f}{r['events_per_s']:12.0f}")
    print(f"{'C++ cppsns3-mm1k':30s}{r['cpp_process_wall_s']:13.3f}{r['cpp_sim_wall_s']:16.3f}"
          f"{r['cpp_events_per_s']:12.0f}")
    ok = "ok" if r["process_ratio"] <= r["target_process_ratio"] else "ABOVE TARGET"
    print(f"ratio whole process: {r['process_ratio']:.3f} (median of pairs {r['process_ratio_median_of_pairs']:.3f};"
          f" CPU {r['cppsns3_process_cpu_s'] / r['cpp_process_cpu_s']:.3f})"
          f"  (target <= {r['target_process_ratio']:.2f}: {ok})")
    ok = "ok" if r["ratio"] <= r["target_ratio"] else "ABOVE TARGET"
    print(f"ratio simulation phase: {r['ratio']:.3f} (median of pairs {r['ratio_median_of_pairs']:.3f};"
          f" CPU {r['cppsns3_sim_cpu_s'] / r['cpp_sim_cpu_s']:.3f})  (target <= {r['target_ratio']:.2f}: {ok})")
    s = r["startup"]
    ok = "ok" if s["cppsns3_process_wall_s"] < s["target_s"] else "ABOVE TARGET"
    print(f"start-up, cppsns3 mm1k {s['args']}: fastest {s['cppsns3_process_wall_s']:.3f} s, median "
          f"{s['cppsns3_process_wall_median_s']:.3f} s of {len(s['cppsns3_process_wall_runs_s'])} "
          f"(C++ {s['cpp_process_wall_s']:.3f} s)  (target < {s['target_s']:.1f} s: {ok})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--capacity", type=int, default=5)
    p.add_argument("--packets", type=int, default=600000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--startup-repeats", type=int, default=5)
    p.add_argument("--native", choices=("lib", "jit", "auto"), default="lib",
                   help="CPPSNS3_NATIVE of the cppsns3 side (default lib)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.startup_repeats < 1:
        p.error("--repeats and --startup-repeats must be >= 1")
    r = bench(args)
    if args.json:
        print(json.dumps(r))
    else:
        _print_table(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
