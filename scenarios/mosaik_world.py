"""A mosaik world: mosaik-pandapower-2 solves the IEEE 14-bus grid, cppsns3 carries its measurements.

Every 15 minutes the pandapower simulator's bus voltages and powers go to the
CPPS terminals at the scenario's demand-terminal buses (mosaik connections);
the cppsns3 simulator has each terminal sign them into a data block, runs the
packet-level round in ns-3, and returns when each block reached the
generator.  ``deliveries.csv`` in ``--out`` lists them per step.

    python scenarios/mosaik_world.py --out results/mosaik [--steps 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mosaik
import pandas as pd

HERE = Path(__file__).resolve().parent
STEP_S = 900

SIM_CONFIG = {
    "Grid": {"python": "mosaik_components.pandapower:Simulator"},
    "CppsNetwork": {"python": "cppsns3.mosaik:CppsNetworkSim"},
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args(argv)

    world = mosaik.World(SIM_CONFIG, debug=False)
    grid_sim = world.start("Grid", step_size=STEP_S)
    grid = grid_sim.Grid(network_function="case14")
    cpps = world.start("CppsNetwork", step_size=STEP_S)
    cpps.Network(scenario=str(HERE / "ieee14.toml"), out_dir=args.out)
    terminal_buses = [2, 6, 9]
    for bus in terminal_buses:
        term = cpps.Terminal(bus=bus)
        source = next(e for e in grid.children if e.type == "Bus" and e.eid == f"Bus-{bus - 1}")
        world.connect(source, term, "Vm[pu]", "P[MW]", "Q[MVar]")
    world.run(until=args.steps * STEP_S)

    d = pd.read_csv(Path(args.out) / "deliveries.csv")
    print(d.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
