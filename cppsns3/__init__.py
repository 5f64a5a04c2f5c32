"""cppsns3: packet-accurate ns-3 experiments of the CPPS blockchain protocol.

The public API (docs/api.md)::

    import cppsns3
    sc = cppsns3.Scenario.from_net(net, terminals=[(5, 2.0), (7, 1.0)], seed=3)  # or Scenario.load(TOML)
    pl = cppsns3.plan(sc)                                                      # QT-DR and the baselines
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate")            # ns-3 in this process
    res = sim.run()                                                            # RunResult (DataFrames)
    cppsns3.run(sc, "out", mode="round")                                       # what `cppsns3 run` does

Layers
------
- :mod:`cppsns3.model`  pure model: queueing (Eq. 1-2), grid to network, routing, scenarios
- :mod:`cppsns3.chain`  blocks, Merkle trees, keys, contracts, measurements
- :mod:`cppsns3.ns3`    the only door to ns-3 (loader, topology helpers, C++ sources)
- :mod:`cppsns3.sim`    packet-level runs: the pipeline, Simulation, the child-process runner
- :mod:`cppsns3.traces` one reader per ns-3 trace format

Names are imported on first use, so ``import cppsns3`` stays cheap.
"""

from cppsns3.errors import CppsError

__version__ = "0.1.0"
__all__ = ["CppsError", "Scenario", "plan", "Simulation", "run", "RunResult", "Plan", "estimate_run_memory",
           "__version__"]

_LAZY = {
    "Scenario": ("cppsns3.model.scenario", "Scenario"),
    "plan": ("cppsns3.model.routing", "plan"),
    "Plan": ("cppsns3.model.routing", "Plan"),
    "Simulation": ("cppsns3.sim.simulation", "Simulation"),
    "run": ("cppsns3.sim.run", "run"),
    "RunResult": ("cppsns3.sim.result", "RunResult"),
    "estimate_run_memory": ("cppsns3.sim.guard", "estimate_run_memory"),
}


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'cppsns3' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
