"""The three trace readers on one real ns-3 run: they must agree with each other.

One small simulation (3 nodes in a line, M/M/1/K ports): a Poisson flow
(the package's PoissonSource) from node 0 to node 2 through node 1, and ns-3's
own UdpClient from node 1 to node 2.  The run writes a FlowMonitor XML file,
an ASCII trace of every device and a pcap file per device; the package's
DelaySink and PortMonitor give independent in-memory figures to check against.
"""

import math

import numpy as np
import pytest

from cppsns3.traces import read_ascii, read_flowmon, read_pcap
from cppsns3.traces import analysis as an

RATE_BPS = 10e6
DELAY_S = 1e-3
K = 5
MEAN_BYTES = 1000.0
MU = RATE_BPS / (8 * MEAN_BYTES)
POISSON_PACKETS = 800
CLIENT_PACKETS = 300


def _simulate(out):
    from cppsns3.ns3 import cpp, ns
    from cppsns3.ns3.links import HEADER_BYTES, MAX_PAYLOAD_BYTES, PortLinkHelper

    ns.RngSeedManager.SetSeed(11)
    ns.RngSeedManager.SetRun(1)
    try:
        nodes = ns.NodeContainer()
        nodes.Create(3)
        link = PortLinkHelper(RATE_BPS, DELAY_S, K)
        d01 = link.install(nodes.Get(0), nodes.Get(1))
        d12 = link.install(nodes.Get(1), nodes.Get(2))
        ns.InternetStackHelper().Install(nodes)
        addr = ns.Ipv4AddressHelper()
        addr.SetBase(ns.Ipv4Address("10.1.1.0"), ns.Ipv4Mask("255.255.255.0"))
        addr.Assign(d01)
        addr.SetBase(ns.Ipv4Address("10.1.2.0"), ns.Ipv4Mask("255.255.255.0"))
        i12 = addr.Assign(d12)
        ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()

        sink = ns.CreateObject[cpp.DelaySink]()
        sink.SetPort(9)
        nodes.Get(2).AddApplication(sink)
        source = ns.CreateObject[cpp.PoissonSource]()
        remote = ns.InetSocketAddress(i12.GetAddress(1), 9).ConvertTo()
        source.Configure(remote, 0.7 * MU, MEAN_BYTES, HEADER_BYTES, MAX_PAYLOAD_BYTES, POISSON_PACKETS, 1)
        source.AssignStreams(0)
        nodes.Get(0).AddApplication(source)

        server = ns.UdpServerHelper(4000)
        server.Install(nodes.Get(2))
        client = ns.UdpClientHelper(i12.GetAddress(1).ConvertTo(), 4000)
        client.SetAttribute("MaxPackets", ns.UintegerValue(CLIENT_PACKETS))
        client.SetAttribute("Interval", ns.TimeValue(ns.MicroSeconds(2500)))
        client.SetAttribute("PacketSize", ns.UintegerValue(600))
        capps = client.Install(nodes.Get(1))
        capps.Start(ns.Seconds(0.05))

        monitor = ns.CreateObject[cpp.PortMonitor]()
        assert monitor.Attach(d01.Get(0))
        p2p = ns.PointToPointHelper()  # EnableAsciiAll/EnablePcapAll trace every p2p device
        p2p.EnableAsciiAll(ns.AsciiTraceHelper().CreateFileStream(str(out / "run.tr")))
        p2p.EnablePcapAll(str(out / "run"))
        fmh = ns.FlowMonitorHelper()
        flowmon = fmh.InstallAll()

        ns.Simulator.Stop(ns.Seconds(1.5))
        ns.Simulator.Run()
        flowmon.SerializeToXmlFile(str(out / "flowmon.xml"), True, True)
        n = int(sink.GetCount())
        return {
            "sent": int(source.GetSent()),
            "received": n,
            "sink_delays_s": np.frombuffer(sink.GetDelays().data(), dtype=np.float64, count=n).copy(),
            "port_dropped": int(monitor.GetDropped()),
            "port_mean_number": float(monitor.GetMeanNumberInSystem()),
            "port_busy_s": float(monitor.GetBusyTime()),
            "port_observed_s": float(monitor.GetObservedTime()),
        }
    finally:
        ns.Simulator.Destroy()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ns3traces")
    # A fresh interpreter: tracing enables packet metadata, which ns-3 refuses
    # once the process has made packets (other tests in this process have).
    from cppsns3.sim.runner import run_in_child

    mem = run_in_child(_simulate, out, label="trace run", fresh=True)
    flows = read_flowmon(out / "flowmon.xml")
    fm = flows["flows"]
    poisson = fm.loc[fm["dst_port"] == 9].iloc[0]
    client = fm.loc[fm["dst_port"] == 4000].iloc[0]
    return {
        "out": out, "mem": mem, "fm": flows, "poisson": poisson, "client": client,
        "ascii": read_ascii(out / "run.tr"),
        "pcap": {(n, d): read_pcap(out / f"run-{n}-{d}.pcap") for n, d in ((0, 0), (1, 0), (1, 1), (2, 0))},
    }


def _flow(df, row):
    sel = (df["src_addr"] == row["src_addr"]) & (df["dst_addr"] == row["dst_addr"]) & (
        df["src_port"] == row["src_port"]) & (df["dst_port"] == row["dst_port"])
    return df.loc[sel.fillna(False).astype(bool)]


def test_flowmon_sees_both_flows(run):
    fm = run["fm"]["flows"]
    assert len(fm) == 2
    assert set(fm["protocol"]) == {17}
    p, c = run["poisson"], run["client"]
    assert p["tx_packets"] == run["mem"]["sent"] == POISSON_PACKETS
    assert p["rx_packets"] == run["mem"]["received"]
    assert c["tx_packets"] == CLIENT_PACKETS
    # the Poisson flow (rho 0.7 into K = 5) loses packets at node 0's port, and
    # more at node 1's, which it shares with the client (rho about 0.9)
    assert p["lost_packets"] == p["tx_packets"] - p["rx_packets"] > run["mem"]["port_dropped"] > 0
    assert p["mean_hops"] == 2.0 and c["mean_hops"] == 1.0
    # histograms count every received packet
    h = run["fm"]["delay_histogram"]
    assert h.loc[h["flow_id"] == p["flow_id"], "count"].sum() == p["rx_packets"]


def test_packet_counts_agree_across_formats(run):
    tr, pc = run["ascii"], run["pcap"]
    for row in (run["poisson"], run["client"]):
        f = _flow(tr, row)
        src_node = 0 if row["dst_port"] == 9 else 1
        at_src = f.loc[f["node"] == src_node]
        sent = (at_src["event"] == "+").sum() + (at_src["event"] == "d").sum()
        assert sent == row["tx_packets"]
        assert ((f["node"] == 2) & (f["event"] == "r")).sum() == row["rx_packets"]
        assert (f["event"] == "d").sum() == row["lost_packets"]
        # the destination's capture holds every received packet of the flow
        assert len(_flow(pc[(2, 0)], row)) == row["rx_packets"]
    # each capture holds what went over that device: the source port sends
    # all but its own drops, the relay receives those and sends all but its drops
    p = run["poisson"]
    drops = an.loss_by_cause(_flow(tr, p)).set_index("node")["packets"]
    assert len(_flow(pc[(0, 0)], p)) == len(_flow(pc[(1, 0)], p)) == p["tx_packets"] - drops.loc[0]
    assert len(_flow(pc[(1, 1)], p)) == p["tx_packets"] - drops.sum() == p["rx_packets"]


def test_sizes_agree(run):
    tr, pc, p = run["ascii"], run["pcap"], run["poisson"]
    wire = _flow(tr, p)
    wire = wire.loc[(wire["node"] == 0) & (wire["event"] == "-")]
    cap = _flow(pc[(0, 0)], p)
    assert wire["size_bytes"].tolist() == cap["size_bytes"].tolist()
    # FlowMonitor counts IP bytes: the frame minus the 2-byte PPP header
    assert int(_flow(pc[(2, 0)], p)["size_bytes"].sum()) - 2 * p["rx_packets"] == p["rx_bytes"]


def test_delays_agree(run):
    d = an.packet_delays(run["ascii"])
    p = run["poisson"]
    dp = _flow(d, p)
    assert len(dp) == p["rx_packets"]
    assert (dp["src_node"] == 0).all() and (dp["dst_node"] == 2).all()
    # FlowMonitor's mean (six significant digits in the XML) vs the ASCII trace
    assert dp["delay_s"].mean() == pytest.approx(p["mean_delay_s"], rel=2e-4)
    assert dp["delay_s"].max() == pytest.approx(p["max_delay_s"], abs=2e-6)
    # per packet against the in-memory sink (ASCII times: 6 significant digits)
    sink = run["mem"]["sink_delays_s"]
    assert np.max(np.abs(np.sort(dp["delay_s"].to_numpy()) - np.sort(sink))) < 2e-6
    # pcap: start of transmission at node 0 to end of reception at node 2,
    # the same two instants as the ASCII '-' at node 0 and 'r' at node 2
    pc = an.match_delays(run["pcap"][(0, 0)], run["pcap"][(2, 0)])
    tr = run["ascii"]
    tx = tr.loc[(tr["node"] == 0) & (tr["event"] == "-")]
    rx = tr.loc[(tr["node"] == 2) & (tr["event"] == "r")]
    ta = an.match_delays(tx, rx)
    assert len(pc) == len(ta) == p["rx_packets"]
    assert np.max(np.abs(pc["delay_s"].to_numpy() - ta["delay_s"].to_numpy())) < 3e-6
    # the delay summary's CI covers FlowMonitor's mean
    s = an.delay_summary(dp)
    assert s["packets"].iloc[0] == p["rx_packets"]
    assert abs(s["mean_delay_s"].iloc[0] - p["mean_delay_s"]) <= s["mean_delay_ci95_s"].iloc[0]
    fs = an.flowmon_delay_summary(run["fm"]).set_index("flow_id").loc[p["flow_id"]]
    assert fs["p50_delay_s"] == pytest.approx(s["p50_delay_s"].iloc[0], abs=fs["bin_width_s"])


def test_queue_occupancy_matches_port_monitor_and_eq1(run):
    tr, mem = run["ascii"], run["mem"]
    occ = an.queue_occupancy(tr, 0, 0, RATE_BPS)
    assert occ["queue_packets"].min() >= 0 and occ["queue_packets"].max() <= K - 1
    assert occ["system_packets"].min() >= 0 and occ["system_packets"].max() <= K
    # PortMonitor averages from its attachment (t = 0) to the end of the run
    t_end = 1.5
    measured = an.time_average(occ, "system_packets", 0.0, t_end)
    assert measured == pytest.approx(mem["port_mean_number"], rel=5e-3)
    util = an.link_utilisation(tr, 0, 0, RATE_BPS, bin_s=0.1, t_start=0.0, t_end=t_end)
    busy = float((util["utilisation"] * util["bin_s"]).sum())
    assert busy == pytest.approx(mem["port_busy_s"], rel=1e-3)
    assert util["utilisation"].between(0, 1 + 1e-9).all()
    # Eq. 1 at the measured load: same order as the short run's estimate
    cmp = an.port_vs_eq1(tr, 0, 0, RATE_BPS, K)
    assert 0.5 < cmp["rho"] < 0.9
    assert cmp["offered_packets"] == POISSON_PACKETS
    assert cmp["dropped_packets"] == mem["port_dropped"]
    assert math.isclose(cmp["measured_mean_number_in_system"], cmp["analytic_mean_number_in_system"], rel_tol=0.35)


def test_loss_by_cause(run):
    loss = an.loss_by_cause(run["ascii"]).set_index(["node", "device"])
    assert set(loss["cause"]) == {"queue_overflow"}
    assert int(loss.loc[(0, 0), "packets"]) == run["mem"]["port_dropped"]
    lost = int(run["fm"]["flows"]["lost_packets"].sum())
    assert int(loss["packets"].sum()) == lost
    fl = an.flowmon_loss_by_cause(run["fm"])
    assert fl["reason"].tolist() == ["DROP_QUEUE"]
    assert int(fl["packets"].iloc[0]) == lost
