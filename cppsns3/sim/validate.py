"""Validation mode: Poisson single-packet blocks on the planned paths (Eq. 1-2).

Runs in a child process (see :mod:`cppsns3.sim.runner`).  Each flow (demand
terminal -> destination) is a Poisson source of exponential-size packets at
the rate the plan assumed (times the run's load scale); every node has one
sink.  Every sending port has a monitor and per-hop retransmission: a packet
refused by a full queue is offered to the same port again after ``t_wait``
(up to ``max_attempts`` refusals, then it is abandoned).

The run is split into three segments: warm-up (monitors then reset), the
measured window (port figures snapshot at its end; only packets *sent* inside
it enter the delay statistics), and a drain after the sources stop, so every
packet ends received or abandoned: sent = received + abandoned per flow.
"""

from __future__ import annotations


import numpy as np

from cppsns3.errors import SimulationError
from cppsns3.model.stats import batch_means
from cppsns3.sim.netbuild import NetworkRun, attach_port_tools, port_snapshot, vector_to_numpy

__all__ = ["ValidateRun", "run_validate", "SINK_PORT", "DELAY_BATCHES"]

SINK_PORT = 9
#: Batches (in send order) per flow for the within-run delay CI.
DELAY_BATCHES = 10


def drain_time_s(spec) -> float:
    """Simulated time after the sources stop within which every packet ends."""
    hops = max((len(f.path) - 1 for f in spec.flows), default=1)
    prop = sum(link.delay_s for link in spec.links)
    # A full queue of large packets at every hop of the slowest link.
    slowest_bps = min((link.rate_bps for link in spec.links), default=1.0)
    queueing = hops * spec.capacity * 10 * spec.mean_packet_bytes * 8 / slowest_bps
    return hops * spec.max_attempts * max(spec.t_wait_s, 0.0) + 2 * prop + queueing + 0.01


def run_validate(spec) -> dict:
    """Build, run and measure one validation replication (:class:`ValidateRun`).

    Returns
    -------
    dict
        ``flows`` (per flow: sent, received, abandoned, queue drops, delay
        mean/CI, FlowMonitor counts, visited path sample), ``ports`` (per
        sending port ``(u, v)``: offered, dropped, transmitted, busy, L, W),
        ``events``, ``sim_wall_s``.

    Raises
    ------
    SimulationError
        If an invariant breaks or a trace does not connect.
    """
    return ValidateRun(spec).run()


class ValidateRun(NetworkRun):
    """Validation mode on one spec: Poisson sources, sinks, port tools, FlowMonitor."""

    mode = "validate"

    def _install(self):
        from cppsns3.ns3 import cpp, ns
        from cppsns3.ns3.links import HEADER_BYTES, MAX_PAYLOAD_BYTES

        spec, topo = self.spec, self.topo
        n_flows = len(spec.flows)
        self.ledger, self.monitors, self._rtx = attach_port_tools(spec, topo, n_flows)
        self.sinks = []
        for i in range(len(spec.labels)):
            sink = ns.CreateObject[cpp.DelaySink]()
            sink.SetPort(SINK_PORT)
            topo.node(i).AddApplication(sink)
            self.sinks.append(sink)
        self.sources = []
        stop = ns.Seconds(spec.duration_s)
        for f in spec.flows:
            src = ns.CreateObject[cpp.PoissonSource]()
            remote = ns.InetSocketAddress(topo.primary[f.dst], SINK_PORT).ConvertTo()
            src.Configure(remote, f.rate_per_s, spec.mean_packet_bytes, HEADER_BYTES, MAX_PAYLOAD_BYTES, 0, f.index)
            src.AssignStreams(2 * f.index)
            topo.node(f.src).AddApplication(src)
            src.SetStopTime(stop)
            self.sources.append(src)

        self.recorder = ns.CreateObject[cpp.PathRecorder]()
        self.recorder.SetSeqLimit(spec.record_seq_limit)
        for i in range(len(spec.labels)):
            if not self.recorder.Attach(topo.node(i), i):
                raise SimulationError(f"path recorder did not attach at node {spec.labels[i]}")

        self._install_flowmon(1e-6)

    def _simulate(self) -> dict:
        import time

        from cppsns3.ns3 import ns

        spec, monitors = self.spec, self.monitors
        n_flows = len(spec.flows)
        t_sim = time.perf_counter()
        ns.Simulator.Stop(ns.Seconds(spec.warmup_s))
        ns.Simulator.Run()
        for m in monitors.values():
            m.Reset()
        ns.Simulator.Stop(ns.Seconds(spec.duration_s - spec.warmup_s))
        ns.Simulator.Run()
        ports = {(u, v): port_snapshot(m) for (u, v), m in monitors.items()}
        # Drain: the sources stopped at duration_s.  FlowMonitor reschedules its
        # own check forever, so the drain needs an end: long enough for the
        # slowest packet (every hop refusing it max_attempts - 1 times).
        ns.Simulator.Stop(ns.Seconds(drain_time_s(spec)))
        ns.Simulator.Run()
        sim_s = time.perf_counter() - t_sim
        events = int(ns.Simulator.GetEventCount())

        fmrec = self._flowmon_results()

        # Sink records, all nodes together.
        fl, sq, dl, ar = [], [], [], []
        for s in self.sinks:
            fl.append(vector_to_numpy(s.GetFlowIds(), np.uint32))
            sq.append(vector_to_numpy(s.GetSeqs(), np.uint32))
            dl.append(vector_to_numpy(s.GetDelays(), np.float64))
            ar.append(vector_to_numpy(s.GetArrivalTimes(), np.float64))
        flow_ids = np.concatenate(fl)
        seqs = np.concatenate(sq)
        delays = np.concatenate(dl)
        sent_at = np.concatenate(ar) - delays
        drops = vector_to_numpy(self.ledger.GetDrops(), np.uint64)
        abandoned = vector_to_numpy(self.ledger.GetAbandoned(), np.uint64)

        rec_flow = vector_to_numpy(self.recorder.GetFlows(), np.uint32)
        rec_seq = vector_to_numpy(self.recorder.GetSeqs(), np.uint32)
        rec_node = vector_to_numpy(self.recorder.GetNodes(), np.uint32)

        # Packets of the caller's own applications (Simulation) are not flows.
        own = flow_ids < n_flows
        flow_ids, seqs, delays, sent_at = flow_ids[own], seqs[own], delays[own], sent_at[own]
        order = np.argsort(flow_ids, kind="stable")
        flow_ids, seqs, delays, sent_at = flow_ids[order], seqs[order], delays[order], sent_at[order]
        bounds = np.searchsorted(flow_ids, np.arange(n_flows + 1))
        flows = []
        for f in spec.flows:
            lo, hi = bounds[f.index], bounds[f.index + 1]
            sent = int(self.sources[f.index].GetSent())
            received = int(hi - lo)
            d = delays[lo:hi]
            t0 = sent_at[lo:hi]
            sq_f = seqs[lo:hi]
            keep = (t0 >= spec.warmup_s) & (t0 < spec.duration_s)
            # Batches in send order, so they follow time.
            d_win = d[keep][np.argsort(sq_f[keep], kind="stable")]
            mean, hw = batch_means(d_win, DELAY_BATCHES) if d_win.size >= 2 * DELAY_BATCHES else (
                float(d_win.mean()) if d_win.size else float("nan"), float("nan"))
            sel = rec_flow == f.index
            visited = {}
            for s_, n_ in zip(rec_seq[sel], rec_node[sel]):
                visited.setdefault(int(s_), []).append(int(n_))
            fmr = fmrec.get((f.src, f.dst, 17, SINK_PORT), {})
            flows.append({
                "index": f.index,
                "sent_packets": sent,
                "received_packets": received,
                "abandoned_packets": int(abandoned[f.index]),
                "queue_drops": int(drops[f.index]),
                "measured_delay_s": mean,
                "measured_delay_ci95_s": hw,
                "measured_packets": int(d_win.size),
                "flowmon": fmr,
                "visited": {k: v for k, v in visited.items()},
            })
            in_flight = sent - received - int(abandoned[f.index])
            if in_flight:
                raise SimulationError(
                    f"flow {spec.labels[f.src]}->{spec.labels[f.dst]}: sent {sent} != received {received} "
                    f"+ abandoned {int(abandoned[f.index])} after the drain"
                )
        ns.Simulator.Destroy()
        return {
            "flows": flows,
            "ports": ports,
            "events": events,
            "sim_wall_s": sim_s,
            "untagged_drops": int(self.ledger.GetUntagged()),
        }
