"""Scenario files: TOML, loaded into frozen dataclasses and validated up front.

Schema (every key but ``grid`` and ``terminals`` is optional; defaults below):

.. code-block:: toml

    grid = "case39"                # pandapower.networks name or pandapower JSON path
    seed = 1                       # int >= 0
    sampling_period_s = 1.0        # one data block per terminal per period
    queue_capacity = 50            # K: packets a port holds incl. the one being sent
    delay_bound_ms = 50.0          # Delay_br of Eq. 4
    hop_bound = 12                 # Hop_br of Eq. 4; omitted: auto (see below)
    yen_k = 5                      # K shortest loopless paths per pair (QT-DR)
    t_wait_s = 0.01                # wait before a lost packet is sent again (Eq. 2)
    algorithms = ["qtdr", "qos-r", "ra-dbmm"]
    mean_packet_bytes = 5000.0     # mean size of the exponential packets, 30 B headers included
    propagation_speed_m_per_s = 2e8
    merge_transformers = false     # one site per transformer-joined group of buses

    [bandwidth]                    # link bandwidth by voltage class (max vn_kv of its buses)
    default_mbps = 10000.0
    classes = [{min_kv = 100.0, mbps = 40000.0}]

    [datacheck]                    # data validation (issue 10); only loaded and checked here
    enabled = false
    tolerance = 0.05

    [[terminals]]                  # demand terminals: data_mb per sampling period (1 MB = 1e6 bytes)
    bus = 1
    data_mb = 4.0

    [[faults]]                     # kind: link_down (a_bus, b_bus, at_s) |
    kind = "link_down"             #   tampered_block / unregistered_key (bus, at_s optional)
    at_s = 0.5
    a_bus = 1
    b_bus = 2

``hop_bound`` when omitted: the largest hop distance from a demand terminal to
any node, plus 2 (``AUTO_HOP_SLACK``).

Every error is a :class:`~cppsns3.errors.ScenarioError` naming the field and the
value.  Relative ``grid`` paths resolve against the scenario file's folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

from cppsns3.errors import ScenarioError
from cppsns3.model.delay import MAX_MEAN_PACKET_BYTES
from cppsns3.model.grid import BandwidthRule, CppsNetwork, build_network, load_grid
from cppsns3.model.names import ALGORITHMS, BROADCAST_MODES, DEFAULT_ALGORITHMS

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "FAULT_KINDS",
    "RELAY_KINDS",
    "AUTO_HOP_SLACK",
    "Terminal",
    "Fault",
    "DatacheckConfig",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "check_seed",
    "SEED_MIN",
    "SEED_MAX",
]

#: The largest K: ns-3's QueueSize holds a 32-bit packet count (MaxSize = K - 1).
MAX_QUEUE_CAPACITY = 2**32
#: Most candidate paths per pair: ``yen_k`` is an array dimension of the
#: k-shortest pass, and K beyond a few dozen changes no plan of these grids.
MAX_YEN_K = 1000
#: Link rates a scenario may give (Mbit/s): 1 kbit/s to 1 Pbit/s, so that the
#: service rates and Load_B's squares stay far inside float range.
MIN_BANDWIDTH_MBPS, MAX_BANDWIDTH_MBPS = 1e-3, 1e9
#: Largest per-terminal data volume per sampling period (MB): 1 TB.
MAX_DATA_MB = 1e6
#: Seeds ns-3's RngSeedManager accepts: 1 <= seed < 2**31 (0 is refused by ns-3).
SEED_MIN, SEED_MAX = 1, 2**31 - 1
FAULT_KINDS = ("link_down", "tampered_block", "unregistered_key", "line_trip", "node_down", "link_flap",
               "relay_drop", "relay_delay", "relay_tamper", "replay")
#: Faults of a compromised relay: they act on the packets the node at ``bus`` forwards.
RELAY_KINDS = ("relay_drop", "relay_delay", "relay_tamper")
#: Every key a ``[[faults]]`` table may have (each kind uses some of them).
FAULT_KEYS = ("kind", "at_s", "a_bus", "b_bus", "bus", "line", "until_s", "period_s", "count", "fraction",
              "delay_ms")
#: The keys each kind uses; ``kind`` is implied.
_FAULT_USES = {
    "link_down": ("at_s", "a_bus", "b_bus"),
    "tampered_block": ("at_s", "bus"),
    "unregistered_key": ("at_s", "bus"),
    "line_trip": ("at_s", "a_bus", "b_bus", "line", "until_s"),
    "node_down": ("at_s", "bus", "until_s"),
    "link_flap": ("at_s", "a_bus", "b_bus", "period_s", "count"),
    "relay_drop": ("bus", "fraction"),
    "relay_delay": ("bus", "delay_ms"),
    "relay_tamper": ("bus", "fraction"),
    "replay": ("bus",),
}
AUTO_HOP_SLACK = 2

_TOP_KEYS = {
    "grid", "terminals", "seed", "queue_capacity", "delay_bound_ms", "hop_bound", "yen_k",
    "t_wait_s", "sampling_period_s", "algorithms", "faults", "mean_packet_bytes",
    "propagation_speed_m_per_s", "merge_transformers", "bandwidth", "datacheck", "broadcast",
}


@dataclass(frozen=True)
class Terminal:
    """A demand terminal: the bus it sits at and its block volume per period."""

    bus: int | str
    data_mb: float


@dataclass(frozen=True)
class Fault:
    """A fault to inject in a packet-level run (the ns-3 layer acts on it)."""

    kind: str
    at_s: float | None = None
    a_bus: int | str | None = None
    b_bus: int | str | None = None
    bus: int | str | None = None
    line: int | None = None  # line_trip: the pandapower line index
    until_s: float | None = None  # line_trip, node_down: restored at this time
    period_s: float | None = None  # link_flap: one down-and-up cycle
    count: int | None = None  # link_flap: number of cycles
    fraction: float | None = None  # relay_drop, relay_tamper: share of forwarded segments
    delay_ms: float | None = None  # relay_delay: added to every forwarded segment

    def to_dict(self) -> dict:
        """The fault as written in outputs (keys of kinds that do not use them left out)."""
        d = {"kind": self.kind, "at_s": self.at_s, "a_bus": self.a_bus, "b_bus": self.b_bus, "bus": self.bus}
        for k in _FAULT_USES.get(self.kind, ()):
            d[k] = getattr(self, k)
        return d

    def intervals(self) -> tuple:
        """``(down_s, up_s)`` intervals of a timed outage (``up_s`` None: for good).

        ``link_down``: down from ``at_s``; ``node_down``: from ``at_s`` until
        ``until_s``; ``link_flap``: ``count`` cycles of ``period_s`` from
        ``at_s``, each down for its first half and up for its second.  Other
        kinds: no interval.
        """
        if self.kind == "link_down":
            return ((float(self.at_s), None),)
        if self.kind == "node_down":
            return ((float(self.at_s), None if self.until_s is None else float(self.until_s)),)
        if self.kind == "link_flap":
            t0, p = float(self.at_s), float(self.period_s)
            return tuple((t0 + i * p, t0 + i * p + p / 2) for i in range(int(self.count)))
        return ()


@dataclass(frozen=True)
class DatacheckConfig:
    """Settings of the data-validation step (issue 10)."""

    enabled: bool = False
    tolerance: float = 0.05


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.  ``network`` is the CPPS network already built.

    ``terminals`` keep the file's order; ``site`` of a terminal is
    ``network.site_of(terminal.bus)``.
    """

    grid: str
    terminals: tuple
    seed: int = 1
    sampling_period_s: float = 1.0
    queue_capacity: int = 50
    delay_bound_ms: float = 50.0
    hop_bound: int = 0
    yen_k: int = 5
    t_wait_s: float = 0.01
    algorithms: tuple = DEFAULT_ALGORITHMS
    mean_packet_bytes: float = 5000.0
    propagation_speed_m_per_s: float = 2.0e8
    merge_transformers: bool = False
    bandwidth: BandwidthRule = field(default_factory=BandwidthRule)
    datacheck: DatacheckConfig = field(default_factory=DatacheckConfig)
    faults: tuple = ()
    broadcast: str = "unicast"
    path: Path | None = None
    network: CppsNetwork | None = field(default=None, compare=False, repr=False)
    #: The pandapower net the network was built from: the one object used for
    #: routing, round-mode power flows and data validation (never reloaded).
    net: object = field(default=None, compare=False, repr=False)
    #: The scenario document as given (TOML names), what :meth:`replace` edits.
    doc: dict = field(default_factory=dict, compare=False, repr=False)
    base_dir: Path | None = field(default=None, compare=False, repr=False)

    # -- constructors ----------------------------------------------------
    @classmethod
    def load(cls, path) -> "Scenario":
        """Load and validate a scenario TOML file (see :func:`load_scenario`).

        Raises
        ------
        ScenarioError
            If the file is missing, not TOML, or a field is invalid.

        Examples
        --------
        >>> import cppsns3
        >>> sc = cppsns3.Scenario.load("scenarios/ieee14.toml")
        >>> sc.grid, [t.bus for t in sc.terminals]
        ('case14', [2, 6, 9])
        """
        return load_scenario(path)

    @classmethod
    def from_net(cls, net, terminals, **keys) -> "Scenario":
        """A scenario on a pandapower net object made or modified by the caller.

        Parameters
        ----------
        net : pandapowerNet
            Used as it is (not copied, never reloaded): routing, round-mode
            power flows and data validation all read this object.
        terminals : sequence
            Demand terminals: ``(bus, data_mb)`` pairs, ``{"bus", "data_mb"}``
            tables or :class:`Terminal` objects.
        **keys
            Any top-level scenario key, by its TOML name (``seed``,
            ``queue_capacity``, ``bandwidth={"default_mbps": ...}``,
            ``faults=[{"kind": "link_down", ...}]``, ...); ``grid`` here is only
            the name recorded in outputs (default: ``net.name`` or ``"net"``).

        Raises
        ------
        ScenarioError
            Exactly as the TOML loader: names the field and the value.

        Examples
        --------
        >>> import pandapower.networks as pn
        >>> import cppsns3
        >>> net = pn.case9()
        >>> sc = cppsns3.Scenario.from_net(net, terminals=[(5, 2.0), (7, 1.0)], queue_capacity=20, seed=3)
        >>> sc.net is net, sc.queue_capacity, sc.network.n_nodes
        (True, 20, 9)
        >>> cppsns3.Scenario.from_net(net, terminals=[(42, 1.0)])
        Traceback (most recent call last):
        ...
        cppsns3.errors.ScenarioError: terminals[0].bus: unknown bus 42 in grid 'case9'
        """
        if not hasattr(net, "bus") or not hasattr(net, "line"):
            raise ScenarioError(f"net: must be a pandapower net object, got {type(net).__name__}")
        doc = _doc_of(keys)
        doc["terminals"] = _terminal_docs(terminals)
        if "grid" not in doc:
            name = getattr(net, "name", "") or ""
            doc["grid"] = name if isinstance(name, str) and name.strip() else "net"
        return scenario_from_dict(doc, net=net)

    def replace(self, **changes) -> "Scenario":
        """A validated copy with some keys changed (TOML names, as :meth:`from_net`).

        The net object is kept (no reload); a key given as ``None`` is removed
        (its default applies again, e.g. ``hop_bound=None``: automatic).

        Raises
        ------
        ScenarioError
            Naming the field and the value, as the TOML loader.

        Examples
        --------
        >>> import cppsns3
        >>> sc = cppsns3.Scenario.load("scenarios/ieee14.toml")
        >>> sc.replace(queue_capacity=10).queue_capacity
        10
        >>> sc.replace(queue_capacity=0)
        Traceback (most recent call last):
        ...
        cppsns3.errors.ScenarioError: queue_capacity: must be > 0, got 0
        """
        doc = dict(self.doc)
        for k, v in _doc_of(changes).items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        return scenario_from_dict(doc, base_dir=self.base_dir, path=self.path, net=self.net)

    def to_dict(self) -> dict:
        """The scenario document (TOML names) this scenario was validated from."""
        import copy

        return copy.deepcopy(self.doc)

    # -- helpers ---------------------------------------------------------
    @property
    def name(self) -> str:
        """File name of the scenario, else the grid's name (used in outputs)."""
        return self.path.name if self.path is not None else str(self.grid)

    def terminal_rate_mbps(self, terminal: Terminal) -> float:
        """Rate of each of the terminal's flows: ``data_mb * 8 / sampling_period_s``."""
        return terminal.data_mb * 8.0 / self.sampling_period_s

    def with_terminals(self, terminals) -> "Scenario":
        """A copy with other demand terminals (validated; hop bound kept)."""
        ts = tuple(Terminal(t.bus, float(t.data_mb)) if isinstance(t, Terminal)
                   else Terminal(t[0], float(t[1])) for t in terminals)
        _check_terminals(ts, self.network)
        doc = dict(self.doc)
        doc["terminals"] = _terminal_docs(ts)
        return replace(self, terminals=ts, doc=doc)


def _terminal_docs(terminals) -> list:
    """Terminals as TOML tables: from (bus, data_mb) pairs, tables or Terminal objects."""
    if isinstance(terminals, (str, bytes, dict)) or not hasattr(terminals, "__iter__"):
        raise _err("terminals", terminals, "must be a sequence of (bus, data_mb) pairs")
    out = []
    for i, t in enumerate(terminals):
        if isinstance(t, Terminal):
            out.append({"bus": t.bus, "data_mb": t.data_mb})
        elif isinstance(t, dict):
            out.append(dict(t))
        elif isinstance(t, (tuple, list)) and len(t) == 2:
            out.append({"bus": t[0], "data_mb": t[1]})
        else:
            raise _err(f"terminals[{i}]", t, "must be a (bus, data_mb) pair")
    return out


def _doc_of(keys: dict) -> dict:
    """Keyword arguments as scenario-document values (dataclasses to tables)."""
    import dataclasses

    doc = {}
    for k, v in keys.items():
        if k == "terminals" and v is not None:
            v = _terminal_docs(v)
        elif k == "faults" and v is not None and not isinstance(v, (str, dict)):
            v = [{fk: fv for fk, fv in dataclasses.asdict(f).items() if fv is not None}
                 if dataclasses.is_dataclass(f) else f for f in v]
        elif k == "bandwidth" and isinstance(v, BandwidthRule):
            v = {"default_mbps": v.default_mbps,
                 "classes": [{"min_kv": kv, "mbps": mbps} for kv, mbps in v.classes]}
        elif k == "datacheck" and isinstance(v, DatacheckConfig):
            v = dataclasses.asdict(v)
        elif isinstance(v, tuple):
            v = list(v)
        doc[k] = v
    return doc


def check_seed(value, name: str = "seed") -> int:
    """The one seed rule: an integer in ``[SEED_MIN, SEED_MAX]`` (ns-3 refuses 0).

    Parameters
    ----------
    value : int
    name : str
        The field or option named in the error (``"seed"``, ``"--seed"``).

    Returns
    -------
    int

    Raises
    ------
    ScenarioError
        If ``value`` is not such an integer.

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(0)
    Traceback (most recent call last):
    ...
    cppsns3.errors.ScenarioError: seed: must be an integer in [1, 2147483647], got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int,)) or not SEED_MIN <= value <= SEED_MAX:
        try:
            import numpy as np

            if isinstance(value, np.integer) and SEED_MIN <= int(value) <= SEED_MAX:
                return int(value)
        except ImportError:  # pragma: no cover
            pass
        raise ScenarioError(f"{name}: must be an integer in [{SEED_MIN}, {SEED_MAX}], got {value!r}")
    return int(value)


def _err(name, value, what):
    return ScenarioError(f"{name}: {what}, got {value!r}")


def _num(d, key, default, *, name=None, positive=True, allow_zero=False, integer=False,
         minimum=None, maximum=None, unit=""):
    """``d[key]`` checked as a number (``default`` when absent).

    ``minimum``/``maximum`` bound the value (inclusive); ``unit`` names their
    unit in the message.  TOML integers are unbounded, so an integer too large
    for a float is refused here rather than overflowing later.
    """
    name = name or key
    if key not in d:
        return default
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(name, v, "must be a number")
    if integer and not isinstance(v, int):
        raise _err(name, v, "must be an integer")
    if isinstance(v, int) and abs(v) >= 2**1023:
        raise ScenarioError(f"{name}: must be finite, got an integer of {len(str(abs(v)))} digits")
    if not math.isfinite(v):
        raise _err(name, v, "must be finite")
    if positive and (v < 0 or (v == 0 and not allow_zero)):
        raise _err(name, v, "must be >= 0" if allow_zero else "must be > 0")
    if minimum is not None and v < minimum and not (allow_zero and v == 0):
        raise _err(name, v, f"must be >= {minimum:g}{unit}")
    if maximum is not None and v > maximum:
        raise _err(name, v, f"must be <= {maximum:g}{unit}")
    return int(v) if integer else float(v)


def _bus_value(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise _err(name, v, "must be a bus name (int or str)")
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return v
    return v


def _check_keys(d, allowed, where):
    if not isinstance(d, dict):
        raise _err(where, d, "must be a table")
    for k in d:
        if k not in allowed:
            prefix = f"{where}." if where else ""
            raise ScenarioError(f"{prefix}{k}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _fault_of(f: dict, where: str) -> Fault:
    """One ``[[faults]]`` table checked field by field (buses against the grid later)."""
    kind = f.get("kind")
    if kind not in FAULT_KINDS:
        raise _err(f"{where}.kind", kind, f"must be one of {', '.join(FAULT_KINDS)}")
    uses = _FAULT_USES[kind]
    for k in f:
        if k != "kind" and k not in uses:
            hint = {"bus": " (use a_bus, b_bus)", "a_bus": " (use bus)", "b_bus": " (use bus)"}.get(k, "")
            if kind == "line_trip" and k == "bus":
                hint = " (use line, or a_bus and b_bus)"
            raise _err(f"{where}.{k}", f[k], f"not used by {kind}{hint}")
    at_s = _num(f, "at_s", None, name=f"{where}.at_s", allow_zero=True)
    if "at_s" in uses and at_s is None and kind not in ("tampered_block", "unregistered_key"):
        raise ScenarioError(f"{where}.at_s: missing ({kind} is timed)")
    until_s = None
    if "until_s" in uses:
        until_s = _num(f, "until_s", None, name=f"{where}.until_s", allow_zero=True)
        if until_s is not None and until_s <= at_s:
            raise _err(f"{where}.until_s", until_s, f"must be after at_s = {at_s!r}")
    if kind == "line_trip":
        if ("line" in f) == ("a_bus" in f or "b_bus" in f):
            raise ScenarioError(f"{where}.line: line_trip names a line by line (its index) "
                                f"or by a_bus and b_bus, not both or neither")
        if "line" in f:
            line = f["line"]
            if isinstance(line, bool) or not isinstance(line, int) or line < 0:
                raise _err(f"{where}.line", line, "must be a pandapower line index (int >= 0)")
            return Fault(kind, at_s, line=line, until_s=until_s)
        for k in ("a_bus", "b_bus"):
            if k not in f:
                raise ScenarioError(f"{where}.{k}: missing (line_trip by buses names both ends)")
        return Fault(kind, at_s, _bus_value(f["a_bus"], f"{where}.a_bus"),
                     _bus_value(f["b_bus"], f"{where}.b_bus"), until_s=until_s)
    if "a_bus" in uses:  # link_down, link_flap
        for k in ("a_bus", "b_bus"):
            if k not in f:
                raise ScenarioError(f"{where}.{k}: missing ({kind} names a link)")
        extra = {}
        if kind == "link_flap":
            for k in ("period_s", "count"):
                if k not in f:
                    raise ScenarioError(f"{where}.{k}: missing (link_flap needs period_s and count)")
            extra["period_s"] = _num(f, "period_s", None, name=f"{where}.period_s")
            count = f["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100000:
                raise _err(f"{where}.count", count, "must be an integer in [1, 100000]")
            extra["count"] = count
        return Fault(kind, at_s, _bus_value(f["a_bus"], f"{where}.a_bus"),
                     _bus_value(f["b_bus"], f"{where}.b_bus"), **extra)
    if "bus" not in f:
        what = "a relay" if kind in RELAY_KINDS else ("a node" if kind == "node_down" else "a terminal")
        raise ScenarioError(f"{where}.bus: missing ({kind} names {what})")
    extra = {}
    if kind in ("relay_drop", "relay_tamper"):
        if "fraction" not in f and kind == "relay_drop":
            raise ScenarioError(f"{where}.fraction: missing (relay_drop drops this share of the segments)")
        frac = _num(f, "fraction", 1.0, name=f"{where}.fraction", allow_zero=True)
        if not 0.0 <= frac <= 1.0:
            raise _err(f"{where}.fraction", f["fraction"], "must be in [0, 1]")
        extra["fraction"] = frac
    elif kind == "relay_delay":
        if "delay_ms" not in f:
            raise ScenarioError(f"{where}.delay_ms: missing (relay_delay adds this delay)")
        d = _num(f, "delay_ms", None, name=f"{where}.delay_ms")
        if d > 1e6:
            raise _err(f"{where}.delay_ms", d, "must be at most 1e6 ms")
        extra["delay_ms"] = d
    elif kind == "node_down":
        extra["until_s"] = until_s
    return Fault(kind, at_s, bus=_bus_value(f["bus"], f"{where}.bus"), **extra)


def _check_bus(bus, network, name):
    if network is not None and bus not in network.bus_to_site:
        raise ScenarioError(f"{name}: unknown bus {bus!r} in grid {network.grid!r}")


def _check_terminals(terminals, network):
    seen = {}
    for i, t in enumerate(terminals):
        _check_bus(t.bus, network, f"terminals[{i}].bus")
        if not (math.isfinite(t.data_mb) and t.data_mb > 0):
            raise _err(f"terminals[{i}].data_mb", t.data_mb, "must be > 0")
        site = network.site_of(t.bus) if network is not None else t.bus
        if site in seen:
            raise ScenarioError(
                f"terminals[{i}].bus: bus {t.bus!r} is at site {site!r} already used by "
                f"terminals[{seen[site]}] (one terminal per site)")
        seen[site] = i


def auto_hop_bound(network: CppsNetwork, terminals) -> int:
    """Largest hop distance from a demand terminal to any node, plus ``AUTO_HOP_SLACK``."""
    import networkx as nx

    ecc = 0
    for t in terminals:
        d = nx.single_source_shortest_path_length(network.graph, network.site_of(t.bus))
        ecc = max(ecc, max(d.values()))
    return ecc + AUTO_HOP_SLACK


def scenario_from_dict(data: dict, *, base_dir: Path | str | None = None, path: Path | None = None,
                       build: bool = True, net=None) -> Scenario:
    """Validate a parsed scenario table and build its network.

    Parameters
    ----------
    data : dict
        The TOML content.
    base_dir : path, optional
        Folder against which a relative grid path resolves.
    path : Path, optional
        Recorded as ``Scenario.path``.
    build : bool
        Load the grid and build the network (needed to check buses).
    net : pandapowerNet, optional
        Build from this net object instead of loading ``grid`` (which then
        only names it in outputs).

    Raises
    ------
    ScenarioError
        On any unknown key, wrong type, out-of-range value, unknown grid, unknown
        bus, or two terminals at one site; the message names field and value.
    """
    _check_keys(data, _TOP_KEYS, "")
    if "grid" not in data:
        raise ScenarioError("grid: missing (a pandapower.networks name or a JSON path)")
    grid = data["grid"]
    if not isinstance(grid, str) or not grid.strip():
        raise _err("grid", grid, "must be a non-empty string")
    if "terminals" not in data:
        raise ScenarioError("terminals: missing (an array of tables with bus and data_mb)")
    raw_terms = data["terminals"]
    if not isinstance(raw_terms, list) or not raw_terms:
        raise _err("terminals", raw_terms, "must be a non-empty array of tables")
    terminals = []
    for i, t in enumerate(raw_terms):
        _check_keys(t, {"bus", "data_mb"}, f"terminals[{i}]")
        if "bus" not in t:
            raise ScenarioError(f"terminals[{i}].bus: missing")
        if "data_mb" not in t:
            raise ScenarioError(f"terminals[{i}].data_mb: missing")
        bus = _bus_value(t["bus"], f"terminals[{i}].bus")
        mb = _num(t, "data_mb", None, name=f"terminals[{i}].data_mb", maximum=MAX_DATA_MB, unit=" MB")
        terminals.append(Terminal(bus, mb))

    seed = check_seed(data["seed"]) if "seed" in data else 1
    period = _num(data, "sampling_period_s", 1.0)
    cap = _num(data, "queue_capacity", 50, integer=True)
    if cap > MAX_QUEUE_CAPACITY:
        raise _err("queue_capacity", cap, f"must be <= {MAX_QUEUE_CAPACITY} (ns-3 queue sizes are 32-bit)")
    delay_bound = _num(data, "delay_bound_ms", 50.0)
    hop_bound = _num(data, "hop_bound", 0, integer=True) if "hop_bound" in data else 0
    yen_k = _num(data, "yen_k", 5, integer=True, maximum=MAX_YEN_K)
    t_wait = _num(data, "t_wait_s", 0.01, allow_zero=True)
    mean_pkt = _num(data, "mean_packet_bytes", 5000.0, maximum=MAX_MEAN_PACKET_BYTES, unit=" B")
    if mean_pkt <= 30.0:
        raise _err("mean_packet_bytes", mean_pkt, "must be > 30 (IPv4+UDP+PPP headers are included)")
    speed = _num(data, "propagation_speed_m_per_s", 2.0e8)
    merge = data.get("merge_transformers", False)
    if not isinstance(merge, bool):
        raise _err("merge_transformers", merge, "must be true or false")

    algos = data.get("algorithms", list(DEFAULT_ALGORITHMS))
    if isinstance(algos, str):
        algos = [algos]
    if not isinstance(algos, list) or not algos:
        raise _err("algorithms", algos, f"must be a non-empty list of {', '.join(ALGORITHMS)}")
    for a in algos:
        if a not in ALGORITHMS:
            raise _err("algorithms", a, f"unknown algorithm (known: {', '.join(ALGORITHMS)})")
    if len(set(algos)) != len(algos):
        raise _err("algorithms", algos, "must not repeat a name")

    bw_raw = data.get("bandwidth", {})
    _check_keys(bw_raw, {"default_mbps", "classes"}, "bandwidth")
    bw_range = dict(minimum=MIN_BANDWIDTH_MBPS, maximum=MAX_BANDWIDTH_MBPS, unit=" Mbit/s")
    default_mbps = _num(bw_raw, "default_mbps", 10000.0, name="bandwidth.default_mbps", **bw_range)
    classes_raw = bw_raw.get("classes", [])
    if not isinstance(classes_raw, list):
        raise _err("bandwidth.classes", classes_raw, "must be an array of tables {min_kv, mbps}")
    classes = []
    for i, c in enumerate(classes_raw):
        _check_keys(c, {"min_kv", "mbps"}, f"bandwidth.classes[{i}]")
        for k in ("min_kv", "mbps"):
            if k not in c:
                raise ScenarioError(f"bandwidth.classes[{i}].{k}: missing")
        kv = _num(c, "min_kv", None, name=f"bandwidth.classes[{i}].min_kv", allow_zero=True)
        mbps = _num(c, "mbps", None, name=f"bandwidth.classes[{i}].mbps", **bw_range)
        classes.append((kv, mbps))
    rule = BandwidthRule(default_mbps, tuple(classes))

    broadcast = data.get("broadcast", "unicast")
    if broadcast not in BROADCAST_MODES:
        raise _err("broadcast", broadcast, f"must be {' or '.join(repr(m) for m in BROADCAST_MODES)}")

    dc_raw = data.get("datacheck", {})
    _check_keys(dc_raw, {"enabled", "tolerance"}, "datacheck")
    enabled = dc_raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise _err("datacheck.enabled", enabled, "must be true or false")
    tol = _num(dc_raw, "tolerance", 0.05, name="datacheck.tolerance")
    datacheck = DatacheckConfig(enabled, tol)

    faults_raw = data.get("faults", [])
    if not isinstance(faults_raw, list):
        raise _err("faults", faults_raw, "must be an array of tables")
    faults = []
    for i, f in enumerate(faults_raw):
        where = f"faults[{i}]"
        _check_keys(f, set(FAULT_KEYS), where)
        faults.append(_fault_of(f, where))

    network = None
    if build or net is not None:
        if net is None:
            net = load_grid(grid, base_dir)
        network = build_network(net, bandwidth=rule, merge_transformers=merge,
                                propagation_speed_m_per_s=speed, grid=grid)
        _check_terminals(terminals, network)
        for i, f in enumerate(faults):
            if f.kind == "line_trip":
                from cppsns3.model.grid import fault_lines

                try:
                    fault_lines(net, f)
                except KeyError as exc:
                    raise ScenarioError(f"faults[{i}].{exc.args[0]}") from None
            elif f.kind in ("link_down", "link_flap"):
                _check_bus(f.a_bus, network, f"faults[{i}].a_bus")
                _check_bus(f.b_bus, network, f"faults[{i}].b_bus")
                a, b = network.site_of(f.a_bus), network.site_of(f.b_bus)
                if not network.graph.has_edge(a, b):
                    raise ScenarioError(
                        f"faults[{i}].b_bus: no link between bus {f.a_bus!r} and bus {f.b_bus!r}")
            else:
                _check_bus(f.bus, network, f"faults[{i}].bus")
                if f.kind == "replay" and network.site_of(f.bus) not in {
                        network.site_of(t.bus) for t in terminals}:
                    raise ScenarioError(f"faults[{i}].bus: replay needs a demand terminal (it re-sends its "
                                        f"own older block), bus {f.bus!r} has none")
        if hop_bound == 0:
            hop_bound = auto_hop_bound(network, terminals)
    else:
        _check_terminals(terminals, None)

    if broadcast == "relay":
        for i, f in enumerate(faults):
            if f.kind in RELAY_KINDS:
                raise ScenarioError(
                    f"faults[{i}].kind: {f.kind} acts on packets a relay forwards, and with broadcast = "
                    f"'relay' nodes pass blocks on themselves (one hop at a time), got {f.kind!r}")
    return Scenario(
        grid=grid, terminals=tuple(terminals), seed=seed, sampling_period_s=period,
        queue_capacity=cap, delay_bound_ms=delay_bound, hop_bound=hop_bound, yen_k=yen_k,
        t_wait_s=t_wait, algorithms=tuple(algos), mean_packet_bytes=mean_pkt,
        propagation_speed_m_per_s=speed, merge_transformers=merge, bandwidth=rule,
        datacheck=datacheck, faults=tuple(faults), broadcast=broadcast, path=path, network=network,
        net=net, doc=dict(data), base_dir=Path(base_dir) if base_dir is not None else None,
    )


def load_scenario(path) -> Scenario:
    """Load and validate a scenario TOML file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Scenario
        With ``network`` built from the grid.

    Raises
    ------
    ScenarioError
        If the file is missing, is not valid TOML, or any field is invalid
        (the message names the field and value).
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"scenario: file {str(path)!r} not found")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario: {str(path)!r} is not valid TOML ({exc})") from None
    return scenario_from_dict(data, base_dir=p.resolve().parent, path=p)
