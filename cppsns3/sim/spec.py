"""Pure description of one packet-level run (no ns-3 here).

The parent process plans (pure Python) and turns a plan into a
:class:`RunSpec`: node labels, links, flows with packet rates, and every
forwarding path to install.  The spec is plain picklable data (typed
dataclasses, tuple keys), handed to the process that builds and runs the
ns-3 simulation: a forked child for ``cppsns3 run``, or the calling process
for :class:`cppsns3.Simulation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from cppsns3.errors import ScenarioError
from cppsns3.model.delay import path_delay_s, path_propagation_s, port_figures

__all__ = [
    "LinkSpec",
    "FlowSpec",
    "RoundPrep",
    "RelayFault",
    "RoundInputs",
    "RunSpec",
    "link_specs",
    "build_spec",
    "delay_graph",
    "planned_flows",
    "complete_routes",
    "traffic_scale",
    "port_loads_mbps",
    "analytic_flow_delays",
]


@dataclass(frozen=True)
class LinkSpec:
    """One CPPS link between node indices ``a < b`` (what ns-3 installs)."""

    a: int
    b: int
    rate_bps: float
    delay_s: float
    length_km: float = 0.0


@dataclass(frozen=True)
class FlowSpec:
    """One (source, destination) flow; ``src``/``dst`` are node indices."""

    index: int
    src: int
    dst: int
    src_bus: object
    dst_bus: object
    path: tuple  # node indices, src first
    rate_mbps: float  # offered in this run (scaled)
    rate_per_s: float  # packets per second (validate mode)


@dataclass(frozen=True)
class RoundPrep:
    """The signed blocks of a round and their verdicts (made in the parent).

    Attributes
    ----------
    terminals : dict
        Node index -> :class:`cppsns3.chain.Terminal` (keys of every node).
    registry : cppsns3.chain.Registry
        Registration contract with every registered terminal.
    payloads : dict
        Node index of a demand terminal -> the bytes it sends.
    verdicts : dict
        SHA-256 digest of a payload -> ``(ok, reason)``.
    flagged_records : dict
        Digest -> records the Eq. 5-8 check flags (data validation on).
    block_bytes : dict
        Node index -> size of its payload.
    blocks : dict
        Digest -> the decoded :class:`cppsns3.chain.DataBlock` of each payload
        that verifies (what a chain file records).
    replays : dict
        Node index of a ``replay`` terminal -> the older, validly signed
        block it sends again beside its own (its verdict is in ``verdicts``).
    """

    terminals: dict
    registry: object
    payloads: dict
    verdicts: dict
    flagged_records: dict
    block_bytes: dict
    blocks: dict = field(default_factory=dict)
    replays: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RelayFault:
    """A compromised relay (``relay_drop``, ``relay_delay``, ``relay_tamper`` faults of one node together)."""

    node: int
    drop_fraction: float = 0.0
    delay_s: float = 0.0
    tamper_fraction: float = 0.0


@dataclass(frozen=True)
class RoundInputs:
    """What round mode adds to a spec: blocks, generator, timed link failures and repairs, compromised relays."""

    prep: RoundPrep
    generator: int  # node index
    link_down: tuple = ()  # (at_s, link index), sorted
    link_up: tuple = ()  # (at_s, link index), sorted: a failed link back in service
    relay_faults: tuple = ()  # RelayFault
    broadcast: str = "unicast"  # or "relay": nodes pass verified blocks on to their neighbours
    timestamp_s: float = 0.0  # added to the simulated time for the generator block's timestamp
    prev_hash: bytes = bytes(32)  # the chain tip the generator block points at (genesis)
    height: int = 0  # the generator block's height


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to build and run one ns-3 simulation."""

    scenario: str
    algorithm: str
    mode: str  # "validate" or "round"
    seed: int
    replication: int
    labels: tuple
    links: tuple  # LinkSpec
    capacity: int
    mean_packet_bytes: float
    t_wait_s: float
    flows: tuple  # FlowSpec
    routes: dict  # (src, dst) -> node path, every pair that carries traffic
    duration_s: float = 0.0
    warmup_s: float = 0.0
    max_attempts: int = 8
    record_seq_limit: int = 5
    flowmon_xml: str | None = None
    round: RoundInputs | None = None


def traffic_scale(algorithm_plans, load_rho: float) -> float:
    """Factor on the planned rates so the busiest port of any compared plan has ``load_rho``.

    One factor for all algorithms of a run, so they carry the same traffic.

    Raises
    ------
    ScenarioError
        If ``load_rho`` is not in (0, 1.5] or no port carries traffic.
    """
    if not (0 < load_rho <= 1.5):
        raise ScenarioError(f"--load must be in (0, 1.5], got {load_rho!r}")
    busiest = max((p.rho for ap in algorithm_plans for p in ap.ports), default=0.0)
    if busiest <= 0:
        raise ScenarioError("--load: the plan puts no traffic on any port")
    return load_rho / busiest


def link_specs(network) -> tuple:
    """The links of a network as :class:`LinkSpec`, in link-index order."""
    return tuple(
        LinkSpec(int(network.edge_a[e]), int(network.edge_b[e]), float(network.bandwidth_mbps[e]) * 1e6,
                 float(network.delay_s[e]), float(network.length_km[e]))
        for e in range(network.n_links)
    )


def planned_flows(network, aplan, scale: float, mean_packet_bytes: float) -> tuple:
    """Flows of a plan in a fixed order (source label, destination label)."""
    idx = network.index
    out = []
    paths = sorted(aplan.paths, key=lambda p: (str(p.src_bus), str(p.dst_bus)))
    for i, p in enumerate(paths):
        rate = p.rate_mbps * scale
        out.append(FlowSpec(
            index=i,
            src=idx[p.src_bus],
            dst=idx[p.dst_bus],
            src_bus=p.src_bus,
            dst_bus=p.dst_bus,
            path=tuple(idx[b] for b in p.buses),
            rate_mbps=rate,
            rate_per_s=rate * 1e6 / (8.0 * mean_packet_bytes),
        ))
    return tuple(out)


def delay_graph(links, n_nodes: int, down=()) -> nx.Graph:
    """Node-index graph of :class:`LinkSpec` weighted by propagation delay, without links ``down``."""
    g = nx.Graph()
    g.add_nodes_from(range(n_nodes))
    for e, lk in enumerate(links):
        if e not in down:
            g.add_edge(lk.a, lk.b, weight=lk.delay_s)
    return g


def complete_routes(network, planned: dict, extra_sources=()) -> dict:
    """Planned paths, plus a path for every pair that carries other traffic.

    - reverse traffic (TCP acknowledgements) of a planned pair (s, d) uses
      the reverse of the planned path, unless d has a planned path to s;
    - a source that is not a demand terminal (the generator) uses the
      minimum-propagation-delay path to every node.
    """
    routes = dict(planned)
    for (s, d), path in planned.items():
        routes.setdefault((d, s), tuple(reversed(path)))
    if extra_sources:
        g = delay_graph(link_specs(network), network.n_nodes)
        for s in extra_sources:
            if any(k[0] == s for k in planned):
                continue
            tree = nx.single_source_dijkstra_path(g, s, weight="weight")
            for d, path in tree.items():
                if d != s:
                    routes[(s, d)] = tuple(path)
                    routes.setdefault((d, s), tuple(reversed(path)))
    return routes


def port_loads_mbps(flows, network) -> np.ndarray:
    """Offered load per directed port (:func:`cppsns3.model.delay.port_id`) from flows."""
    load = np.zeros(2 * network.n_links)
    for f in flows:
        for u, v in zip(f.path[:-1], f.path[1:]):
            load[network.port_id(u, v)] += f.rate_mbps
    return load


def analytic_flow_delays(network, flows, capacity, mean_packet_bytes, t_wait_s):
    """Eq. 1-2 at the loads the flows offer.

    Returns
    -------
    per_flow : list of (delay_s, delay_relay_only_s, propagation_s)
        ``propagation_s``: :func:`cppsns3.model.delay.path_propagation_s`, the
        sum of the path's link delays (transmission is in the ports' W).
    ports : dict with arrays ``rho``, ``loss_probability``, ``mean_time_in_system_s``,
        ``load_mbps``, ``bandwidth_mbps`` per directed port.
    """
    load = port_loads_mbps(flows, network)
    bw = np.repeat(np.asarray(network.bandwidth_mbps, dtype=float), 2)
    rho, loss, w = port_figures(load, bw, mean_packet_bytes, capacity)
    cost = w + loss * t_wait_s
    prop = np.asarray(network.delay_s, dtype=float)
    per_flow = []
    for f in flows:
        ports = [network.port_id(u, v) for u, v in zip(f.path[:-1], f.path[1:])]
        per_flow.append((path_delay_s(ports, prop, cost), path_delay_s(ports, prop, cost, relay_only=True),
                         path_propagation_s(ports, prop)))
    return per_flow, {
        "rho": rho,
        "loss_probability": loss,
        "mean_time_in_system_s": w,
        "load_mbps": load,
        "bandwidth_mbps": bw,
    }


def build_spec(scenario, network, aplan, *, mode, seed, replication, scale=1.0, duration_s=0.0,
               warmup_s=0.0, routes=None, flows=None, round_inputs=None, flowmon_xml=None) -> RunSpec:
    """Assemble the spec of one run of one algorithm."""
    if flows is None:
        flows = planned_flows(network, aplan, scale, scenario.mean_packet_bytes)
    if routes is None:
        routes = complete_routes(network, {(f.src, f.dst): f.path for f in flows})
    return RunSpec(
        scenario=str(scenario.name),
        algorithm=aplan.name,
        mode=mode,
        seed=int(seed),
        replication=int(replication),
        labels=tuple(network.nodes),
        links=link_specs(network),
        capacity=int(scenario.queue_capacity),
        mean_packet_bytes=float(scenario.mean_packet_bytes),
        t_wait_s=float(scenario.t_wait_s),
        flows=tuple(flows),
        routes=dict(routes),
        duration_s=float(duration_s),
        warmup_s=float(warmup_s),
        flowmon_xml=flowmon_xml,
        round=round_inputs,
    )

