"""Shared ns-3 setup of the network runs.

:class:`NetworkRun` is the one shape of a packet-level run: ``build()``
installs nodes, links, routes and the run's applications and monitors from a
:class:`~cppsns3.sim.spec.RunSpec`; between ``build()`` and ``run()`` the
caller may add its own ns-3 objects (:class:`cppsns3.Simulation` hands the
nodes and ports out); ``run()`` simulates and returns the raw measurements.
``cppsns3 run`` calls the same two steps in a forked child.
"""

from __future__ import annotations

import numpy as np

from cppsns3.errors import SimulationError

__all__ = ["NetworkRun", "build_topology", "vector_to_numpy", "attach_port_monitors", "attach_port_tools",
           "port_snapshot", "flowmon_records", "execute"]


def vector_to_numpy(vec, dtype) -> np.ndarray:
    """Copy a std::vector into a numpy array (no per-element Python call)."""
    n = int(vec.size())
    if n == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(vec.data(), dtype=dtype, count=n).copy()


def build_topology(spec):
    """Seed ns-3, install nodes/links/stack/routing, write the routes."""
    from cppsns3.ns3 import ns
    from cppsns3.ns3.topology import CppsTopologyHelper

    ns.RngSeedManager.SetSeed(spec.seed)
    ns.RngSeedManager.SetRun(spec.replication + 1)
    topo = CppsTopologyHelper(spec.capacity).install(spec.labels, spec.links)
    topo.install_paths(spec.routes)
    return topo


def attach_port_monitors(spec, topo) -> dict:
    """A PortMonitor on every sending port, keyed by (node, peer node)."""
    from cppsns3.ns3 import cpp, ns

    monitors = {}
    for lk in spec.links:
        for u, v in ((lk.a, lk.b), (lk.b, lk.a)):
            m = ns.CreateObject[cpp.PortMonitor]()
            if not m.Attach(topo.port_device(u, v)):
                raise SimulationError(f"port monitor did not attach at {spec.labels[u]}->{spec.labels[v]}")
            monitors[(u, v)] = m
    return monitors


def attach_port_tools(spec, topo, n_flows):
    """Port monitors plus per-hop retransmission (HopRetransmitter) on every port.

    Returns the drop ledger, the monitors and the retransmitters (keep them
    referenced: their trace callbacks point at them).
    """
    from cppsns3.ns3 import cpp, ns

    ledger = ns.CreateObject[cpp.DropLedger]()
    ledger.Resize(n_flows)
    monitors = attach_port_monitors(spec, topo)
    rtx = []
    for (u, v) in monitors:
        r = ns.CreateObject[cpp.HopRetransmitter]()
        if not r.Attach(topo.port_device(u, v), spec.t_wait_s, spec.max_attempts, ledger):
            raise SimulationError(f"retransmitter did not attach at {spec.labels[u]}->{spec.labels[v]}")
        rtx.append(r)
    return ledger, monitors, rtx


def port_snapshot(m) -> dict:
    """Counters and time average of one PortMonitor now; W by Little's law."""
    transmitted = int(m.GetTransmitted())
    window = float(m.GetObservedTime())
    mean_n = float(m.GetMeanNumberInSystem())
    lam_eff = transmitted / window if window > 0 else 0.0
    return {
        "offered_packets": int(m.GetOffered()),
        "dropped_packets": int(m.GetDropped()),
        "transmitted_packets": transmitted,
        "transmitted_bytes": int(m.GetTransmittedBytes()),
        "busy_s": float(m.GetBusyTime()),
        "window_s": window,
        "mean_number_in_system": mean_n,
        "mean_time_in_system_s": mean_n / lam_eff if lam_eff > 0 else float("nan"),
    }


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


class NetworkRun:
    """One packet-level run of a spec: ``build()``, then ``run()`` (once each).

    Subclasses set ``mode`` and implement ``_install()`` (applications and
    monitors, after the topology exists) and ``_simulate()`` (returns the raw
    result dict).
    """

    mode = ""

    def __init__(self, spec):
        if spec.mode != self.mode:
            raise ValueError(f"mode: this run is {self.mode!r}, the spec is {spec.mode!r}")
        self.spec = spec
        self.topo = None
        self._ran = False

    @property
    def built(self) -> bool:
        return self.topo is not None

    def build(self):
        """Install the topology, the routes, the applications and the monitors."""
        import time

        if self.topo is not None:
            return self
        t0 = time.perf_counter()
        self._configure()
        self.topo = build_topology(self.spec)
        self._install()
        self.build_wall_s = time.perf_counter() - t0
        return self

    def run(self) -> dict:
        """Simulate; returns the raw result (``events``, ``build_wall_s``, ``sim_wall_s``, ...)."""
        from cppsns3.errors import SimulationError

        if self._ran:
            raise SimulationError("this run has already been simulated (build a new one)")
        self.build()
        self._ran = True
        out = self._simulate()
        out["build_wall_s"] = self.build_wall_s + out.get("build_wall_s", 0.0)
        return out

    def _install_flowmon(self, bin_width_s: float) -> None:
        """FlowMonitor on every node, with delay and jitter histograms of ``bin_width_s`` bins."""
        from cppsns3.ns3 import ns

        self.fm_helper = ns.FlowMonitorHelper()
        # ns-3's default 1 ms histogram bins hold this network's delays in one bin.
        for attr in ("DelayBinWidth", "JitterBinWidth"):
            self.fm_helper.SetMonitorAttribute(attr, ns.DoubleValue(bin_width_s))
        self.fm = self.fm_helper.InstallAll()

    def _flowmon_results(self) -> dict:
        """Write the spec's FlowMonitor XML (temporary name, then renamed); return the flow records."""
        from cppsns3.atomic import atomic_path

        if self.spec.flowmon_xml:
            with atomic_path(self.spec.flowmon_xml) as tmp:
                self.fm.SerializeToXmlFile(str(tmp), True, True)
        return flowmon_records(self.fm, self.fm_helper, self.topo)

    # hooks
    def _configure(self):
        """ns-3 defaults to set before anything is created."""

    def _install(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _simulate(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


def run_class(mode: str):
    """The :class:`NetworkRun` subclass of a mode (``"validate"`` or ``"round"``)."""
    if mode == "validate":
        from cppsns3.sim.validate import ValidateRun

        return ValidateRun
    if mode == "round":
        from cppsns3.sim.round import RoundRun

        return RoundRun
    raise ValueError(f"mode: must be round or validate, got {mode!r}")


def execute(spec) -> dict:
    """Build and run one spec in this process (what a ``cppsns3 run`` child does)."""
    return run_class(spec.mode)(spec).run()
