#!/usr/bin/env python
"""cppsns3 against a pure C++ ns-3 program on the same validation run (issue 9).

The same scenario, plan, seed and streams run

- through cppsns3: Python builds the topology (cppsns3.ns3.topology), C++
  carries every packet (the CMake-built library, ``CPPSNS3_NATIVE=lib``):
  :func:`cppsns3.sim.validate.run_validate` in a fresh interpreter;
- through ``cppsns3-reference`` (installed beside the library by ``pip
  install .``, or ``build/release/`` of a preset build): the same C++
  classes, the topology built in C++ from the description
  :mod:`cppsns3.sim.export` wrote.

Each side runs ``--repeats`` times, alternating, each in a fresh process; the
figure of a side is its fastest run (the machine is shared: the minimum is
the least disturbed).  Both sides must report the same event count and packet
counts (same seed, same streams), else the script fails.  Target: simulation
phase ratio cppsns3 / C++ <= 1.10.

It also times, for ieee118, ``from cppsns3.ns3 import ns, cpp`` plus
``build_topology`` (nodes, links, stack, routing, planned paths) in a fresh
interpreter: target under 3 s.

Usage (after ``pip install .``, or ``scripts/build_native.sh`` in a checkout)::

    python scripts/bench_native.py [--scenario scenarios/ieee14.toml] [--load 0.5]
        [--duration-s 0.2] [--repeats 3] [--seed 1] [--json]

``--json`` prints one object: ``cppsns3_sim_wall_s, cpp_sim_wall_s, ratio,
events, events_per_s`` (events per second of the cppsns3 side) and more keys
(``cpp_events_per_s``, per-run lists, ``ieee118`` import and build times).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE: Path | None = None  # found in bench(): beside the library, else build/release
TARGET_RATIO = 1.10
TARGET_IMPORT_BUILD_S = 3.0


def _log(msg: str) -> None:
    print(f"bench_native: {msg}", file=sys.stderr, flush=True)


def make_spec(scenario_path, load: float, duration_s: float, seed: int, algorithm: str = "qtdr"):
    """The validation spec of one algorithm's plan (pure Python, no ns-3).

    Returns
    -------
    RunSpec
        Warm-up is 10 % of the duration, as in ``cppsns3 run --mode validate``.
    """
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import load_scenario
    from cppsns3.sim.run import WARMUP_FRACTION
    from cppsns3.sim.spec import build_spec, traffic_scale

    sc = load_scenario(scenario_path)
    ap = plan(sc, [algorithm]).algorithms[algorithm]
    return build_spec(sc, sc.network, ap, mode="validate", seed=seed, replication=0,
                      scale=traffic_scale([ap], load), duration_s=duration_s,
                      warmup_s=WARMUP_FRACTION * duration_s)


# -- children (fresh interpreters) -------------------------------------------

def _child_validate(spec_path: str) -> dict:
    t0 = time.perf_counter()
    from cppsns3.ns3 import cpp, native, ns  # noqa: F401 - load ns-3 and the library

    import_s = time.perf_counter() - t0
    from cppsns3.sim.validate import run_validate

    spec = pickle.loads(Path(spec_path).read_bytes())
    r = run_validate(spec)
    return {
        "native": native.decision() is not None,
        "import_s": import_s,
        "build_wall_s": r["build_wall_s"],
        "sim_wall_s": r["sim_wall_s"],
        "events": r["events"],
        "sent": sum(f["sent_packets"] for f in r["flows"]),
        "received": sum(f["received_packets"] for f in r["flows"]),
        "abandoned": sum(f["abandoned_packets"] for f in r["flows"]),
        "queue_drops": sum(f["queue_drops"] for f in r["flows"]),
    }


def _child_build(spec_path: str) -> dict:
    t0 = time.perf_counter()
    from cppsns3.ns3 import cpp, native, ns  # noqa: F401

    import_s = time.perf_counter() - t0
    from cppsns3.sim.netbuild import build_topology

    spec = pickle.loads(Path(spec_path).read_bytes())
    t1 = time.perf_counter()
    topo = build_topology(spec)
    build_s = time.perf_counter() - t1
    n_nodes = int(topo.nodes.GetN())
    ns.Simulator.Destroy()
    return {"native": native.decision() is not None, "import_s": import_s, "topology_build_s": build_s,
            "nodes": n_nodes, "links": len(spec.links), "routes": len(spec.routes)}


def _run_child(kind: str, spec_path: Path, native_mode: str) -> dict:
    env = dict(os.environ, CPPSNS3_NATIVE=native_mode)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(spec_path)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_native: cppsns3 {kind} child failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


def _run_reference(desc: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([str(REFERENCE), str(desc)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_native: {REFERENCE.name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


# -- parent -------------------------------------------------------------------

def bench(args) -> dict:
    """Run both sides and the ieee118 import/build timing; return the record."""
    global REFERENCE
    from cppsns3.ns3 import native
    from cppsns3.sim.export import write_reference_description

    REFERENCE = native.reference_program()
    if REFERENCE is None:
        raise SystemExit("bench_native: cppsns3-reference not found beside the native library or in "
                         "build/release: pip install . (or run scripts/build_native.sh)")
    with tempfile.TemporaryDirectory(prefix="bench_native-") as tmp:
        tmp = Path(tmp)
        _log(f"planning {args.scenario} (load {args.load}, {args.duration_s} s simulated, seed {args.seed})")
        spec = make_spec(args.scenario, args.load, args.duration_s, args.seed)
        spec_path = tmp / "spec.pkl"
        spec_path.write_bytes(pickle.dumps(spec))
        desc = write_reference_description(spec, tmp / "description.txt")

        py_runs, cpp_runs = [], []
        for i in range(args.repeats):
            _log(f"repeat {i + 1}/{args.repeats}: cppsns3")
            py_runs.append(_run_child("validate", spec_path, args.native))
            _log(f"repeat {i + 1}/{args.repeats}: C++ reference")
            cpp_runs.append(_run_reference(desc))
        for key in ("events", "sent", "received", "abandoned", "queue_drops"):
            a, b = py_runs[0][key], cpp_runs[0][key]
            if a != b:
                raise SystemExit(f"bench_native: the two sides disagree on {key}: cppsns3 {a}, C++ {b}")

        big = None
        if not args.skip_118:
            sc118 = ROOT / "scenarios" / "ieee118.toml"
            _log("ieee118: import + topology build, fresh interpreters")
            spec118 = make_spec(sc118, args.load, args.duration_s, args.seed)
            p118 = tmp / "spec118.pkl"
            p118.write_bytes(pickle.dumps(spec118))
            runs = [_run_child("build", p118, args.native) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["import_s"] + r["topology_build_s"])
            big = {
                "import_s": best["import_s"],
                "topology_build_s": best["topology_build_s"],
                "import_plus_build_s": best["import_s"] + best["topology_build_s"],
                "native": best["native"],
                "nodes": best["nodes"],
                "links": best["links"],
                "routes": best["routes"],
                "runs_import_plus_build_s": [r["import_s"] + r["topology_build_s"] for r in runs],
                "target_s": TARGET_IMPORT_BUILD_S,
            }

    py_best = min(py_runs, key=lambda r: r["sim_wall_s"])
    cpp_best = min(cpp_runs, key=lambda r: r["sim_wall_s"])
    events = int(py_best["events"])
    ratio = py_best["sim_wall_s"] / cpp_best["sim_wall_s"]
    return {
        "scenario": Path(args.scenario).name,
        "load": args.load,
        "duration_s": args.duration_s,
        "seed": args.seed,
        "repeats": args.repeats,
        "native": py_best["native"],
        "cppsns3_sim_wall_s": py_best["sim_wall_s"],
        "cpp_sim_wall_s": cpp_best["sim_wall_s"],
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "events": events,
        "events_per_s": events / py_best["sim_wall_s"],
        "cpp_events_per_s": events / cpp_best["sim_wall_s"],
        "packets_sent": py_best["sent"],
        "cppsns3_import_s": py_best["import_s"],
        "cppsns3_build_wall_s": py_best["build_wall_s"],
        "cpp_build_wall_s": cpp_best["build_wall_s"],
        "cppsns3_sim_wall_runs_s": [r["sim_wall_s"] for r in py_runs],
        "cpp_sim_wall_runs_s": [r["sim_wall_s"] for r in cpp_runs],
        "ieee118": big,
    }


def _print_table(r: dict) -> None:
    print(f"validation run {r['scenario']}: load {r['load']}, {r['duration_s']} s simulated, seed {r['seed']}, "
          f"{r['events']} events, {r['packets_sent']} packets; fastest of {r['repeats']}")
    print(f"{'':28s}{'sim wall (s)':>14s}{'events/s':>14s}{'build (s)':>12s}")
    print(f"{'cppsns3 (' + ('library' if r['native'] else 'JIT') + ')':28s}{r['cppsns3_sim_wall_s']:14.3f}"
          f"{r['events_per_s']:14.0f}{r['cppsns3_build_wall_s']:12.3f}")
    print(f"{'C++ reference':28s}{r['cpp_sim_wall_s']:14.3f}{r['cpp_events_per_s']:14.0f}"
          f"{r['cpp_build_wall_s']:12.3f}")
    ok = "ok" if r["ratio"] <= r["target_ratio"] else "ABOVE TARGET"
    print(f"ratio cppsns3 / C++ (simulation phase): {r['ratio']:.3f}  (target <= {r['target_ratio']:.2f}: {ok})")
    b = r.get("ieee118")
    if b:
        ok = "ok" if b["import_plus_build_s"] < b["target_s"] else "ABOVE TARGET"
        print(f"ieee118 ({b['nodes']} nodes, {b['links']} links, {b['routes']} routes): import {b['import_s']:.2f} s"
              f" + topology build {b['topology_build_s']:.2f} s = {b['import_plus_build_s']:.2f} s"
              f"  (target < {b['target_s']:.0f} s: {ok})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default=str(ROOT / "scenarios" / "ieee14.toml"))
    p.add_argument("--load", type=float, default=0.5, help="busiest-port rho (default 0.5)")
    p.add_argument("--duration-s", type=float, default=0.2, help="simulated seconds (default 0.2)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--native", choices=("lib", "jit", "auto"), default="lib",
                   help="CPPSNS3_NATIVE of the cppsns3 side (default lib)")
    p.add_argument("--skip-118", action="store_true", help="skip the ieee118 import + build timing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kind, spec_path = args.child
        out = _child_validate(spec_path) if kind == "validate" else _child_build(spec_path)
        print(json.dumps(out))
        return 0
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    r = bench(args)
    if args.json:
        print(json.dumps(r))
    else:
        _print_table(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
