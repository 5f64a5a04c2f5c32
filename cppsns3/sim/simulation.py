"""`cppsns3.Simulation`: one algorithm's ns-3 network built in the calling process.

Configure, build, reach in, run — as an ns-3 script does::

    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate", seed=3, load=0.5, duration_s=0.05)
    sim.build()                          # nodes, links, M/M/1/K ports, routes, the run's apps
    sim.node(5), sim.port(5, 4)          # ns-3 objects by bus: install your own apps, traces
    sim.enable_pcap("out/ieee", ports=[(5, 4)])
    res = sim.run()                      # RunResult: DataFrames + summary

The traffic, routes, seeds and streams are exactly those of one replication
of ``cppsns3 run`` on the same scenario (the plan covers the scenario's
algorithms, so validate mode scales the traffic the same way), so
``res.summary`` equals that algorithm's entry of ``summary.json`` when the
script adds nothing of its own.  ns-3 keeps one simulator per process: build
one Simulation at a time (a finished run frees it for the next).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cppsns3.errors import ScenarioError, SimulationError
from cppsns3.model.scenario import ALGORITHMS
from cppsns3.sim.pipeline import RunOptions

__all__ = ["Simulation"]

#: The Simulation whose network is built in this process and not yet run.
_ACTIVE = None


class Simulation:
    """One algorithm's packet-level run, built and run in this process.

    Parameters
    ----------
    scenario : Scenario
        From ``Scenario.load`` or ``Scenario.from_net``.
    algorithm : str
        ``qtdr``, ``qos-r`` or ``ra-dbmm``.
    mode : {"validate", "round"}
    seed : int, optional
        Default: the scenario's seed.
    replication : int
        Which replication of ``cppsns3 run`` to reproduce (ns-3 run number
        ``replication + 1``).
    load, duration_s, data_scale
        As ``cppsns3 run --load/--duration-s/--data-scale``.
    plan : Plan, optional
        A plan of the scenario already made.
    prep : RoundPrep, optional
        Round mode: the signed blocks to send, made by the caller with
        :func:`cppsns3.sim.round.prepare_round` (e.g. with ``reported=`` for
        false data from a compromised sensor); default made from the scenario.
    max_memory_gb : float, optional
        Memory the run may use instead of what the machine has available:
        :meth:`build` refuses a run whose estimate exceeds it (the resource
        guard of ``cppsns3 run``, :mod:`cppsns3.sim.guard`).

    Raises
    ------
    ScenarioError
        If an argument is bad (names the parameter and the value).

    Examples
    --------
    >>> import cppsns3
    >>> sc = cppsns3.Scenario.load("scenarios/ieee14.toml")
    >>> sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate", duration_s=0.005)
    >>> sim.algorithm, sim.mode
    ('qtdr', 'validate')
    >>> cppsns3.Simulation(sc, algorithm="ospf")
    Traceback (most recent call last):
    ...
    cppsns3.errors.ScenarioError: algorithm: must be one of qtdr, qos-r, ra-dbmm, qtdr-ls, got 'ospf'
    """

    def __init__(self, scenario, algorithm: str = "qtdr", mode: str = "validate", *, seed: int | None = None,
                 replication: int = 0, load: float = 0.5, duration_s: float | None = None,
                 data_scale: float = 1.0, plan=None, prep=None, max_memory_gb: float | None = None):
        from cppsns3.model.scenario import Scenario

        if not isinstance(scenario, Scenario):
            raise ScenarioError(f"scenario: must be a cppsns3.Scenario, got {type(scenario).__name__}")
        if algorithm not in ALGORITHMS:
            raise ScenarioError(f"algorithm: must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
        if isinstance(replication, bool) or not isinstance(replication, int) or not 0 <= replication < 1000:
            raise ScenarioError(f"replication: must be an integer in [0, 1000), got {replication!r}")
        self.scenario = scenario
        self.algorithm = algorithm
        self.mode = mode
        self.replication = replication
        self.options = RunOptions(mode=mode, algorithm=algorithm, seed=seed, data_scale=data_scale, load=load,
                                  duration_s=duration_s, replications=1).validated()
        if max_memory_gb is not None:
            from cppsns3.model.memory import max_memory_bytes

            max_memory_bytes(max_memory_gb)
        self.max_memory_gb = max_memory_gb
        self._plan = plan
        self._prep = prep
        self._prepared = None
        self._net = None
        self._result = None
        self._tmp = None
        self._taps = []  # PortTrace objects (pcap files), closed after the run
        self._pcaps = None  # AtomicBatch of the pcap files: renamed into place after the run
        self._streams = []  # ASCII trace streams, flushed after the run

    # -- build -------------------------------------------------------------
    @property
    def plan(self):
        """The plan (made on first use: the scenario's algorithms and this one)."""
        if self._plan is None:
            from cppsns3.model.routing import plan as make_plan

            names = sorted(set(self.scenario.algorithms) | {self.algorithm}, key=ALGORITHMS.index)
            self._plan = make_plan(self.scenario, names)
        return self._plan

    @property
    def prepared(self):
        """The :class:`~cppsns3.sim.pipeline.PreparedAlgorithm` (flows, routes, Eq. 1-2)."""
        if self._prepared is None:
            from cppsns3.sim.pipeline import prepare

            self._prepared = prepare(self.scenario, self.plan, self.options, prep=self._prep)[0]
        return self._prepared

    def build(self) -> "Simulation":
        """Build the ns-3 network of this algorithm in this process (idempotent).

        Raises
        ------
        SimulationError
            If another Simulation of this process is built and not yet run.
        InsufficientMemory
            If the run's memory estimate exceeds the memory available (or
            ``max_memory_gb``): nothing is built.
        """
        global _ACTIVE
        if self._net is not None:
            return self
        if _ACTIVE is not None and _ACTIVE is not self:
            raise SimulationError("another Simulation is built in this process and not yet run: "
                                  "run it first (ns-3 has one simulator per process)")
        from cppsns3.sim.guard import check_run_memory
        from cppsns3.sim.netbuild import run_class

        self.memory_estimate = check_run_memory(self.scenario, self.plan, self.options, self.max_memory_gb)

        self._tmp = tempfile.TemporaryDirectory(prefix="cppsns3-sim-")
        self.spec = self.prepared.spec(self.replication,
                                       flowmon_xml=str(Path(self._tmp.name) / f"flowmon-{self.algorithm}.xml"))
        net = run_class(self.mode)(self.spec)
        _ACTIVE = self
        try:
            net.build()
        except BaseException:
            _ACTIVE = None
            raise
        self._net = net
        return self

    @property
    def topology(self):
        """The :class:`cppsns3.ns3.topology.Topology` (nodes, devices, routing) once built."""
        self._need_built()
        return self._net.topo

    def _need_built(self):
        if self._net is None:
            raise SimulationError("the network is not built yet: call build() first")
        if self._result is not None:
            raise SimulationError("this Simulation has run; its ns-3 objects are destroyed")

    def _node_index(self, bus, name: str = "bus") -> int:
        network = self.scenario.network
        try:
            return network.index[network.site_of(bus)]
        except KeyError:
            raise ScenarioError(f"{name}: unknown bus {bus!r} in grid {self.scenario.grid!r}") from None

    # -- reach into the network ---------------------------------------------
    def node(self, bus):
        """The ns-3 ``Node`` of the site of ``bus``.

        Raises
        ------
        ScenarioError
            If ``bus`` is not a bus of the grid.
        """
        self._need_built()
        return self._net.topo.node(self._node_index(bus))

    def address(self, bus):
        """The ``Ipv4Address`` that traffic to the site of ``bus`` is sent to."""
        self._need_built()
        return self._net.topo.primary[self._node_index(bus)]

    def port(self, bus, peer_bus):
        """The ``PointToPointNetDevice`` that sends from ``bus`` towards ``peer_bus``.

        Raises
        ------
        ScenarioError
            If either bus is unknown or the two sites are not linked.
        """
        self._need_built()
        u, v = self._node_index(bus, "bus"), self._node_index(peer_bus, "peer_bus")
        if (u, v) not in self._net.topo.hop:
            raise ScenarioError(f"peer_bus: no link between bus {bus!r} and bus {peer_bus!r}")
        return self._net.topo.port_device(u, v)

    def add_route(self, buses) -> None:
        """Forward traffic from the first bus's site to the last's along ``buses`` (hop by hop).

        For the caller's own applications: the network routes only planned
        pairs.  A pair that already has a route keeps it; giving it another
        path is refused (it would move the run's own flows).

        Raises
        ------
        ScenarioError
            If a bus is unknown, two consecutive sites are not linked, or the
            pair already follows another path.
        """
        self._need_built()
        nodes = tuple(self._node_index(b, f"buses[{i}]") for i, b in enumerate(buses))
        if len(nodes) < 2:
            raise ScenarioError(f"buses: a route needs at least two buses, got {list(buses)!r}")
        for i, (u, v) in enumerate(zip(nodes[:-1], nodes[1:])):
            if (u, v) not in self._net.topo.hop:
                raise ScenarioError(f"buses[{i + 1}]: no link between bus {buses[i]!r} and bus {buses[i + 1]!r}")
        key = (nodes[0], nodes[-1])
        old = self._net.spec.routes.get(key)
        if old is not None and tuple(old) != nodes:
            labels = self.scenario.network.nodes
            raise ScenarioError(f"buses: the pair {buses[0]!r}->{buses[-1]!r} already follows "
                                f"{' '.join(str(labels[i]) for i in old)}")
        if old is None:
            self._net.topo.install_paths({key: nodes})
            self._net.spec.routes[key] = nodes
            if hasattr(self._net, "routes"):
                self._net.routes[key] = nodes

    def enable_pcap(self, prefix, ports=None) -> list:
        """ns-3 pcap traces of sending ports (ns-3's ``PointToPointHelper::EnablePcap``).

        Parameters
        ----------
        prefix : str or Path
            File names are ``PREFIX-NODEID-DEVICEID.pcap`` (ns-3's rule).
        ports : sequence of (bus, peer_bus), optional
            Default every port.

        Returns
        -------
        list of Path
            The files ns-3 writes (written under temporary names and renamed
            into place when :meth:`run` returns; an interrupted run leaves
            none); read them with :func:`cppsns3.traces.read_pcap`.
        """
        from cppsns3.atomic import AtomicBatch
        from cppsns3.ns3 import cpp, ns

        self._need_built()
        prefix = str(prefix)
        Path(prefix).parent.mkdir(parents=True, exist_ok=True)
        if self._pcaps is None:
            self._pcaps = AtomicBatch()
        out = []
        for a, b in self._ports(ports):
            dev = self.port(a, b)
            path = Path(f"{prefix}-{dev.GetNode().GetId()}-{dev.GetIfIndex()}.pcap")
            tap = ns.CreateObject[cpp.PortTrace]()
            if not tap.AttachPcap(dev, str(self._pcaps.stage(path))):
                raise SimulationError(f"pcap: cannot trace port {a}->{b} into {str(path)!r}")
            self._taps.append(tap)
            out.append(path)
        return out

    def _ports(self, ports):
        if ports is None:
            labels = self.scenario.network.nodes
            return [(labels[u], labels[v]) for (u, v) in sorted(self._net.topo.hop)]
        return list(ports)

    def enable_ascii(self, path, ports=None) -> Path:
        """An ns-3 ASCII trace (``+ - d r`` events) of sending ports into one file.

        Enables ns-3's packet metadata, which must happen before the process
        makes its first packet: call it in a fresh process (a script), before
        :meth:`run`.  Read the file with :func:`cppsns3.traces.read_ascii`.

        Parameters
        ----------
        path : str or Path
        ports : sequence of (bus, peer_bus), optional
            Default every port.
        """
        from cppsns3.ns3 import ns

        self._need_built()
        ns.PacketMetadata.Enable()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        helper = ns.PointToPointHelper()
        stream = ns.AsciiTraceHelper().CreateFileStream(str(path))
        for a, b in self._ports(ports):
            helper.EnableAscii(stream, self.port(a, b))
        self._streams.append(stream)
        return path

    # -- run ---------------------------------------------------------------
    def run(self):
        """Simulate and return the :class:`~cppsns3.sim.result.RunResult` (builds first if needed).

        Raises
        ------
        SimulationError
            If the run breaks an invariant (e.g. sent != received + dropped).
        """
        global _ACTIVE
        if self._result is not None:
            return self._result
        self.build()
        from cppsns3.sim.pipeline import assemble, run_header

        ok = False
        try:
            raw = self._net.run()
            ok = True
        finally:
            _ACTIVE = None
            for tap in self._taps:
                tap.Close()
            for stream in self._streams:
                stream.GetStream().flush()
            if self._pcaps is not None:
                self._pcaps.commit() if ok else self._pcaps.discard()
        pa = self.prepared
        header = run_header(self.scenario, self.plan, self.options, pa.seed, pa.scale)
        header["replications"] = 1
        self._result = assemble(pa, [raw], header, flowmon_path=self.spec.flowmon_xml)
        self._result._keep = self._tmp  # the FlowMonitor XML lives as long as the result
        return self._result

    def __repr__(self) -> str:
        state = "ran" if self._result is not None else ("built" if self._net is not None else "configured")
        return (f"Simulation({self.scenario.name!r}, algorithm={self.algorithm!r}, mode={self.mode!r}, "
                f"seed={self.options.seed or self.scenario.seed}, {state})")
