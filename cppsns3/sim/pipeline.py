"""The one pipeline from a plan to a packet-level result (pure Python, no ns-3).

plan -> :func:`prepare` (flows, routes, Eq. 1-2 figures, round blocks) ->
:meth:`PreparedAlgorithm.spec` per replication -> ns-3
(:func:`cppsns3.sim.netbuild.execute` in a child, or
:class:`cppsns3.Simulation` in the calling process) -> :func:`assemble` ->
:class:`~cppsns3.sim.result.RunResult`.  ``cppsns3 run``, the sweep's network
adapter and the scripts all go through these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cppsns3.errors import ScenarioError
from cppsns3.model.scenario import ALGORITHMS, check_seed
from cppsns3.model.stats import binomial_half_width, t_half_width
from cppsns3.sim.spec import (
    RoundInputs,
    analytic_flow_delays,
    build_spec,
    complete_routes,
    link_specs,
    planned_flows,
    traffic_scale,
)

__all__ = ["MODES", "DEFAULT_VALIDATE_DURATION_S", "WARMUP_FRACTION", "RunOptions", "PreparedAlgorithm",
           "link_outages", "outage_events", "relay_faults", "prepare", "assemble", "run_header"]

MODES = ("round", "validate")
DEFAULT_VALIDATE_DURATION_S = 0.05
WARMUP_FRACTION = 0.1


@dataclass(frozen=True)
class RunOptions:
    """Options of one run (None: the scenario's or the mode's default).

    ``algorithm``: a name, ``"all"``, or None for the scenario's ``algorithms``.
    """

    mode: str = "round"
    algorithm: str | None = None
    seed: int | None = None
    replications: int | None = None
    data_scale: float = 1.0
    load: float = 0.5
    duration_s: float | None = None

    def validated(self) -> "RunOptions":
        """Check every option; raise ScenarioError naming the option and value."""
        if self.mode not in MODES:
            raise ScenarioError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.algorithm is not None and self.algorithm not in ("all",) + ALGORITHMS:
            raise ScenarioError(
                f"--algorithm must be {', '.join(ALGORITHMS)} or all, got {self.algorithm!r}")
        if self.seed is not None:
            check_seed(self.seed, "--seed")
        if self.replications is not None and not (
                isinstance(self.replications, int) and 1 <= self.replications <= 1000):
            raise ScenarioError(f"--replications must be an integer in [1, 1000], got {self.replications!r}")
        if not (isinstance(self.data_scale, (int, float)) and math.isfinite(self.data_scale)
                and 0 < self.data_scale <= 100):
            raise ScenarioError(f"--data-scale must be in (0, 100], got {self.data_scale!r}")
        if not (isinstance(self.load, (int, float)) and 0 < self.load <= 1.5):
            raise ScenarioError(f"--load must be in (0, 1.5], got {self.load!r}")
        if self.duration_s is not None and not (
                isinstance(self.duration_s, (int, float)) and math.isfinite(self.duration_s)
                and 1e-4 <= self.duration_s <= 100):
            raise ScenarioError(f"--duration-s must be in [0.0001, 100], got {self.duration_s!r}")
        return self

    def algorithms(self, scenario) -> list:
        """The algorithms to run, in canonical order."""
        if self.algorithm is None:
            names = list(scenario.algorithms)
        elif self.algorithm == "all":
            names = list(ALGORITHMS)
        else:
            names = [self.algorithm]
        return [a for a in ALGORITHMS if a in names]

    def replications_for(self) -> int:
        return self.replications or (3 if self.mode == "validate" else 1)

    @property
    def duration(self) -> float:
        return self.duration_s or DEFAULT_VALIDATE_DURATION_S


def link_outages(scenario, network) -> tuple:
    """Every timed link outage of the scenario's faults, as sorted ``(down_s, up_s, link index)``.

    ``link_down``: one outage for good (``up_s`` None); ``link_flap``: its
    cycles; ``node_down``: every link of the node, until ``until_s``.

    Raises
    ------
    ScenarioError
        If a fault names two buses with no link between them.
    """
    out = []
    for f in scenario.faults:
        if f.kind in ("link_down", "link_flap"):
            a, b = network.index[network.site_of(f.a_bus)], network.index[network.site_of(f.b_bus)]
            try:
                edges = (network.link_id(a, b),)
            except KeyError:
                raise ScenarioError(
                    f"faults: {f.kind} a_bus={f.a_bus!r} b_bus={f.b_bus!r} is not a link of the network"
                ) from None
        elif f.kind == "node_down":
            v = network.index[network.site_of(f.bus)]
            edges = tuple(network.link_id(v, network.index[w]) for w in network.graph.neighbors(network.site_of(f.bus)))
        else:
            continue
        for down_s, up_s in f.intervals():
            out.extend((float(down_s), None if up_s is None else float(up_s), int(e)) for e in edges)
    return tuple(sorted(out, key=lambda o: (o[0], math.inf if o[1] is None else o[1], o[2])))


def outage_events(outages, t0: float = 0.0, t1: float = math.inf) -> tuple:
    """The link failures and repairs of ``outages`` inside ``[t0, t1)``, in times from ``t0``.

    An outage that started before ``t0`` and lasts into the window fails its
    link at 0.

    Returns
    -------
    (tuple, tuple)
        ``link_down`` and ``link_up`` of :class:`~cppsns3.sim.spec.RoundInputs`:
        sorted ``(at_s, link index)``.
    """
    down, up = [], []
    for a, b, e in outages:
        if a >= t1 or (b is not None and b <= t0):
            continue
        down.append((max(0.0, a - t0), e))
        if b is not None and b < t1:
            up.append((b - t0, e))
    return tuple(sorted(down)), tuple(sorted(up))


def relay_faults(scenario, network) -> tuple:
    """The scenario's compromised relays, one :class:`~cppsns3.sim.spec.RelayFault` per node."""
    from cppsns3.model.scenario import RELAY_KINDS
    from cppsns3.sim.spec import RelayFault

    per = {}
    for f in scenario.faults:
        if f.kind not in RELAY_KINDS:
            continue
        v = network.index[network.site_of(f.bus)]
        r = per.get(v, RelayFault(node=v))
        if f.kind == "relay_drop":
            r = replace(r, drop_fraction=float(f.fraction))
        elif f.kind == "relay_delay":
            r = replace(r, delay_s=float(f.delay_ms) / 1e3)
        else:
            r = replace(r, tamper_fraction=1.0 if f.fraction is None else float(f.fraction))
        per[v] = r
    return tuple(per[v] for v in sorted(per))


@dataclass(frozen=True)
class PreparedAlgorithm:
    """One algorithm of a run, ready to become specs (one per replication)."""

    scenario: object
    aplan: object
    opts: RunOptions
    seed: int
    scale: float
    flows: tuple
    routes: dict
    analytic: list  # per flow: (delay_s, delay_relay_only_s, propagation_s)
    ports_an: dict  # per directed port: rho, loss_probability, mean_time_in_system_s, ...
    round_inputs: RoundInputs | None = None

    @property
    def name(self) -> str:
        return self.aplan.name

    def spec(self, replication: int = 0, flowmon_xml: str | None = None, warmup_fraction: float = WARMUP_FRACTION):
        """The :class:`~cppsns3.sim.spec.RunSpec` of one replication."""
        sc = self.scenario
        duration = self.opts.duration
        return build_spec(
            sc, sc.network, self.aplan, mode=self.opts.mode, seed=self.seed, replication=replication,
            flows=self.flows, routes=self.routes, duration_s=duration, warmup_s=warmup_fraction * duration,
            round_inputs=self.round_inputs, flowmon_xml=flowmon_xml,
        )


def prepare(scenario, plan, opts: RunOptions, *, prep=None, progress=None) -> list:
    """Every algorithm of ``opts`` prepared: flows, routes, Eq. 1-2, round inputs.

    Parameters
    ----------
    scenario : Scenario
    plan : cppsns3.model.routing.Plan
        Holds a plan of every algorithm to run.
    opts : RunOptions
    prep : RoundPrep, optional
        Round mode: signed blocks already made (else made here).
    progress : callable, optional
        Called once per signed data block made.

    Returns
    -------
    list of PreparedAlgorithm
        All carry the same traffic (same scale, same blocks).

    Raises
    ------
    ScenarioError
        If an option is bad or the plan lacks an algorithm.
    """
    opts = opts.validated()
    network = scenario.network
    seed = scenario.seed if opts.seed is None else opts.seed
    algos = opts.algorithms(scenario)
    for a in algos:
        if a not in plan.algorithms:
            raise ScenarioError(f"algorithm: {a!r} is not in the plan (planned: {', '.join(plan.algorithms)})")
    link_down, link_up = outage_events(link_outages(scenario, network))
    relays = relay_faults(scenario, network)
    if opts.mode == "round":
        if prep is None:
            from cppsns3.sim.round import prepare_round

            prep = prepare_round(scenario, network, seed=seed, data_scale=opts.data_scale, progress=progress)
        scale = 1.0
    else:
        scale = traffic_scale(list(plan.algorithms.values()), opts.load)
    out = []
    for a in algos:
        ap = plan.algorithms[a]
        flows = planned_flows(network, ap, scale, scenario.mean_packet_bytes)
        gen = network.index[ap.generator_bus]
        if opts.mode == "round" and scenario.broadcast == "relay":
            # Every block moves one hop at a time, node to neighbour.
            routes = {(lk.a, lk.b): (lk.a, lk.b) for lk in link_specs(network)}
            routes.update({(b, a): (b, a) for (a, b) in list(routes)})
        else:
            routes = complete_routes(network, {(f.src, f.dst): f.path for f in flows},
                                     extra_sources=[gen] if opts.mode == "round" else ())
        analytic, ports_an = analytic_flow_delays(network, flows, scenario.queue_capacity,
                                                  scenario.mean_packet_bytes, scenario.t_wait_s)
        ri = (RoundInputs(prep=prep, generator=gen, link_down=link_down, link_up=link_up, relay_faults=relays,
                          broadcast=scenario.broadcast)
              if opts.mode == "round" else None)
        out.append(PreparedAlgorithm(scenario=scenario, aplan=ap, opts=opts, seed=seed, scale=scale, flows=flows,
                                     routes=routes, analytic=analytic, ports_an=ports_an, round_inputs=ri))
    return out


def run_header(scenario, plan, opts: RunOptions, seed: int, scale: float) -> dict:
    """The top-level keys of summary.json (everything but ``algorithms``)."""
    reps = opts.replications_for()
    return {
        "scenario": scenario.name,
        "grid": scenario.grid,
        "seed": seed,
        "mode": opts.mode,
        "replications": reps,
        "generator_bus": plan.generator_bus,
        "load_balance_lower_bound": plan.lower_bound_or_none,
        "lower_bound_candidates": plan.lower_bound_candidates,
        "data_scale": opts.data_scale if opts.mode == "round" else None,
        "load": opts.load if opts.mode == "validate" else None,
        "traffic_scale": scale,
        "duration_s": opts.duration if opts.mode == "validate" else None,
        "queue_capacity": scenario.queue_capacity,
        "mean_packet_bytes": scenario.mean_packet_bytes,
        "t_wait_s": scenario.t_wait_s,
        "broadcast": scenario.broadcast if opts.mode == "round" else None,
        "faults": [f.to_dict() for f in scenario.faults],
    }


def _mean_ci(values):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), (t_half_width(v) if v.size >= 2 else float("nan"))


def assemble(prepared: PreparedAlgorithm, runs: list, header: dict, flowmon_path=None):
    """Turn the raw results of an algorithm's replications into a RunResult.

    Parameters
    ----------
    prepared : PreparedAlgorithm
    runs : list of dict
        What :meth:`cppsns3.sim.netbuild.NetworkRun.run` returned, one per replication.
    header : dict
        :func:`run_header` of the run.
    flowmon_path : path, optional
        The FlowMonitor XML of the first replication.
    """
    import pandas as pd

    from cppsns3.sim.result import RunResult

    sc, ap, opts, flows = prepared.scenario, prepared.aplan, prepared.opts, prepared.flows
    network = sc.network
    analytic, ports_an, scale = prepared.analytic, prepared.ports_an, prepared.scale
    a = ap.name
    labels = network.nodes
    reps = len(runs)
    events = sum(r["events"] for r in runs)
    sim_wall = sum(r["sim_wall_s"] for r in runs)
    timing = {
        "events": events,
        "sim_wall_s": sim_wall,
        "build_wall_s": sum(r["build_wall_s"] for r in runs),
        "events_per_s": events / sim_wall if sim_wall > 0 else None,
    }
    flow_recs, flow_rows, port_rows, link_rows = [], [], [], []
    for k, f in enumerate(flows):
        per = [r["flows"][k] for r in runs]
        sent = sum(p["sent_packets"] for p in per)
        recv = sum(p["received_packets"] for p in per)
        if opts.mode == "validate":
            dropped = sum(p["abandoned_packets"] for p in per)
            if reps >= 2:
                mean, hw = _mean_ci([p["measured_delay_s"] for p in per])
            else:
                mean, hw = per[0]["measured_delay_s"], per[0]["measured_delay_ci95_s"]
        else:
            dropped = sum(p["dropped_packets"] for p in per)
            mean, hw = _mean_ci([p["measured_delay_s"] for p in per])
        rec = {
            "src_bus": f.src_bus,
            "dst_bus": f.dst_bus,
            "hops": len(f.path) - 1,
            "buses": [labels[i] for i in f.path],
            "analytic_delay_s": analytic[k][0],
            "analytic_delay_relay_only_s": analytic[k][1],
            "measured_delay_s": mean,
            "measured_delay_ci95_s": hw,
            "loss_ratio": dropped / sent if sent else float("nan"),
        }
        if opts.mode == "validate":
            # Delay = propagation (sum of link delays) + queueing part (waiting
            # and transmission at every sending port, resends included).
            prop = analytic[k][2]
            rec["propagation_delay_s"] = prop
            rec["analytic_queueing_delay_s"] = analytic[k][0] - prop
            rec["measured_queueing_delay_s"] = mean - prop
        if opts.mode == "round":
            arr = [p["block_arrival_s"] for p in per]
            rec["block_arrival_s"], rec["block_arrival_ci95_s"] = _mean_ci(arr)
        flow_recs.append(rec)
        row = {"algorithm": a, **{k2: v for k2, v in rec.items() if k2 != "buses"},
               "buses": " ".join(str(b) for b in rec["buses"]),
               "sent_packets": sent, "received_packets": recv, "dropped_packets": dropped}
        if opts.mode == "validate":
            row["queue_drops"] = sum(p["queue_drops"] for p in per)
            row["flowmon_tx_packets"] = sum(p["flowmon"].get("tx_packets", 0) for p in per)
            row["flowmon_rx_packets"] = sum(p["flowmon"].get("rx_packets", 0) for p in per)
            row["flowmon_dropped_packets"] = sum(p["flowmon"].get("dropped_packets", 0) for p in per)
        flow_rows.append(row)
    # Ports: measured in both modes (round mode: TCP segments, which Eq. 1
    # does not model); CIs over replications, loss floored by the exact
    # binomial interval.
    link_meas = np.zeros(network.n_links)
    for e in range(network.n_links):
        u0, v0 = int(network.edge_a[e]), int(network.edge_b[e])
        for u, v in ((u0, v0), (v0, u0)):
            p = network.port_id(u, v)
            per = [r["ports"][(u, v)] for r in runs]
            off = sum(q["offered_packets"] for q in per)
            drp = sum(q["dropped_packets"] for q in per)
            busy = float(np.mean([q["busy_s"] / q["window_s"] for q in per if q["window_s"] > 0]))
            link_meas[e] += busy  # both directions, as the planned utilisation
            row = {
                "algorithm": a, "bus": labels[u], "peer_bus": labels[v],
                "rho": float(ports_an["rho"][p]),
                "capacity": sc.queue_capacity,
                "analytic_loss_probability": float(ports_an["loss_probability"][p]),
                "analytic_mean_time_in_system_s": float(ports_an["mean_time_in_system_s"][p]),
            }
            loss, loss_hw = _mean_ci([q["dropped_packets"] / q["offered_packets"]
                                      if q["offered_packets"] else float("nan") for q in per])
            if off:
                floor = binomial_half_width(drp, off)
                loss_hw = max(loss_hw, floor) if np.isfinite(loss_hw) else floor
            w, w_hw = _mean_ci([q["mean_time_in_system_s"] for q in per])
            row.update({
                "measured_loss_probability": loss,
                "measured_loss_probability_ci95": loss_hw,
                "measured_mean_time_in_system_s": w,
                "measured_mean_time_in_system_ci95_s": w_hw,
                "measured_rho": busy,
                "offered_packets": off,
                "dropped_packets": drp,
            })
            port_rows.append(row)
    for lk in ap.links:
        row = {"algorithm": a, "a_bus": lk.a_bus, "b_bus": lk.b_bus, "bandwidth_mbps": lk.bandwidth_mbps,
               "length_km": lk.length_km, "delay_s": lk.delay_s, "residual_mbps": lk.residual_mbps,
               "utilisation": lk.utilisation}
        if opts.mode == "validate":
            row["offered_utilisation"] = lk.utilisation * scale
        # Both directions' busy fractions added (validate: the measured
        # window; round: the whole round).
        row["measured_utilisation"] = link_meas[network.link_id(network.index[lk.a_bus], network.index[lk.b_bus])]
        link_rows.append(row)
    entry = {
        "load_balance": ap.load_balance,
        "generator_bus": ap.generator_bus,
        "nodes_total": len(labels),
        "flows": flow_recs,
    }
    if opts.mode == "round":
        entry.update(_round_entry(sc, flows, runs, labels))
        entry["max_link_utilisation"] = float(np.max(link_meas)) if link_meas.size else 0.0
    else:
        entry.update({
            "nodes_appended": None,
            "blocks_rejected": 0,
            "max_port_rho": float(np.max(ports_an["rho"])),
        })
    return RunResult(
        algorithm=a, mode=opts.mode, header=dict(header), summary=entry, timing=timing,
        flows=pd.DataFrame(flow_rows), ports=pd.DataFrame(port_rows), links=pd.DataFrame(link_rows),
        flowmon_path=flowmon_path, routes=runs[0].get("routes", prepared.routes), raw=runs,
        net=sc.net,
    )


def _round_entry(sc, flows, runs, labels) -> dict:
    gts = [r["generation_time_s"] for r in runs]
    gt, gt_hw = _mean_ci(gts)
    first = runs[0]
    # Measured min-max: node whose slowest data-block arrival is earliest.
    worst = {}
    for (s, d), t in first["arrival_s"].items():
        worst[d] = max(worst.get(d, 0.0), t)
    sources = {f.src for f in flows}
    for t_node in sources:
        worst.setdefault(t_node, 0.0)
    arrivals_at = {}
    for (s, d) in first["arrival_s"]:
        arrivals_at[d] = arrivals_at.get(d, 0) + 1
    complete = {d: w for d, w in worst.items() if arrivals_at.get(d, 0) >= len(sources - {d})}
    measured_gen = labels[min(complete, key=lambda d: (complete[d], d))] if complete else None
    ok = all(g is not None for g in gts)
    return {
        "generation_time_s": gt if ok else None,
        "generation_time_ci95_s": gt_hw if ok else None,
        "generation_times_s": gts,
        "nodes_appended": min(r["nodes_appended"] for r in runs),
        "blocks_rejected": first["blocks_rejected"],
        "blocks_flagged": first["blocks_flagged"] if sc.datacheck.enabled else None,
        "reject_reasons": first["reject_reasons"],
        "nodes": {str(labels[v]): rec for v, rec in enumerate(first["nodes"])},
        "packets": first["packets"],
        "append_errors": {str(k): v for k, v in first["append_errors"].items()},
        "cut_off_buses": [labels[i] for i in first["cut_off"]],
        "replanned_pairs": first["replanned_pairs"],
        "retried_transfers": first["retried_transfers"],
        "measured_generator_bus": measured_gen,
        "generator_block_built_s": first["generator_built_s"],
        "round_end_s": first["end_s"],
    }
