"""Plan results: what the CLI prints and the ns-3 layer consumes.

Concern: running the routers of :data:`~cppsns3.model.routing.routers.ROUTERS`
on a scenario (:func:`plan`) and summarising each
:class:`~cppsns3.model.routing.state.RoutingState` into frozen records: per
flow (:class:`PathPlan`, Eq. 2 delays), per link (:class:`LinkPlan`), per
sending port (:class:`PortPlan`, M/M/1/K figures), per algorithm
(:class:`AlgorithmPlan`, Load_B and the generator) and per scenario
(:class:`Plan`, with the relaxation's certified lower bound of Load_B,
:func:`~cppsns3.model.routing.relax.solve_relaxation`, computed once per plan
and shared with ``qtdr-ls``).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field, replace

import numpy as np

from cppsns3.errors import NoFeasiblePath, ScenarioError
from cppsns3.model.delay import (
    group_by_length, path_delay_rows_s, port_figures, select_generator, service_rate_per_s,
)
from cppsns3.model.routing.relax import MAX_BOUND_FLOWS, bound_affordable, solve_relaxation
from cppsns3.model.routing.routers import ROUTERS, _sources
from cppsns3.model.routing.state import RoutingState, load_balance
from cppsns3.model.scenario import ALGORITHMS

__all__ = ["PathPlan", "LinkPlan", "PortPlan", "AlgorithmPlan", "Plan", "plan"]


@dataclass(frozen=True)
class PathPlan:
    """One planned flow.  ``buses`` are site labels, source first."""

    src_bus: object
    dst_bus: object
    buses: tuple
    rate_mbps: float
    delay_s: float
    delay_relay_only_s: float
    hops: int

    def to_json_dict(self) -> dict:
        return {"src_bus": self.src_bus, "dst_bus": self.dst_bus, "buses": list(self.buses),
                "delay_s": self.delay_s, "delay_relay_only_s": self.delay_relay_only_s,
                "hops": self.hops, "rate_mbps": self.rate_mbps}


@dataclass(frozen=True)
class LinkPlan:
    """One undirected link, ``a_bus < b_bus`` (in node order)."""

    a_bus: object
    b_bus: object
    bandwidth_mbps: float
    length_km: float
    delay_s: float
    flow_mbps: float
    flow_ab_mbps: float
    flow_ba_mbps: float
    residual_mbps: float
    utilisation: float

    def to_json_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "a_bus", "b_bus", "bandwidth_mbps", "residual_mbps", "utilisation", "length_km",
            "delay_s", "flow_mbps", "flow_ab_mbps", "flow_ba_mbps")}


@dataclass(frozen=True)
class PortPlan:
    """One sending port (the queue at ``bus`` towards ``peer_bus``)."""

    bus: object
    peer_bus: object
    load_mbps: float
    bandwidth_mbps: float
    rho: float
    capacity: int
    arrival_rate_per_s: float
    service_rate_per_s: float
    loss_probability: float
    mean_time_in_system_s: float

    def to_json_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AlgorithmPlan:
    """Result of one routing algorithm."""

    name: str
    load_balance: float
    max_delay_s: float
    max_delay_relay_only_s: float
    max_hops: int
    generator_bus: object
    generator_delay_s: float
    paths: tuple
    links: tuple
    ports: tuple
    plan_time_s: float

    def path(self, src_bus, dst_bus) -> PathPlan:
        """The planned path between two site labels.

        Raises
        ------
        KeyError
        """
        for p in self.paths:
            if p.src_bus == src_bus and p.dst_bus == dst_bus:
                return p
        raise KeyError((src_bus, dst_bus))

    def to_json_dict(self) -> dict:
        return {
            "load_balance": self.load_balance,
            "max_delay_s": self.max_delay_s,
            "max_delay_relay_only_s": self.max_delay_relay_only_s,
            "max_hops": self.max_hops,
            "generator_bus": self.generator_bus,
            "generator_delay_s": self.generator_delay_s,
            "plan_time_s": self.plan_time_s,
            "paths": [p.to_json_dict() for p in self.paths],
            "links": [x.to_json_dict() for x in self.links],
            "ports": [x.to_json_dict() for x in self.ports],
        }


@dataclass(frozen=True)
class Plan:
    """Plans of one scenario under one or more algorithms.

    ``generator_bus`` is that of the first algorithm in ``algorithms``
    (canonical order of :data:`~cppsns3.model.scenario.ALGORITHMS`); each
    algorithm has its own too.  ``load_balance_lower_bound`` (Mbit/s) is the
    relaxation's certified lower bound of Load_B over every routing of the
    path set ``lower_bound_candidates`` names (so over every routing that
    meets Eq. 4); ``lower_bound_time_s`` is the time it took.
    """

    grid: str
    algorithms: dict
    generator_bus: object
    delay_bound_ms: float
    hop_bound: int
    queue_capacity: int
    mean_packet_bytes: float
    sampling_period_s: float
    plan_time_s: float
    load_balance_lower_bound: float = float("nan")
    lower_bound_candidates: str = ""
    lower_bound_time_s: float = 0.0
    scenario: object = field(default=None, compare=False, repr=False)

    @property
    def lower_bound_or_none(self):
        """``load_balance_lower_bound``, or None where it was not computed (JSON null)."""
        b = self.load_balance_lower_bound
        return b if b == b else None

    def to_dict(self) -> dict:
        """The ``cppsns3 plan --json`` object."""
        return self.to_json_dict()

    def to_json_dict(self) -> dict:
        return {
            "grid": self.grid,
            "generator_bus": self.generator_bus,
            "delay_bound_ms": self.delay_bound_ms,
            "hop_bound": self.hop_bound,
            "queue_capacity": self.queue_capacity,
            "mean_packet_bytes": self.mean_packet_bytes,
            "sampling_period_s": self.sampling_period_s,
            "plan_time_s": self.plan_time_s,
            "load_balance_lower_bound": self.lower_bound_or_none,
            "lower_bound_candidates": self.lower_bound_candidates,
            "lower_bound_time_s": self.lower_bound_time_s,
            "algorithms": {k: v.to_json_dict() for k, v in self.algorithms.items()},
        }


def _summarise(name, st: RoutingState, network, scenario, elapsed_s) -> AlgorithmPlan:
    st = st.arrays()  # every commit in the numpy arrays
    lab = network.nodes
    _, loss, w = port_figures(st.port_flow, st.port_bw, st.mean_pkt, st.K)
    cost = st.port_costs()
    srcs = _sources(scenario, network)
    pairs = [(row, s, rate, d) for row, (s, rate) in enumerate(srcs) for d in range(st.n) if d != s]
    node_paths = [st.paths[(s, d)] for _, s, _, d in pairs]
    full = np.zeros(len(pairs))
    relay = np.zeros(len(pairs))
    labels = [None] * len(pairs)
    lab_obj = np.empty(len(lab), dtype=object)
    lab_obj[:] = list(lab)
    for rows, nodes in group_by_length(node_paths):
        ports = st.port_matrix(nodes)
        full[rows] = path_delay_rows_s(ports, st.prop, cost)
        relay[rows] = path_delay_rows_s(ports, st.prop, cost, relay_only=True)
        for r, x in zip(rows.tolist(), lab_obj[nodes].tolist()):
            labels[r] = tuple(x)
    delay_mat = np.zeros((len(srcs), st.n))
    paths = []
    for k, (row, s, rate, d) in enumerate(pairs):
        delay_mat[row, d] = full[k]
        paths.append(PathPlan(lab[s], lab[d], labels[k], rate, float(full[k]), float(relay[k]),
                              len(node_paths[k]) - 1))
    # the final loads may push an earlier path over the bound: check them all
    for p in paths:
        if p.delay_s > st.bound_s:
            raise NoFeasiblePath(
                f"no feasible path from bus {p.src_bus!r} to bus {p.dst_bus!r}: delay_bound_ms "
                f"constraint after all flows were routed ({p.delay_s * 1e3:.3f} ms > "
                f"{scenario.delay_bound_ms} ms)", p.src_bus, p.dst_bus, "delay_bound_ms")
    links = []
    for e in range(st.E):
        a, b = int(network.edge_a[e]), int(network.edge_b[e])
        bw = float(st.bw[e])
        rb = float(bw - st.flow[e])
        links.append(LinkPlan(lab[a], lab[b], bw, float(network.length_km[e]), float(st.prop[e]),
                              float(st.flow[e]), float(st.port_flow[network.port_id(a, b)]),
                              float(st.port_flow[network.port_id(b, a)]), rb, 1.0 - rb / bw))
    mu = st.mu
    lam = service_rate_per_s(st.port_flow, st.mean_pkt)
    ports = []
    for p in range(2 * st.E):
        u, v = int(st.tail[p]), int(st.head[p])
        ports.append(PortPlan(lab[u], lab[v], float(st.port_flow[p]), float(st.port_bw[p]),
                              float(st.port_flow[p] / st.port_bw[p]), int(st.K), float(lam[p]),
                              float(mu[p]), float(loss[p]), float(w[p])))
    gen, gen_delay = select_generator(delay_mat, lab)
    return AlgorithmPlan(
        name=name,
        load_balance=load_balance(st.bw - st.flow),
        max_delay_s=max((p.delay_s for p in paths), default=0.0),
        max_delay_relay_only_s=max((p.delay_relay_only_s for p in paths), default=0.0),
        max_hops=max((p.hops for p in paths), default=0),
        generator_bus=gen,
        generator_delay_s=gen_delay,
        paths=tuple(paths),
        links=tuple(links),
        ports=tuple(ports),
        plan_time_s=elapsed_s,
    )


def plan(scenario, algorithms=None, *, lower_bound: bool = True) -> Plan:
    """Route a scenario with one or more algorithms.

    Parameters
    ----------
    scenario : Scenario
        From :func:`cppsns3.model.scenario.load_scenario` (network built).
    algorithms : str or sequence of str, optional
        Names of :data:`~cppsns3.model.scenario.ALGORITHMS` or ``"all"``;
        default the scenario's ``algorithms``.
    lower_bound : bool
        Compute the relaxation's lower bound (default).  ``False`` skips it
        (``load_balance_lower_bound`` is then NaN) unless ``qtdr-ls``, which
        starts from the relaxation, is among the algorithms; the CLI and
        every run always ask for it.  Plans of more than
        :data:`~cppsns3.model.routing.relax.MAX_BOUND_FLOWS` flows never
        compute it (NaN; ``lower_bound_candidates`` says why).

    Returns
    -------
    Plan
        ``plan_time_s`` counts the lower bound, routing and summarising only
        (no imports, no grid loading); an algorithm's own ``plan_time_s``
        includes the bound's time where it uses the relaxation (``qtdr-ls``).

    Raises
    ------
    ScenarioError
        If an algorithm name is unknown or the scenario has no network.
    NoFeasiblePath
        If a pair cannot be routed within the constraints.
    """
    if scenario.network is None:
        raise ScenarioError("scenario: network not built (load it with load_scenario)")
    if algorithms is None:
        names = list(scenario.algorithms)
    elif isinstance(algorithms, str):
        names = list(ROUTERS) if algorithms == "all" else [algorithms]
    else:
        names = list(algorithms)
    for a in names:
        if a not in ROUTERS:
            raise ScenarioError(f"algorithm: unknown algorithm {a!r} "
                                f"(known: {', '.join(ALGORITHMS + ('all',))})")
    names = [a for a in ROUTERS if a in names]
    network = scenario.network
    t_all = time.perf_counter()
    need = lower_bound or any(getattr(ROUTERS[a], "uses_relaxation", False) for a in names)
    relax = solve_relaxation(network, scenario) if need and bound_affordable(network, scenario) else None
    t_bound = time.perf_counter() - t_all
    results = {}
    # routing allocates millions of small lists that live until the end: the
    # cyclic collector's passes over them cost more than the routing itself
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for a in names:
            t0 = time.perf_counter()
            route = ROUTERS[a]
            uses = getattr(route, "uses_relaxation", False)
            st = route(network, scenario, relaxation=relax) if uses else route(network, scenario)
            results[a] = _summarise(a, st, network, scenario, 0.0)
            del st
            results[a] = _with_time(results[a], time.perf_counter() - t0 + (t_bound if uses else 0.0))
    finally:
        if gc_was_enabled:
            gc.enable()
    total = time.perf_counter() - t_all
    first = results[names[0]]
    return Plan(grid=scenario.grid, algorithms=results, generator_bus=first.generator_bus,
                delay_bound_ms=scenario.delay_bound_ms, hop_bound=scenario.hop_bound,
                queue_capacity=scenario.queue_capacity, mean_packet_bytes=scenario.mean_packet_bytes,
                sampling_period_s=scenario.sampling_period_s, plan_time_s=total,
                load_balance_lower_bound=relax.lower_bound_mbps if relax else float("nan"),
                lower_bound_candidates=relax.candidates if relax else _no_bound(need, network, scenario),
                lower_bound_time_s=t_bound,
                scenario=scenario)


def _no_bound(asked, network, scenario) -> str:
    if not asked:
        return "not computed (lower_bound=False)"
    n = len(scenario.terminals) * (network.n_nodes - 1)
    return f"not computed ({n} flows > MAX_BOUND_FLOWS = {MAX_BOUND_FLOWS})"


def _with_time(ap: AlgorithmPlan, t: float) -> AlgorithmPlan:
    return replace(ap, plan_time_s=t)
