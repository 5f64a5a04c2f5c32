"""Shared ns-3 setup of the network runs (child process only)."""

from __future__ import annotations

import numpy as np

from cppsns3.errors import SimulationError

__all__ = ["build_topology", "vector_to_numpy", "attach_port_tools", "flowmon_records"]


def vector_to_numpy(vec, dtype) -> np.ndarray:
    """Copy a std::vector into a numpy array (no per-element Python call)."""
    n = int(vec.size())
    if n == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(vec.data(), dtype=dtype, count=n).copy()


def build_topology(spec):
    """Seed ns-3, install nodes/links/stack/routing, write the routes."""
    from cppsns3.ns3 import ns
    from cppsns3.ns3.topology import CppsTopologyHelper, LinkSpec

    ns.RngSeedManager.SetSeed(spec.seed)
    ns.RngSeedManager.SetRun(spec.replication + 1)
    links = [LinkSpec(a, b, rate, delay) for a, b, rate, delay, _ in spec.links]
    topo = CppsTopologyHelper(spec.capacity).install(spec.labels, links)
    topo.install_paths(spec.routes)
    return topo


def attach_port_tools(spec, topo, n_flows, retransmit=True):
    """A PortMonitor and a HopRetransmitter on every sending port."""
    from cppsns3.ns3 import cpp, ns

    ledger = ns.CreateObject[cpp.DropLedger]()
    ledger.Resize(n_flows)
    monitors, rtx = {}, []
    for e, (a, b, *_rest) in enumerate(spec.links):
        for u, v in ((a, b), (b, a)):
            dev = topo.port_device(u, v)
            m = ns.CreateObject[cpp.PortMonitor]()
            if not m.Attach(dev):
                raise SimulationError(f"port monitor did not attach at {spec.labels[u]}->{spec.labels[v]}")
            r = ns.CreateObject[cpp.HopRetransmitter]()
            if not r.Attach(dev, spec.t_wait_s if retransmit else -1.0, spec.max_attempts, ledger):
                raise SimulationError(f"retransmitter did not attach at {spec.labels[u]}->{spec.labels[v]}")
            monitors[(u, v)] = m
            rtx.append(r)
    return ledger, monitors, rtx


def flowmon_records(monitor, helper, topo) -> dict:
    """FlowMonitor stats keyed by (src node, dst node, protocol, dst port)."""
    from cppsns3.ns3 import cpp, ns

    monitor.CheckForLostPackets()
    classifier = ns.DynamicCast[ns.Ipv4FlowClassifier](helper.GetClassifier())
    out = {}
    for kv in monitor.GetFlowStats():
        fid, st = kv.first, kv.second
        t = classifier.FindFlow(fid)
        s = cpp.NodeAddressMap.Lookup(t.sourceAddress)
        d = cpp.NodeAddressMap.Lookup(t.destinationAddress)
        drops = sum(int(x) for x in st.packetsDropped)
        rec = {
            "flow_id": int(fid),
            "tx_packets": int(st.txPackets),
            "rx_packets": int(st.rxPackets),
            "lost_packets": int(st.lostPackets),
            "dropped_packets": drops,
            "delay_sum_s": st.delaySum.GetSeconds(),
        }
        key = (int(s), int(d), int(t.protocol), int(t.destinationPort))
        prev = out.get(key)
        if prev is None:
            out[key] = rec
        else:  # several sockets between one pair: add up
            for k in ("tx_packets", "rx_packets", "lost_packets", "dropped_packets", "delay_sum_s"):
                prev[k] += rec[k]
    return out
