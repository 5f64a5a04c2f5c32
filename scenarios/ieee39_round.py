"""The IEEE 39-bus generation round (Table 2 terminals), written against the Python API.

What ``cppsns3 run scenarios/ieee39.toml --out DIR --data-scale 0.1`` does, as
a script: load the scenario, plan QT-DR and the baselines, run the
packet-level round of every algorithm (each in its own ns-3 child process),
and read the result back as DataFrames.

    python scenarios/ieee39_round.py --out results/ieee39-py [--data-scale 0.1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import cppsns3
from cppsns3.model.names import algorithm_help

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--data-scale", type=float, default=0.1, help="factor on the Table 2 block volumes")
    ap.add_argument("--algorithm", default=None, help=algorithm_help("the scenario's"))
    args = ap.parse_args(argv)

    sc = cppsns3.Scenario.load(HERE / "ieee39.toml")
    pl = cppsns3.plan(sc)
    print(f"{sc.grid}: {sc.network.n_nodes} terminals, {sc.network.n_links} links, generator bus {pl.generator_bus}")
    summary = cppsns3.run(sc, args.out, mode="round", algorithm=args.algorithm, data_scale=args.data_scale, plan=pl)

    flows = pd.read_csv(Path(args.out) / "flows.csv")
    print(f"{'algorithm':<9} {'Load_B_mbps':>11} {'generation_time_s':>18} {'appended':>9} {'slowest block (src->dst)':>26}")
    for a, e in summary["algorithms"].items():
        slow = flows[flows.algorithm == a].sort_values("block_arrival_s").iloc[-1]
        print(f"{a:<9} {e['load_balance']:>11.2f} {e['generation_time_s']:>18.6f} "
              f"{e['nodes_appended']:>4}/{e['nodes_total']:<4} {slow.src_bus:>12}->{slow.dst_bus:<4}"
              f" {slow.block_arrival_s:.6f} s")
    print(f"wrote {args.out}/summary.json, flows.csv, ports.csv, links.csv, grid.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
