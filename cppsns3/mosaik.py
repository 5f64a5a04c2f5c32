"""cppsns3 as a mosaik simulator: the CPPS network is one simulator among others.

:class:`CppsNetworkSim` (mosaik-api-v3) takes measurements from any mosaik
simulator at each step (e.g. bus voltages and powers from mosaik-pandapower-2),
has each terminal sign them into a data block, runs the packet-level
generation round of the network in ns-3 (one forked child per step, as
``cppsns3 run``), and returns per terminal when its block reached the
generator and whether in time.

Models
------
``Network`` (one; params ``scenario``: a scenario TOML path, ``algorithm``,
``seed``, ``tolerance_s``, ``out_dir``)
    The CPPS network of the scenario's grid.  Output ``generation_time_s``,
    ``nodes_appended``.
``Terminal`` (params ``bus``: a bus name of the grid)
    A demand terminal.  Any input attribute is a measurement: every value of
    every connected source becomes one record ``T<bus>/<attr>/<source id>``.
    Outputs ``delivery_time_s`` (arrival of its block at the generator after
    the step's start; None if it never arrived), ``arrived`` (within
    ``tolerance_s``), ``nodes_reached``.

The terminals created in the world are the scenario's demand terminals (their
``data_mb`` is what the measurements weigh; the scenario's terminals are
replaced).  With ``out_dir``, ``deliveries.csv`` (one row per step and
terminal) is written at the end.

Examples
--------
``scenarios/mosaik_world.py`` couples it with mosaik-pandapower-2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mosaik_api_v3

__all__ = ["CppsNetworkSim", "META"]

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Network": {
            "public": True,
            "params": ["scenario", "algorithm", "seed", "tolerance_s", "out_dir"],
            "attrs": ["generation_time_s", "nodes_appended"],
        },
        "Terminal": {
            "public": True,
            "params": ["bus"],
            "attrs": ["delivery_time_s", "arrived", "nodes_reached"],
            "any_inputs": True,
        },
    },
}


class CppsNetworkSim(mosaik_api_v3.Simulator):
    """The packet-level CPPS network as a mosaik simulator (see the module docstring)."""

    def __init__(self):
        super().__init__(META)
        self.step_size = 900
        self.time_resolution = 1.0
        self._cfg = None
        self._terminals = {}  # eid -> bus
        self._out = {}
        self._rows = []
        self._tip = bytes(32)
        self._height = 0
        self._state = None

    def init(self, sid, time_resolution=1.0, step_size=900):
        self.sid = sid
        self.time_resolution = float(time_resolution)
        self.step_size = int(step_size)
        return self.meta

    def create(self, num, model, **params):
        from cppsns3.errors import ScenarioError

        if model == "Network":
            if num != 1 or self._cfg is not None:
                raise ScenarioError("Network: create exactly one")
            if "scenario" not in params:
                raise ScenarioError("Network.scenario: missing (a scenario TOML path)")
            self._cfg = dict(params)
            return [{"eid": "Network", "type": "Network"}]
        if model == "Terminal":
            if self._cfg is None:
                raise ScenarioError("Terminal: create the Network first")
            out = []
            for _ in range(num):
                bus = params.get("bus")
                eid = f"Terminal-{bus}"
                if eid in self._terminals:
                    raise ScenarioError(f"Terminal.bus: a terminal at bus {bus!r} exists already")
                self._terminals[eid] = bus
                out.append({"eid": eid, "type": "Terminal"})
            return out
        raise ScenarioError(f"model: unknown model {model!r} (Network, Terminal)")

    def setup_done(self):
        import cppsns3
        from cppsns3.sim.pipeline import RunOptions, prepare
        from cppsns3.sim.round import round_keys, round_prep
        from cppsns3.sim.warmup import warm_up

        cfg = self._cfg
        sc = cppsns3.Scenario.load(cfg["scenario"])
        if self._terminals:
            data_mb = {t.bus: t.data_mb for t in sc.terminals}
            sc = sc.replace(terminals=[(b, data_mb.get(b, 1.0)) for b in self._terminals.values()])
        algorithm = cfg.get("algorithm") or ("qtdr" if "qtdr" in sc.algorithms else sc.algorithms[0])
        seed = cfg.get("seed") or sc.seed
        pl = cppsns3.plan(sc, [algorithm])
        terminals, registry = round_keys(sc, sc.network, seed)
        dummy = round_prep(terminals, registry, {})
        pa = prepare(sc, pl, RunOptions(mode="round", algorithm=algorithm, seed=seed), prep=dummy)[0]
        self._state = {"sc": sc, "pa": pa, "terminals": terminals, "registry": registry,
                       "gen": sc.network.index[pl.algorithms[algorithm].generator_bus],
                       "tolerance_s": float(cfg.get("tolerance_s", 1.0)), "seed": seed}
        warm_up()

    def step(self, time, inputs, max_advance):
        from cppsns3.chain import GeneratorBlock, Measurement
        from cppsns3.chain.measurements import DEFAULT_START_TIME_S
        from cppsns3.sim.netbuild import execute
        from cppsns3.sim.round import round_prep
        from cppsns3.sim.runner import run_in_child
        from cppsns3.sim.spec import RoundInputs

        st = self._state
        network = st["sc"].network
        t_s = time * self.time_resolution
        ts = DEFAULT_START_TIME_S + t_s
        payloads, node_of = {}, {}
        for eid, bus in self._terminals.items():
            node = network.index[network.site_of(bus)]
            term = st["terminals"][node]
            ms = []
            for attr, sources in sorted(inputs.get(eid, {}).items()):
                for src, value in sorted(sources.items()):
                    ms.append(Measurement(f"{term.terminal_id}/{attr}/{src.replace('/', '_')}", ts, float(value)))
            if not ms:
                continue
            payloads[node] = term.make_block(ms, self._tip, ts).to_bytes()
            node_of[eid] = node
        out = {eid: {"delivery_time_s": None, "arrived": False, "nodes_reached": 0} for eid in self._terminals}
        net_out = {"generation_time_s": None, "nodes_appended": 0}
        if payloads:
            prep = round_prep(st["terminals"], st["registry"], payloads)
            ri = RoundInputs(prep=prep, generator=st["gen"], timestamp_s=ts, prev_hash=self._tip,
                             height=self._height)
            spec = dataclasses.replace(st["pa"], round_inputs=ri).spec(0)
            raw = run_in_child(execute, spec, label=f"mosaik step {time}")
            gen = st["gen"]
            for eid, node in node_of.items():
                t_arr = 0.0 if node == gen else raw["arrival_s"].get((node, gen))
                reached = sum(1 for (o, _d) in raw["arrival_s"] if o == node)
                out[eid] = {"delivery_time_s": t_arr,
                            "arrived": t_arr is not None and t_arr <= st["tolerance_s"],
                            "nodes_reached": reached}
            net_out = {"generation_time_s": raw["generation_time_s"], "nodes_appended": raw["nodes_appended"]}
            if raw.get("generator_block") is not None:
                self._tip = GeneratorBlock.from_bytes(raw["generator_block"]).hash()
                self._height += 1
        self._out = {**out, "Network": net_out}
        for eid in sorted(self._terminals):
            self._rows.append({"time_s": t_s, "terminal": eid, "bus": self._terminals[eid], **out[eid],
                               "generation_time_s": net_out["generation_time_s"]})
        return time + self.step_size

    def get_data(self, outputs):
        return {eid: {a: self._out.get(eid, {}).get(a) for a in attrs} for eid, attrs in outputs.items()}

    def finalize(self):
        out_dir = (self._cfg or {}).get("out_dir")
        if out_dir and self._rows:
            import pandas as pd

            from cppsns3.sim.result import write_atomic

            Path(out_dir).mkdir(parents=True, exist_ok=True)
            write_atomic(Path(out_dir) / "deliveries.csv",
                         pd.DataFrame(self._rows).to_csv(index=False, float_format="%.9g", lineterminator="\n"))
