#!/usr/bin/env python
"""Plans byte for byte: save them from one checkout, compare from another.

For every scenario (the five Table 2 files and the 39-bus feasibility file by
default, plus ``--cases`` grids built by the seeded rule of
``scripts/bench_plan.py``), ``plan(sc, ALGORITHMS)`` is turned into the
``cppsns3 plan --json`` object without its ``plan_time_s`` keys and written as
canonical JSON.  ``--save DIR`` writes ``DIR/NAME.json``; ``--compare DIR``
plans again and prints, per scenario and algorithm, ``same`` or the first
difference (exit 1 on any difference).

    python scripts/plan_identity.py --save before/      # on the old checkout
    python scripts/plan_identity.py --compare before/   # on the new one
    python scripts/plan_identity.py --compare before/ --cases case300 case1354pegase
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ["ieee14", "ieee30", "ieee39", "ieee57", "ieee118", "ieee39_feasibility"]
ALGOS = ["qtdr", "qos-r", "ra-dbmm"]


def _strip_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if k != "plan_time_s"}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def plan_object(name: str, seed: int = 1, fraction: float = 0.05) -> dict:
    """The plan of one scenario (a ``scenarios/`` file or a scaling grid), times removed."""
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import load_scenario

    if name in SCENARIOS:
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_plan import scaling_scenario

        sc = scaling_scenario(name, seed, fraction)
    obj = plan(sc, ALGOS, lower_bound=False).to_dict()
    # the bound is not a plan of these routers (and needs a solver run)
    for key in ("load_balance_lower_bound", "lower_bound_candidates", "lower_bound_time_s"):
        obj.pop(key, None)
    return _strip_times(obj)


def _first_difference(a, b, where="") -> str | None:
    if type(a) is not type(b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}.{k}: missing on one side"
            diff = _first_difference(a[k], b[k], f"{where}.{k}")
            if diff:
                return diff
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            diff = _first_difference(x, y, f"{where}[{i}]")
            if diff:
                return diff
        return None
    return None if a == b else f"{where}: {a!r} != {b!r}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="save or compare plans byte for byte")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    ap.add_argument("--scenarios", nargs="*", default=SCENARIOS)
    ap.add_argument("--cases", nargs="*", default=[])
    args = ap.parse_args(argv)
    bad = 0
    for name in list(args.scenarios) + list(args.cases):
        t = time.perf_counter()
        obj = plan_object(name)
        text = json.dumps(obj, sort_keys=True)
        took = time.perf_counter() - t
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{name}.json").write_text(text)
            print(f"{name:<20} saved  sha256 {digest}  ({took:.1f} s)", flush=True)
            continue
        ref = json.loads((args.compare / f"{name}.json").read_text())
        for a in ALGOS:
            diff = _first_difference(ref["algorithms"][a], obj["algorithms"][a], a)
            bad += diff is not None
            print(f"{name:<20} {a:<8} {'same' if diff is None else 'DIFFERENT ' + diff[:200]}",
                  flush=True)
        top = _first_difference({k: v for k, v in ref.items() if k != "algorithms"},
                                {k: v for k, v in obj.items() if k != "algorithms"})
        bad += top is not None
        same_bytes = text == json.dumps(ref, sort_keys=True)
        print(f"{name:<20} bytes    {'identical' if same_bytes else 'differ'}  sha256 {digest}  "
              f"({took:.1f} s)", flush=True)
        bad += not same_bytes
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
