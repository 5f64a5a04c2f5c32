"""Turn a planned CPPS network into ns-3 nodes, links, addresses and routes.

Helpers configure, then install: :class:`CppsTopologyHelper` takes the node
labels and links of a plan (pure data from :mod:`cppsns3.model`) and installs
one ns-3 node per terminal, one point-to-point link with M/M/1/K ports per
CPPS link, an Internet stack, one /30 subnet per link, and
:cpp:class:`cppsns3::FlowRouting` on every node.  :meth:`Topology.install_paths`
then writes per-(source, destination) forwarding entries hop by hop, so each
flow follows exactly its planned path (no global routing: it takes minutes on
large grids and would ignore the plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cppsns3.errors import SimulationError
from cppsns3.ns3 import cpp, ns
from cppsns3.ns3.links import PortLinkHelper
from cppsns3.sim.spec import LinkSpec  # the helper's link description (pure data)

__all__ = ["LinkSpec", "CppsTopologyHelper", "Topology"]


@dataclass
class Topology:
    """What :meth:`CppsTopologyHelper.install` built."""

    nodes: object  # ns3::NodeContainer
    labels: list
    links: list
    devices: list = field(default_factory=list)  # per link: (device at a, device at b)
    routing: list = field(default_factory=list)  # per node: FlowRouting
    primary: list = field(default_factory=list)  # per node: its Ipv4Address for traffic
    # (u, v) -> (interface index at u, address of v on that link, link index)
    hop: dict = field(default_factory=dict)

    def node(self, i: int):
        return self.nodes.Get(i)

    def port_device(self, u: int, v: int):
        """The device of node u on its link to v (the sending port u -> v)."""
        _, _, e = self.hop[(u, v)]
        da, db = self.devices[e]
        return da if self.links[e].a == u else db

    def install_paths(self, paths) -> int:
        """Install forwarding so each (src, dst) pair follows its node path.

        Parameters
        ----------
        paths : mapping of (src, dst) -> sequence of node indices
            Each path starts at src and ends at dst; consecutive nodes must be
            linked.

        Returns
        -------
        int
            Number of forwarding entries written.

        Raises
        ------
        SimulationError
            If a path uses a pair of nodes with no link.
        """
        n = 0
        for (s, d), nodes in paths.items():
            if nodes[0] != s or nodes[-1] != d:
                raise SimulationError(f"path for ({s}, {d}) runs {nodes[0]} -> {nodes[-1]}")
            for u, v in zip(nodes[:-1], nodes[1:]):
                try:
                    iface, gw, _ = self.hop[(u, v)]
                except KeyError:
                    raise SimulationError(
                        f"planned path {self.labels[s]}->{self.labels[d]} uses a missing link "
                        f"{self.labels[u]}-{self.labels[v]}"
                    ) from None
                self.routing[u].AddRoute(s, d, iface, gw)
                n += 1
        return n

    def clear_routes(self) -> None:
        for r in self.routing:
            r.ClearRoutes()

    def set_link_down(self, e: int) -> None:
        """Take link e down at both ends (its interfaces stop carrying traffic)."""
        self._set_link(e, up=False)

    def set_link_up(self, e: int) -> None:
        """Bring link e back into service at both ends (after :meth:`set_link_down`)."""
        self._set_link(e, up=True)

    def _set_link(self, e: int, up: bool) -> None:
        link = self.links[e]
        for node, dev in ((link.a, self.devices[e][0]), (link.b, self.devices[e][1])):
            ipv4 = self.node(node).GetObject[ns.Ipv4]()
            i = ipv4.GetInterfaceForDevice(dev)
            if up:
                ipv4.SetUp(i)
            else:
                ipv4.SetDown(i)


@dataclass(frozen=True)
class CppsTopologyHelper:
    """Configure the network-wide settings, then :meth:`install` a topology.

    Parameters
    ----------
    capacity : int
        K of every port (packets, the one being sent included).
    """

    capacity: int

    def install(self, labels, links) -> Topology:
        """Create nodes and links; assign addresses; install FlowRouting.

        Raises
        ------
        ValueError
            If a link has a bad rate or delay (names the link and value).
        SimulationError
            If a trace or queue could not be configured.
        """
        n = len(labels)
        nodes = ns.NodeContainer()
        nodes.Create(n)
        topo = Topology(nodes=nodes, labels=list(labels), links=list(links))
        for e, link in enumerate(links):
            if not (0 <= link.a < n and 0 <= link.b < n) or link.a == link.b:
                raise ValueError(f"link {e}: bad endpoints ({link.a}, {link.b})")
            try:
                helper = PortLinkHelper(float(link.rate_bps), float(link.delay_s), self.capacity)
            except ValueError as exc:
                raise ValueError(f"link {labels[link.a]}-{labels[link.b]}: {exc}") from None
            devs = helper.install(nodes.Get(link.a), nodes.Get(link.b))
            topo.devices.append((devs.Get(0), devs.Get(1)))
        ns.InternetStackHelper().Install(nodes)
        cpp.NodeAddressMap.Clear()
        topo.routing = [cpp.InstallFlowRouting(nodes.Get(i), i) for i in range(n)]
        topo.primary = [None] * n
        addr = ns.Ipv4AddressHelper()
        addr.SetBase(ns.Ipv4Address("10.0.0.0"), ns.Ipv4Mask("255.255.255.252"))
        for e, link in enumerate(links):
            da, db = topo.devices[e]
            pair = ns.NetDeviceContainer()
            pair.Add(da)
            pair.Add(db)
            ifs = addr.Assign(pair)
            addr.NewNetwork()
            a_addr, b_addr = ifs.GetAddress(0), ifs.GetAddress(1)
            cpp.NodeAddressMap.Add(a_addr, link.a)
            cpp.NodeAddressMap.Add(b_addr, link.b)
            ia = nodes.Get(link.a).GetObject[ns.Ipv4]().GetInterfaceForDevice(da)
            ib = nodes.Get(link.b).GetObject[ns.Ipv4]().GetInterfaceForDevice(db)
            topo.hop[(link.a, link.b)] = (ia, b_addr, e)
            topo.hop[(link.b, link.a)] = (ib, a_addr, e)
            if topo.primary[link.a] is None:
                topo.primary[link.a] = a_addr
            if topo.primary[link.b] is None:
                topo.primary[link.b] = b_addr
        for i, a in enumerate(topo.primary):
            if a is None:
                raise SimulationError(f"terminal {labels[i]} has no link")
        return topo
