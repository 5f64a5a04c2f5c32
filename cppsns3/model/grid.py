"""From a pandapower grid to the CPPS communication network.

The paper's rule (Yang et al. 2018, section "Simulation of IEEE 39 standard bus
system"): one CPPS terminal per geographic position, and terminals linked along
the electrical connections.  Here:

* every in-service bus is a terminal (a *site*), named by the bus ``name`` (the
  IEEE bus number in the IEEE cases; an ``int`` whenever the name is integral);
* every in-service line and two-winding transformer whose two buses are in
  service becomes one undirected communication link; parallel circuits between
  the same two sites share one link (one fibre route along one right of way);
* with ``merge_transformers=True`` the buses joined by in-service transformers
  are one site (a substation: one geographic position); the site is named by its
  lowest bus name and the transformer itself yields no link.

Link length (``length_km``)
    ``line.length_km`` is the 1.0 placeholder in the MATPOWER-derived cases, so
    when *every* in-service line has ``length_km == 1.0`` the length is derived
    from the series reactance: ``|x_ohm| / x_typ`` with ``x_typ`` the reactance
    per km of a typical overhead line of the voltage class,
    0.30 ohm/km at >= 300 kV (bundled conductors) and 0.40 ohm/km below,
    clipped to [1, 500] km (the clip catches series capacitors, which give
    negative reactance, and the artificial low-voltage branches of case14).
    Otherwise the given lengths are used (clipped below at 0.01 km).  A
    transformer link (when not merged) is inside one substation:
    ``TRANSFORMER_LENGTH_KM`` = 0.1 km.  Parallel circuits: the shortest.

Bandwidth (``bandwidth_mbps``)
    By voltage class of the link, ``max(vn_kv)`` of its two buses, through a
    :class:`BandwidthRule` (scenario table ``[bandwidth]``): the first class
    whose ``min_kv`` the voltage reaches, else ``default_mbps``.

Propagation delay (``delay_s``) = ``length_km * 1000 / propagation_speed_m_per_s``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from cppsns3.errors import ScenarioError

__all__ = [
    "BandwidthRule",
    "CppsNetwork",
    "TRANSFORMER_LENGTH_KM",
    "MIN_LINE_LENGTH_KM",
    "MAX_LINE_LENGTH_KM",
    "typical_reactance_ohm_per_km",
    "load_grid",
    "cached_grid",
    "build_network",
    "bus_label",
    "bus_labels",
    "fault_lines",
]

TRANSFORMER_LENGTH_KM = 0.1
MIN_LINE_LENGTH_KM = 1.0
MAX_LINE_LENGTH_KM = 500.0
EHV_KV = 300.0


def typical_reactance_ohm_per_km(vn_kv: float) -> float:
    """Series reactance per km of a typical overhead line of voltage class ``vn_kv``.

    0.30 ohm/km at 300 kV and above, 0.40 ohm/km below.
    """
    return 0.30 if vn_kv >= EHV_KV else 0.40


@dataclass(frozen=True)
class BandwidthRule:
    """Link bandwidth by voltage class.

    Parameters
    ----------
    default_mbps : float
        Bandwidth of links below every class threshold.
    classes : tuple of (min_kv, mbps)
        Sorted by ``min_kv`` descending on construction; a link of voltage ``kv``
        gets the ``mbps`` of the first class with ``kv >= min_kv``.

    Raises
    ------
    ScenarioError
        If a bandwidth is not positive and finite or a threshold is negative.
    """

    default_mbps: float = 10000.0
    classes: tuple = ()

    def __post_init__(self):
        if not (math.isfinite(self.default_mbps) and self.default_mbps > 0):
            raise ScenarioError(f"bandwidth.default_mbps must be > 0, got {self.default_mbps!r}")
        cls = []
        for i, (kv, mbps) in enumerate(self.classes):
            if not (math.isfinite(kv) and kv >= 0):
                raise ScenarioError(f"bandwidth.classes[{i}].min_kv must be >= 0, got {kv!r}")
            if not (math.isfinite(mbps) and mbps > 0):
                raise ScenarioError(f"bandwidth.classes[{i}].mbps must be > 0, got {mbps!r}")
            cls.append((float(kv), float(mbps)))
        object.__setattr__(self, "classes", tuple(sorted(cls, key=lambda c: -c[0])))

    def mbps_for(self, vn_kv: float) -> float:
        """Bandwidth in Mbit/s of a link of voltage class ``vn_kv``."""
        for kv, mbps in self.classes:
            if vn_kv >= kv:
                return mbps
        return float(self.default_mbps)


def bus_label(name, index: int):
    """The label of a bus: its ``name`` as int when integral, else as str.

    Falls back to ``index + 1`` when the name is missing.
    """
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return int(index) + 1
    if isinstance(name, (int, np.integer)):
        return int(name)
    if isinstance(name, (float, np.floating)) and float(name).is_integer():
        return int(name)
    s = str(name).strip()
    try:
        return int(s)
    except ValueError:
        return s


def bus_labels(net) -> dict:
    """The one bus-label rule: bus index -> label, for every bus of ``net``.

    Each bus is named by :func:`bus_label` of its ``name``; if those labels
    are not unique, every bus is named ``index + 1`` instead.

    Examples
    --------
    >>> import pandapower.networks as pn
    >>> labels = bus_labels(pn.case14())
    >>> labels[0], labels[13]
    (1, 14)
    """
    label = {int(i): bus_label(n, int(i)) for i, n in zip(net.bus.index, net.bus["name"])}
    if len(set(label.values())) != len(label):
        label = {int(i): int(i) + 1 for i in net.bus.index}
    return label


def fault_lines(net, fault) -> list:
    """The pandapower line indices a ``line_trip`` fault trips.

    By ``line`` (one index), or by ``a_bus``/``b_bus`` labels: every line
    between those two buses (parallel circuits on one right of way).

    Raises
    ------
    KeyError
        With the field and the reason as its message (``"line: ..."``).
    """
    if fault.line is not None:
        if fault.line not in net.line.index:
            raise KeyError(f"line: no line {fault.line!r} in the grid ({len(net.line)} lines)")
        return [int(fault.line)]
    labels = bus_labels(net)
    want = {fault.a_bus, fault.b_bus}
    out = [int(i) for i, fb, tb in zip(net.line.index, net.line.from_bus, net.line.to_bus)
           if {labels[int(fb)], labels[int(tb)]} == want]
    if not out:
        raise KeyError(f"b_bus: no line between bus {fault.a_bus!r} and bus {fault.b_bus!r}")
    return out


@dataclass(frozen=True, eq=False)
class CppsNetwork:
    """The CPPS communication network built from a grid.

    Attributes
    ----------
    graph : networkx.Graph
        Nodes are site labels; node attributes ``buses`` (tuple of bus labels),
        ``vn_kv``; edge attributes ``length_km``, ``bandwidth_mbps``,
        ``delay_s`` (propagation), ``kind`` (``"line"``/``"trafo"``),
        ``vn_kv``, ``circuits``.
    nodes : tuple
        Site labels in a fixed order (sorted); index ``i`` is node ``i`` of the
        array form below.
    edge_a, edge_b : numpy.ndarray of int
        Node indices of each undirected link, ``edge_a < edge_b``.
    bandwidth_mbps, length_km, delay_s : numpy.ndarray of float
        Per link, same order.
    bus_to_site : dict
        Every in-service bus label to its site label.
    grid : str
        The grid it was built from.
    """

    graph: nx.Graph
    nodes: tuple
    edge_a: np.ndarray
    edge_b: np.ndarray
    bandwidth_mbps: np.ndarray
    length_km: np.ndarray
    delay_s: np.ndarray
    bus_to_site: dict
    grid: str = ""
    index: dict = field(default_factory=dict)
    edge_index: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        return int(self.edge_a.size)

    def site_of(self, bus):
        """Site label of a bus label.

        Raises
        ------
        KeyError
            If the bus is not an in-service bus of the grid.
        """
        return self.bus_to_site[bus]

    def port_id(self, u: int, v: int) -> int:
        """Directed port from node index ``u`` to ``v`` (:func:`cppsns3.model.delay.port_id`)."""
        from cppsns3.model.delay import port_id

        return port_id(self.edge_index, u, v)

    def link_id(self, u, v) -> int:
        """Index of the undirected link between node indices ``u`` and ``v``.

        Raises
        ------
        KeyError
            If there is no such link.
        """
        return self.edge_index[(u, v) if u < v else (v, u)]


def load_grid(grid: str, base_dir: Path | str | None = None):
    """Load a pandapower net by ``pandapower.networks`` function name or JSON path.

    Parameters
    ----------
    grid : str
        A function name of :mod:`pandapower.networks` (``"case39"``), a path to
        a pandapower JSON file (relative paths resolve against ``base_dir``), or
        ``"simbench:CODE"``: ``simbench.get_simbench_net(CODE)``, e.g.
        ``"simbench:1-MV-rural--0-sw"`` (bus names such as ``"MV1.101 Bus 4"``
        label the buses; the net keeps its time-series profiles in
        ``net.profiles``, which :class:`cppsns3.chain.measurements.PowerFlowStepper` uses).
    base_dir : path, optional
        Folder for relative paths (the scenario file's folder).

    Returns
    -------
    pandapowerNet
        A fresh copy (the loaded net is cached per process).

    Raises
    ------
    ScenarioError
        If the name is neither a known network function nor an existing file,
        or the file does not load.
    """
    import copy

    return copy.deepcopy(_load_grid_cached(str(grid), _base_key(grid, base_dir)))


def cached_grid(grid: str, base_dir: Path | str | None = None):
    """The process-wide cached net of :func:`load_grid`: read it, never change it."""
    return _load_grid_cached(str(grid), _base_key(grid, base_dir))


def _base_key(grid, base_dir) -> str:
    """The folder part of the cache key: none for names that no folder changes (``simbench:``)."""
    if base_dir is None or str(grid).startswith("simbench:"):
        return ""
    return str(base_dir)


@functools.lru_cache(maxsize=8)
def _load_grid_cached(grid: str, base_dir: str):
    import warnings

    import pandapower as pp
    import pandapower.networks as pn

    if grid.startswith("simbench:"):
        return _load_simbench(grid)
    looks_like_file = grid.endswith(".json") or "/" in grid or "\\" in grid
    if not looks_like_file:
        fn = getattr(pn, grid, None)
        if fn is None or not callable(fn) or grid.startswith("_"):
            raise ScenarioError(f"grid: unknown grid {grid!r} (not a pandapower.networks function or .json file)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = fn()
        except TypeError as exc:  # needs arguments: not a ready-made grid
            raise ScenarioError(f"grid: {grid!r} is not a ready-made pandapower network ({exc})") from None
        if not isinstance(net, pp.pandapowerNet):
            raise ScenarioError(f"grid: {grid!r} is not a pandapower network (pandapower.networks.{grid}() "
                                f"returns a {type(net).__name__})")
        return net
    path = Path(grid)
    if not path.is_absolute() and base_dir:
        path = Path(base_dir) / path
    if not path.is_file():
        raise ScenarioError(f"grid: file {grid!r} not found")
    try:
        return pp.from_json(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise ScenarioError(f"grid: file {grid!r} is not a pandapower JSON net ({exc})") from None


def _load_simbench(grid: str):
    """The SimBench net of ``"simbench:CODE"`` (with its profiles in ``net.profiles``)."""
    import warnings

    code = grid[len("simbench:"):].strip()
    try:
        import simbench
    except ImportError:  # pragma: no cover - a declared dependency
        raise ScenarioError(f"grid: {grid!r} needs the simbench package (pip install simbench)") from None
    if code not in simbench.collect_all_simbench_codes():
        raise ScenarioError(f"grid: unknown SimBench code {code!r} in {grid!r} (e.g. 'simbench:1-MV-rural--0-sw')")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = simbench.get_simbench_net(code)
    except Exception as exc:  # noqa: BLE001 - data the package does not ship
        msg = " ".join(str(exc).split())[:200]
        raise ScenarioError(f"grid: SimBench code {code!r} in {grid!r} does not load ({msg})") from None
    if net is None or len(net.bus) == 0:
        raise ScenarioError(f"grid: SimBench code {code!r} in {grid!r} does not load (no buses)")
    return net


class _UnionFind:
    def __init__(self, items):
        self.parent = {x: x for x in items}

    def find(self, x):
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _sort_key(label):
    return (0, label, "") if isinstance(label, int) else (1, 0, str(label))


def build_network(
    net,
    *,
    bandwidth: BandwidthRule | None = None,
    merge_transformers: bool = False,
    propagation_speed_m_per_s: float = 2.0e8,
    grid: str = "",
) -> CppsNetwork:
    """Build the CPPS network of a pandapower net (rules in the module docstring).

    Parameters
    ----------
    net : pandapowerNet
    bandwidth : BandwidthRule, optional
        Defaults to ``BandwidthRule()`` (10 Gbit/s everywhere).
    merge_transformers : bool
        One site per group of transformer-joined buses.
    propagation_speed_m_per_s : float
        Signal speed in the fibre.
    grid : str
        Name recorded on the result.

    Raises
    ------
    ScenarioError
        If bus names are not unique, the speed is not positive, or the net has
        no in-service bus.
    """
    if not (math.isfinite(propagation_speed_m_per_s) and propagation_speed_m_per_s > 0):
        raise ScenarioError(
            f"propagation_speed_m_per_s must be > 0, got {propagation_speed_m_per_s!r}")
    rule = bandwidth or BandwidthRule()
    bus = net.bus
    in_service = bus.index[bus.in_service.astype(bool).to_numpy()]
    if len(in_service) == 0:
        raise ScenarioError(f"grid: {grid!r} has no in-service bus")
    all_labels = bus_labels(net)
    label = {int(i): all_labels[int(i)] for i in in_service}
    vn_kv = {int(i): float(bus.at[i, "vn_kv"]) for i in in_service}

    lines = net.line[net.line.in_service.astype(bool)]
    trafos = net.trafo[net.trafo.in_service.astype(bool)] if len(net.trafo) else net.trafo
    branches = []  # (kind, i, j, length_km)
    placeholder = bool(len(lines)) and bool(np.all(lines.length_km.to_numpy() == 1.0))
    for fb, tb, x, ln, par in zip(
        lines.from_bus.to_numpy(), lines.to_bus.to_numpy(), lines.x_ohm_per_km.to_numpy(),
        lines.length_km.to_numpy(), lines.parallel.to_numpy(),
    ):
        fb, tb = int(fb), int(tb)
        if fb not in label or tb not in label or fb == tb:
            continue
        kv = max(vn_kv[fb], vn_kv[tb])
        if placeholder:
            x_ohm = abs(float(x) * float(ln))  # one circuit's reactance
            length = x_ohm / typical_reactance_ohm_per_km(kv)
            length = min(max(length, MIN_LINE_LENGTH_KM), MAX_LINE_LENGTH_KM)
        else:
            length = max(float(ln), 0.01)
        branches.append(("line", fb, tb, length))
    uf = _UnionFind(label.keys())
    for hv, lv in zip(trafos.hv_bus.to_numpy(), trafos.lv_bus.to_numpy()) if len(trafos) else ():
        hv, lv = int(hv), int(lv)
        if hv not in label or lv not in label or hv == lv:
            continue
        if merge_transformers:
            uf.union(hv, lv)
        else:
            branches.append(("trafo", hv, lv, TRANSFORMER_LENGTH_KM))

    # sites
    members: dict[int, list[int]] = {}
    for i in label:
        members.setdefault(uf.find(i), []).append(i)
    site_of_idx = {}
    site_buses = {}
    site_kv = {}
    for root, idxs in members.items():
        labs = sorted((label[i] for i in idxs), key=_sort_key)
        site = labs[0]
        site_buses[site] = tuple(labs)
        site_kv[site] = max(vn_kv[i] for i in idxs)
        for i in idxs:
            site_of_idx[i] = site

    g = nx.Graph(grid=grid)
    for site in sorted(site_buses, key=_sort_key):
        g.add_node(site, buses=site_buses[site], vn_kv=site_kv[site])
    for kind, i, j, length in branches:
        a, b = site_of_idx[i], site_of_idx[j]
        if a == b:
            continue
        kv = max(vn_kv[i], vn_kv[j])
        if g.has_edge(a, b):
            d = g.edges[a, b]
            d["circuits"] += 1
            if length < d["length_km"]:
                d["length_km"] = length
            if kv > d["vn_kv"]:
                d["vn_kv"] = kv
            if kind == "line":
                d["kind"] = "line"
        else:
            g.add_edge(a, b, kind=kind, length_km=length, vn_kv=kv, circuits=1)
    for a, b, d in g.edges(data=True):
        d["bandwidth_mbps"] = rule.mbps_for(d["vn_kv"])
        d["delay_s"] = d["length_km"] * 1000.0 / propagation_speed_m_per_s

    nodes = tuple(g.nodes)
    index = {n: k for k, n in enumerate(nodes)}
    ea, eb, bw, lk, dl = [], [], [], [], []
    for a, b, d in g.edges(data=True):
        ia, ib = index[a], index[b]
        if ia > ib:
            ia, ib = ib, ia
        ea.append(ia)
        eb.append(ib)
        bw.append(d["bandwidth_mbps"])
        lk.append(d["length_km"])
        dl.append(d["delay_s"])
    order = np.lexsort((np.asarray(eb, dtype=np.int64), np.asarray(ea, dtype=np.int64))) if ea else np.zeros(0, int)
    edge_a = np.asarray(ea, dtype=np.int64)[order]
    edge_b = np.asarray(eb, dtype=np.int64)[order]
    edge_index = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(edge_a, edge_b))}
    return CppsNetwork(
        graph=g,
        nodes=nodes,
        edge_a=edge_a,
        edge_b=edge_b,
        bandwidth_mbps=np.asarray(bw, dtype=float)[order],
        length_km=np.asarray(lk, dtype=float)[order],
        delay_s=np.asarray(dl, dtype=float)[order],
        bus_to_site={label[i]: site_of_idx[i] for i in label},
        grid=grid,
        index=index,
        edge_index=edge_index,
    )
