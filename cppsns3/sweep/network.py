"""Network scenarios in a sweep: the packet-level validation run on one algorithm's paths.

One run = plan the scenario (with the run's ``queue_capacity`` and
``t_wait_s``), scale the planned traffic so that the busiest port of the
algorithm's plan has utilisation ``rho`` (:func:`cppsns3.sim.spec.traffic_scale`),
and run it (:func:`cppsns3.sim.netbuild.execute`: Poisson single-packet
blocks, per-hop retransmission after ``t_wait_s``) for ``duration_s`` simulated
seconds, the first ``warmup_fraction`` of them left out of the figures
(defaults: those of ``cppsns3 run --mode validate``).  The traffic scale, the
spec and the analytic figures come from the pipeline of ``cppsns3 run``
(:func:`cppsns3.sim.pipeline.prepare`), with the run's K and t_wait_s.  The row compares the
measurement with Eq. 1-2:

- the *path*: the flow from ``path_src_bus`` to ``path_dst_bus``, or with
  ``"auto"`` (default) a flow through the busiest port of the plan (so the
  port below has utilisation ``rho``) with the most hops, the first in the
  plan's order (sorted by source and destination bus) among equals;
  ``path_src_bus``, ``path_dst_bus``, ``path_buses``, ``path_hops``; ``analytic_delay_s`` (Eq. 2 at the offered
  loads), ``measured_delay_s`` and ``measured_delay_ci95_s`` (batch means of
  the packets sent in the measured window), packet counts;
- the *port*: the busiest sending port on that path (largest rho),
  ``port_bus``, ``port_peer_bus``, ``port_rho``; ``analytic_loss_probability``
  and ``analytic_mean_time_in_system_s`` (Eq. 1), ``measured_loss_probability``
  (refusals / offers in the window; a refused packet is offered again after
  ``t_wait_s``, each offer counts), ``measured_loss_probability_ci95``
  (binomial, treating offers as independent), ``measured_mean_time_in_system_s``
  (Little's law on the port's time-average number in system);
- the network: ``flows``, ``measured_delay_rel_error_mean`` and
  ``measured_delay_rel_error_max_abs`` over all flows (measured / Eq. 2 - 1),
  ``events``.

Everything here but :func:`run` and :func:`warmup` is pure Python.
"""

from __future__ import annotations

import math
from functools import lru_cache

from cppsns3.errors import ScenarioError

__all__ = ["PARAMS", "check_point", "warmup", "run"]

#: Parameter -> (default, kind); ``None``: the scenario's value.
PARAMS = {
    "rho": (0.5, "number"),
    "queue_capacity": (None, "int"),
    "t_wait_s": (None, "number"),
    "algorithm": ("qtdr", "str"),
    "duration_s": (None, "number"),       # None: cppsns3.sim.run.DEFAULT_VALIDATE_DURATION_S
    "warmup_fraction": (None, "number"),  # None: cppsns3.sim.run.WARMUP_FRACTION
    "path_src_bus": ("auto", "bus"),
    "path_dst_bus": ("auto", "bus"),
}


@lru_cache(maxsize=4)
def _scenario(path: str):
    from cppsns3.model.scenario import load_scenario

    return load_scenario(path)


def defaults(path: str) -> dict:
    """Every parameter with its default (the scenario's K and t_wait_s)."""
    sc = _scenario(path)
    d = {k: v for k, (v, _kind) in PARAMS.items()}
    d["queue_capacity"] = int(sc.queue_capacity)
    d["t_wait_s"] = float(sc.t_wait_s)
    d["algorithm"] = sc.algorithms[0] if "qtdr" not in sc.algorithms else "qtdr"
    from cppsns3.sim.run import DEFAULT_VALIDATE_DURATION_S, WARMUP_FRACTION

    # The defaults of `cppsns3 run --mode validate`.
    d["duration_s"] = DEFAULT_VALIDATE_DURATION_S
    d["warmup_fraction"] = WARMUP_FRACTION
    return d


def check_point(path: str, params: dict) -> None:
    """Check one parameter set (pure; no planning).

    Raises
    ------
    ScenarioError
        Naming the field and the value.
    """
    from cppsns3.model.scenario import ALGORITHMS

    rho = params["rho"]
    if not 0 < rho <= 1.5:
        raise ScenarioError(f"rho: must be in (0, 1.5] (utilisation of the busiest port), got {rho!r}")
    if params["queue_capacity"] < 1:
        raise ScenarioError(f"queue_capacity: must be an integer >= 1, got {params['queue_capacity']!r}")
    if not (math.isfinite(params["t_wait_s"]) and params["t_wait_s"] >= 0):
        raise ScenarioError(f"t_wait_s: must be >= 0, got {params['t_wait_s']!r}")
    if params["algorithm"] not in ALGORITHMS:
        raise ScenarioError(f"algorithm: must be one of {', '.join(ALGORITHMS)}, got {params['algorithm']!r}")
    if not 1e-4 <= params["duration_s"] <= 100:
        raise ScenarioError(f"duration_s: must be in [0.0001, 100] simulated seconds, got {params['duration_s']!r}")
    for name in ("path_src_bus", "path_dst_bus"):
        bus = params[name]
        if bus != "auto" and bus not in set(_scenario(path).network.nodes):
            raise ScenarioError(f"{name}: not a node of the network (a bus name or \"auto\"), got {bus!r}")
    if not 0 <= params["warmup_fraction"] < 0.9:
        raise ScenarioError(f"warmup_fraction: must be in [0, 0.9), got {params['warmup_fraction']!r}")


def _prepare(path: str, params: dict, seed: int):
    """Plan and prepare the run (pure Python), through the one pipeline of ``cppsns3 run``."""
    from cppsns3.model.routing import plan
    from cppsns3.sim.pipeline import RunOptions, prepare

    sc = _scenario(path).replace(queue_capacity=int(params["queue_capacity"]), t_wait_s=float(params["t_wait_s"]))
    opts = RunOptions(mode="validate", algorithm=params["algorithm"], seed=seed, load=float(params["rho"]),
                      duration_s=float(params["duration_s"]))
    pa = prepare(sc, plan(sc, params["algorithm"]), opts)[0]
    return sc, pa, pa.spec(0, warmup_fraction=float(params["warmup_fraction"]))


def _pick_flow(flows, params, rho, port_index, network):
    src, dst = params.get("path_src_bus", "auto"), params.get("path_dst_bus", "auto")
    if src != "auto" or dst != "auto":
        chosen = [f for f in flows if (src == "auto" or f.src_bus == src) and (dst == "auto" or f.dst_bus == dst)]
        if not chosen:
            raise ScenarioError(f"path_src_bus/path_dst_bus: no planned flow from {src!r} to {dst!r} "
                                f"(flows leave buses {sorted({f.src_bus for f in flows})})")
        return max(chosen, key=lambda f: (len(f.path) - 1, -f.index))

    def busiest(f):
        return max(rho[port_index(u, v)] for u, v in zip(f.path[:-1], f.path[1:]))

    top = max(busiest(f) for f in flows)
    through = [f for f in flows if busiest(f) >= top * (1 - 1e-12)]
    return max(through, key=lambda f: (len(f.path) - 1, -f.index))


def warmup(path: str) -> None:
    """Plan once (imports the model) and compile the ns-3 wrappers without running
    (:func:`cppsns3.sim.warmup.warm_up`, as ``cppsns3 run`` does before forking)."""
    from cppsns3.sim.warmup import warm_up

    _prepare(path, defaults(path), 1)
    warm_up()


def run(path: str, params: dict, seed: int) -> dict:
    """One validation run; the flat row of figures (see the module docstring).

    Raises
    ------
    SimulationError
        If the run breaks an invariant.
    """
    from cppsns3.model.stats import binomial_half_width
    from cppsns3.sim.netbuild import execute

    sc, pa, spec = _prepare(path, params, seed)
    network, flows, scale = sc.network, pa.flows, pa.scale
    per_flow, ports_an = pa.analytic, pa.ports_an
    result = execute(spec)
    measured = {r["index"]: r for r in result["flows"]}

    pick = _pick_flow(flows, params, ports_an["rho"], network.port_id, network)
    m = measured[pick.index]
    hops = list(zip(pick.path[:-1], pick.path[1:]))
    u, v = max(hops, key=lambda uv: (ports_an["rho"][network.port_id(*uv)], -hops.index(uv)))
    p = network.port_id(u, v)
    pm = result["ports"][(u, v)]
    offered, dropped = int(pm["offered_packets"]), int(pm["dropped_packets"])
    errors = []
    for f in flows:
        md = measured[f.index]["measured_delay_s"]
        an = per_flow[f.index][0]
        if md is not None and math.isfinite(md) and an > 0:
            errors.append(md / an - 1.0)
    labels = network.nodes
    return {
        "flows": len(flows),
        "traffic_scale": scale,
        "path_src_bus": pick.src_bus,
        "path_dst_bus": pick.dst_bus,
        "path_buses": " ".join(str(labels[i]) for i in pick.path),
        "path_hops": len(pick.path) - 1,
        "path_rate_mbps": pick.rate_mbps,
        "analytic_delay_s": per_flow[pick.index][0],
        "measured_delay_s": m["measured_delay_s"],
        "measured_delay_ci95_s": m["measured_delay_ci95_s"],
        "sent_packets": m["sent_packets"],
        "received_packets": m["received_packets"],
        "abandoned_packets": m["abandoned_packets"],
        "measured_packets": m["measured_packets"],
        "port_bus": labels[u],
        "port_peer_bus": labels[v],
        "port_rho": float(ports_an["rho"][p]),
        "analytic_loss_probability": float(ports_an["loss_probability"][p]),
        "measured_loss_probability": dropped / offered if offered else float("nan"),
        "measured_loss_probability_ci95": binomial_half_width(dropped, offered) if offered else float("nan"),
        "analytic_mean_time_in_system_s": float(ports_an["mean_time_in_system_s"][p]),
        "measured_mean_time_in_system_s": pm["mean_time_in_system_s"],
        "port_offered_packets": offered,
        "port_dropped_packets": dropped,
        "measured_delay_rel_error_mean": sum(errors) / len(errors) if errors else float("nan"),
        "measured_delay_rel_error_max_abs": max(abs(e) for e in errors) if errors else float("nan"),
        "events": result.get("events", -1),
    }
