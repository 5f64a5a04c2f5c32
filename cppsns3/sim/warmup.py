"""JIT warm-up of the ns-3 layer in a parent process, before it forks runs.

cppyy compiles each C++ wrapper (template instantiations such as
``CreateObject<cppsns3::BlockServer>``, std::function adapters, helper
methods) the first time Python calls it: about 3 s for a network run.  A
parent that calls every such wrapper once on a two-node network, without
running the simulator, lets each forked child start with them compiled.
"""

from __future__ import annotations

__all__ = ["warm_up"]

_done = False


def warm_up() -> None:
    """Load ns-3 and compile the wrappers the network runs use (idempotent)."""
    global _done
    if _done:
        return
    import numpy as np

    from cppsns3.ns3 import cpp, ns
    from cppsns3.ns3.topology import CppsTopologyHelper, LinkSpec

    topo = CppsTopologyHelper(5).install([1, 2], [LinkSpec(0, 1, 1e9, 1e-3)])
    topo.install_paths({(0, 1): (0, 1), (1, 0): (1, 0)})
    dev = topo.port_device(0, 1)
    ledger = ns.CreateObject[cpp.DropLedger]()
    ledger.Resize(1)
    ns.CreateObject[cpp.PortMonitor]().Attach(dev)
    ns.CreateObject[cpp.HopRetransmitter]().Attach(dev, 0.01, 8, ledger)
    rec = ns.CreateObject[cpp.PathRecorder]()
    rec.Attach(topo.node(0), 0)
    sink = ns.CreateObject[cpp.DelaySink]()
    sink.SetPort(9)
    topo.node(1).AddApplication(sink)
    src = ns.CreateObject[cpp.PoissonSource]()
    src.Configure(ns.InetSocketAddress(topo.primary[1], 9).ConvertTo(), 1.0, 1000.0, 30, 60000, 1, 0)
    src.AssignStreams(0)
    topo.node(0).AddApplication(src)
    src.SetStopTime(ns.Seconds(1.0))
    srv = ns.CreateObject[cpp.BlockServer]()
    from cppsns3.ns3 import std_function

    srv.SetNodeIndex(1)
    def _ignore(node, conn, ev):
        return None

    cb = std_function("void(uint32_t, uint32_t, uint32_t)", _ignore)
    srv.SetCallback(cb)
    srv.GetChunk  # noqa: B018 - resolve the overloads once
    snd = ns.CreateObject[cpp.BlockSender]()
    snd.SetPayload(0, np.zeros(8, dtype=np.uint8), 8)
    topo.node(0).AddApplication(snd)
    topo.node(1).AddApplication(srv)
    ns.Config.SetDefault("ns3::TcpSocket::SegmentSize", ns.UintegerValue(60000))
    ns.Config.SetDefault("ns3::TcpSocketBase::MinRto", ns.TimeValue(ns.Seconds(1.0)))
    fmh = ns.FlowMonitorHelper()
    fm = fmh.InstallAll()
    ns.DynamicCast[ns.Ipv4FlowClassifier](fmh.GetClassifier())
    for _kv in fm.GetFlowStats():
        pass
    for v in (sink.GetFlowIds(), sink.GetDelays(), ledger.GetDrops(), rec.GetNodes()):
        v.size()
    ns.Simulator.Destroy()
    _done = True
