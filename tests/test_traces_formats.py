"""Trace readers on hand-written files: plain ns-3 output, chunking, and broken files."""

import re
import socket

import dpkt
import numpy as np
import pandas as pd
import pytest

from cppsns3.errors import TraceFormatError
from cppsns3.traces import (iter_ascii, iter_flowmon, iter_pcap, read_ascii, read_flowmon, read_pcap)
from cppsns3.traces import analysis as an
from cppsns3.traces.flowmon import FLOW_COLUMNS

# What a plain ns-3 program (e.g. examples/wireless/wifi-*.cc with
# flowMonitor->SerializeToXmlFile("x.xml", false, false)) writes: no
# histograms, no probes, IPv4 and IPv6 classifiers, two flows, one never received.
PLAIN_XML = """<?xml version="1.0" ?>
<FlowMonitor>
  <FlowStats>
    <Flow flowId="1" timeFirstTxPacket="+1e+09ns" timeFirstRxPacket="+1.002e+09ns" timeLastTxPacket="+1.9e+09ns" timeLastRxPacket="+1.902e+09ns" delaySum="+2e+08ns" jitterSum="+9.9e+06ns" lastDelay="+2e+06ns" maxDelay="+3e+06ns" minDelay="+1e+06ns" txBytes="105200" rxBytes="104148" txPackets="100" rxPackets="99" lostPackets="1" timesForwarded="0">
    </Flow>
    <Flow flowId="2" timeFirstTxPacket="+2e+09ns" timeFirstRxPacket="+0ns" timeLastTxPacket="+2e+09ns" timeLastRxPacket="+0ns" delaySum="+0ns" jitterSum="+0ns" lastDelay="+0ns" txBytes="1048" rxBytes="0" txPackets="1" rxPackets="0" lostPackets="1" timesForwarded="0">
    </Flow>
  </FlowStats>
  <Ipv4FlowClassifier>
    <Flow flowId="1" sourceAddress="10.1.1.1" destinationAddress="10.1.1.2" protocol="17" sourcePort="49153" destinationPort="9" />
  </Ipv4FlowClassifier>
  <Ipv6FlowClassifier>
    <Flow flowId="2" sourceAddress="2001:db8::1" destinationAddress="2001:db8::2" protocol="6" sourcePort="49154" destinationPort="80" />
  </Ipv6FlowClassifier>
  <FlowProbes>
  </FlowProbes>
</FlowMonitor>
"""

FULL_XML = """<?xml version="1.0" ?>
<FlowMonitor>
  <FlowStats>
    <Flow flowId="1" timeFirstTxPacket="+1.00667e+08ns" timeFirstRxPacket="+1.04315e+08ns" timeLastTxPacket="+5.99334e+08ns" timeLastRxPacket="+6.06131e+08ns" delaySum="+4.00375e+09ns" jitterSum="+1.44744e+08ns" lastDelay="+6.79708e+06ns" maxDelay="+6.9439e+06ns" minDelay="+3.648e+06ns" txBytes="769972" rxBytes="627080" txPackets="749" rxPackets="610" lostPackets="139" timesForwarded="610">
      <packetsDropped reasonCode="0" number="0" />
      <packetsDropped reasonCode="3" number="139" />
      <bytesDropped reasonCode="0" bytes="0" />
      <bytesDropped reasonCode="3" bytes="142892" />
      <delayHistogram nBins="7" >
        <bin index="3" start="0.003" width="0.001" count="10" />
        <bin index="6" start="0.006" width="0.001" count="600" />
      </delayHistogram>
      <jitterHistogram nBins="1" >
        <bin index="0" start="0" width="0.001" count="609" />
      </jitterHistogram>
      <packetSizeHistogram nBins="52" >
        <bin index="51" start="1020" width="20" count="610" />
      </packetSizeHistogram>
      <flowInterruptionsHistogram nBins="0" >
      </flowInterruptionsHistogram>
    </Flow>
  </FlowStats>
  <Ipv4FlowClassifier>
    <Flow flowId="1" sourceAddress="10.1.1.1" destinationAddress="10.1.2.2" protocol="17" sourcePort="49153" destinationPort="9">
      <Dscp value="0x0" packets="749" />
    </Flow>
  </Ipv4FlowClassifier>
  <Ipv6FlowClassifier>
  </Ipv6FlowClassifier>
  <FlowProbes>
    <FlowProbe index="0">
      <FlowStats  flowId="1" packets="749" bytes="769972" delayFromFirstProbeSum="+0ns" >
        <packetsDropped reasonCode="3" number="139" />
        <bytesDropped reasonCode="3" bytes="142892" />
      </FlowStats>
    </FlowProbe>
    <FlowProbe index="1">
    </FlowProbe>
    <FlowProbe index="2">
      <FlowStats  flowId="1" packets="610" bytes="627080" delayFromFirstProbeSum="+4.00375e+09ns" >
      </FlowStats>
    </FlowProbe>
  </FlowProbes>
</FlowMonitor>
"""

PPP = "ns3::PppHeader (Point-to-Point Protocol: IP (0x0021))"


def _ip(ip_id, length=1028, src="10.1.1.1", dst="10.1.2.2"):
    return (f"ns3::Ipv4Header (tos 0x0 DSCP Default ECN Not-ECT ttl 64 id {ip_id} protocol 17 offset (bytes) 0 "
            f"flags [none] length: {length} {src} > {dst}) ns3::UdpHeader (length: {length - 20} 49153 > 9) "
            f"Payload (size={length - 28})")


def _line(ev, t, node, dev, what, ip_id):
    return f"{ev} {t} /NodeList/{node}/DeviceList/{dev}/$ns3::PointToPointNetDevice/{what} {PPP} {_ip(ip_id)}\n"


# one port (node 0, device 0) at 8 Mbit/s: a 1030 B frame takes 1.03 ms to send
ASCII_LINES = [
    _line("+", 0.1, 0, 0, "TxQueue/Enqueue", 0),
    _line("-", 0.1, 0, 0, "TxQueue/Dequeue", 0),
    _line("+", 0.1005, 0, 0, "TxQueue/Enqueue", 1),
    _line("d", 0.1006, 0, 0, "TxQueue/Drop", 2),
    _line("-", 0.10103, 0, 0, "TxQueue/Dequeue", 1),
    _line("r", 0.10203, 1, 0, "MacRx", 0),
    _line("r", 0.10306, 1, 0, "MacRx", 1),
]


def _write(path, text, mode="w"):
    with open(path, mode) as fh:
        fh.write(text)
    return path


# --------------------------------------------------------------------------- FlowMonitor


def test_plain_ns3_flowmon_parses(tmp_path):
    t = read_flowmon(_write(tmp_path / "plain.xml", PLAIN_XML))
    f = t["flows"]
    assert tuple(f.columns[: len(FLOW_COLUMNS)]) == FLOW_COLUMNS
    assert f["flow_id"].tolist() == [1, 2]
    assert f["src_addr"].tolist() == ["10.1.1.1", "2001:db8::1"]
    assert f["ip_version"].tolist() == [4, 6]
    assert f["protocol"].tolist() == [17, 6]
    r = f.iloc[0]
    assert r["mean_delay_s"] == pytest.approx(0.2 / 99)
    assert r["mean_jitter_s"] == pytest.approx(9.9e-3 / 98)
    assert r["time_first_tx_s"] == pytest.approx(1.0)
    assert r["max_delay_s"] == pytest.approx(3e-3)
    assert r["rx_throughput_mbps"] == pytest.approx(8 * 104148 / 0.9 / 1e6)
    # flow 2: nothing received, and this file has no minDelay/maxDelay
    assert np.isnan(f.loc[1, "mean_delay_s"]) and np.isnan(f.loc[1, "max_delay_s"])
    for name in ("delay_histogram", "probes", "drops"):
        assert t[name].empty and list(t[name].columns)


def test_full_flowmon_tables(tmp_path):
    t = read_flowmon(_write(tmp_path / "full.xml", FULL_XML))
    assert t["flows"]["lost_packets"].tolist() == [139]
    h = t["delay_histogram"]
    assert h["count"].sum() == 610 and h["bin_start_s"].tolist() == [0.003, 0.006]
    assert t["packet_size_histogram"]["bin_start_bytes"].tolist() == [1020.0]
    d = t["drops"]
    totals = d.loc[d["probe_index"].isna()].set_index("reason")
    assert totals.loc["DROP_QUEUE", "packets"] == 139 and totals.loc["DROP_QUEUE", "bytes"] == 142892
    assert d.loc[d["probe_index"] == 0, "packets"].tolist() == [139]
    p = t["probes"]
    assert p["probe_index"].tolist() == [0, 2]
    assert p["delay_from_first_probe_sum_s"].tolist() == pytest.approx([0.0, 4.00375])
    assert t["dscp"]["packets"].tolist() == [749]
    loss = an.flowmon_loss_by_cause(t)
    assert loss[["reason", "packets"]].values.tolist() == [["DROP_QUEUE", 139]]
    s = an.flowmon_delay_summary(t).iloc[0]
    assert s["packets"] == 610 and s["p50_delay_s"] == pytest.approx(0.006 + 0.001 * 295 / 600)


def test_flowmon_streams_in_chunks(tmp_path):
    path = _write(tmp_path / "full.xml", FULL_XML)
    chunks = list(iter_flowmon(path, chunk_rows=1))
    assert all(len(df) <= 1 for _, df in chunks)
    tables = {name for name, _ in chunks}
    assert {"flow_stats", "classifier", "delay_histogram", "probes", "drops"} <= tables
    assert sum(len(df) for name, df in chunks if name == "delay_histogram") == 2


@pytest.mark.parametrize("cut", [120, 900, len(FULL_XML) - 20])
def test_truncated_flowmon(tmp_path, cut):
    path = _write(tmp_path / "cut.xml", FULL_XML[:cut])
    with pytest.raises(TraceFormatError, match=r"cut\.xml at line \d+, byte offset \d+"):
        read_flowmon(path)


def test_malformed_flowmon(tmp_path):
    bad = FULL_XML.replace('txPackets="749"', 'txPackets="seven"')
    with pytest.raises(TraceFormatError) as exc:
        read_flowmon(_write(tmp_path / "bad.xml", bad))
    line = FULL_XML[: FULL_XML.index('txPackets="749"')].count("\n") + 1
    assert f"line {line}," in str(exc.value) and "txPackets='seven'" in str(exc.value)
    with pytest.raises(TraceFormatError, match="not a FlowMonitor"):
        read_flowmon(_write(tmp_path / "other.xml", "<html><body/></html>\n"))
    with pytest.raises(TraceFormatError, match="mismatched tag"):
        read_flowmon(_write(tmp_path / "tag.xml", FULL_XML.replace("</FlowStats>\n  <Ipv4", "</Flows>\n  <Ipv4")))
    with pytest.raises(TraceFormatError, match="empty"):
        read_flowmon(_write(tmp_path / "empty.xml", ""))
    with pytest.raises(FileNotFoundError):
        read_flowmon(tmp_path / "missing.xml")


# --------------------------------------------------------------------------- ASCII


def test_ascii_columns_and_values(tmp_path):
    df = read_ascii(_write(tmp_path / "a.tr", "".join(ASCII_LINES)))
    assert df["event"].tolist() == ["+", "-", "+", "d", "-", "r", "r"]
    assert df["node"].tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert df["size_bytes"].tolist() == [1030] * 7
    assert df["trace_source"].iloc[3] == "TxQueue/Drop"
    assert df[["src_addr", "dst_addr", "protocol", "src_port", "dst_port"]].iloc[0].tolist() == [
        "10.1.1.1", "10.1.2.2", 17, 49153, 9]
    assert df["ip_id"].tolist() == [0, 0, 1, 2, 1, 0, 1]


def test_ascii_analyses_on_a_known_trace(tmp_path):
    df = read_ascii(_write(tmp_path / "a.tr", "".join(ASCII_LINES)))
    rate = 8e6  # 1030 B -> 1.03 ms
    occ = an.queue_occupancy(df, 0, 0, rate)
    # in system: 1 from 0.1; 2 from 0.1005; the first leaves at 0.10103 (the
    # second starts sending), which leaves at 0.10206
    assert an.time_average(occ, "system_packets", 0.1, 0.10206) == pytest.approx(
        (0.0005 * 1 + 0.00053 * 2 + 0.00103 * 1) / 0.00206)
    assert an.time_average(occ, "queue_packets", 0.1, 0.10206) == pytest.approx(0.00053 / 0.00206)
    u = an.link_utilisation(df, 0, 0, rate, bin_s=0.001, t_start=0.1, t_end=0.103)
    assert u["utilisation"].tolist() == pytest.approx([1.0, 1.0, 0.06])
    d = an.packet_delays(df)
    assert d["ip_id"].tolist() == [0, 1]
    assert d["delay_s"].tolist() == pytest.approx([0.00203, 0.00256])
    loss = an.loss_by_cause(df)
    assert loss[["node", "cause", "packets", "bytes"]].values.tolist() == [[0, "queue_overflow", 1, 1030]]
    eq1 = an.port_vs_eq1(df, 0, 0, rate, capacity=2, t_start=0.1, t_end=0.10206)
    assert eq1["offered_packets"] == 3 and eq1["dropped_packets"] == 1
    assert eq1["measured_loss_probability"] == pytest.approx(1 / 3)


def test_ascii_streams_in_chunks(tmp_path):
    path = _write(tmp_path / "a.tr", "".join(ASCII_LINES))
    chunks = list(iter_ascii(path, chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), read_ascii(path))


def test_ascii_other_contexts(tmp_path):
    lines = [
        "d 1.5 /NodeList/2/$ns3::TrafficControlLayer/RootQueueDiscList/1/Drop "
        + _ip(5).replace("ns3::", "ns3::", 1) + "\n",
        "r 2 /NodeList/3/DeviceList/0/$ns3::CsmaNetDevice/MacRx ns3::EthernetHeader ( length/type=0x806, "
        "source=00:00:00:00:00:01, destination=ff:ff:ff:ff:ff:ff) ns3::ArpHeader (request source mac: "
        "00-06-00:00:00:00:00:01 source ipv4: 10.1.2.1 dest ipv4: 10.1.2.4) ns3::EthernetTrailer (fcs=0)\n",
    ]
    df = read_ascii(_write(tmp_path / "o.tr", "".join(lines)))
    assert df["node"].tolist() == [2, 3] and df["device"].tolist() == [1, 0]
    assert df["trace_source"].tolist() == ["TrafficControlLayer/RootQueueDiscList/1/Drop", "MacRx"]
    assert df["size_bytes"].tolist() == [1028, 14 + 28 + 4]
    assert an.loss_by_cause(df)["cause"].tolist() == ["queue_disc_drop"]


def test_ascii_malformed_and_truncated(tmp_path):
    good = "".join(ASCII_LINES)
    offset3 = len("".join(ASCII_LINES[:2]).encode())
    bad = "".join(ASCII_LINES[:2]) + "x 0.1 /NodeList/0/DeviceList/0/foo\n" + "".join(ASCII_LINES[2:])
    with pytest.raises(TraceFormatError, match=rf"bad\.tr at line 3, byte offset {offset3}: unknown event 'x'"):
        read_ascii(_write(tmp_path / "bad.tr", bad))
    bad_time = ASCII_LINES[0].replace("0.1", "zero", 1)
    with pytest.raises(TraceFormatError, match=r"line 1, byte offset 0: bad time 'zero'"):
        read_ascii(_write(tmp_path / "t.tr", bad_time))
    with pytest.raises(TraceFormatError, match=r"line 1.*NodeList"):
        read_ascii(_write(tmp_path / "p.tr", "+ 0.1 /Foo/0 x\n"))
    cut = good[: len(good) - 40]
    last_start = len(cut[: cut.rindex("\n") + 1].encode())
    with pytest.raises(TraceFormatError, match=rf"line 7, byte offset {last_start}: truncated"):
        list(iter_ascii(_write(tmp_path / "cut.tr", cut)))
    # a trace with no lines is valid and empty
    assert read_ascii(_write(tmp_path / "empty.tr", "")).empty


# --------------------------------------------------------------------------- pcap


def _udp_ip(ip_id, payload=100):
    udp = dpkt.udp.UDP(sport=49153, dport=9, data=b"\0" * payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton("10.1.1.1"), dst=socket.inet_aton("10.1.2.2"), p=17, id=ip_id, data=udp)
    ip.len = len(ip)
    return ip


def _pcap(path, linktype, frames, nano=False):
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=linktype, nano=nano)
        for ts, buf in frames:
            w.writepkt(buf, ts=ts)
    return path


def test_pcap_ppp_as_ns3_writes_it(tmp_path):
    # ns-3's point-to-point device writes the 2-byte PPP protocol field only
    frames = [(0.5 + i * 1e-3, b"\x00\x21" + bytes(_udp_ip(i))) for i in range(5)]
    path = _pcap(tmp_path / "run-3-1.pcap", dpkt.pcap.DLT_PPP, frames)
    df = read_pcap(path)
    assert len(df) == 5
    assert df["time_s"].tolist() == pytest.approx([0.5 + i * 1e-3 for i in range(5)])
    assert df["size_bytes"].tolist() == [2 + 20 + 8 + 100] * 5
    assert df["node"].tolist() == [3] * 5 and df["device"].tolist() == [1] * 5
    assert df["link_type"].iloc[0] == 9
    assert df[["src_addr", "dst_addr", "protocol", "src_port", "dst_port"]].iloc[0].tolist() == [
        "10.1.1.1", "10.1.2.2", 17, 49153, 9]
    assert df["ip_id"].tolist() == [0, 1, 2, 3, 4]
    chunks = list(iter_pcap(path, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]


def test_pcap_ethernet_nanosecond(tmp_path):
    eth = dpkt.ethernet.Ethernet(src=b"\x00" * 5 + b"\x01", dst=b"\x00" * 5 + b"\x02",
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=_udp_ip(7, 50))
    arp = dpkt.ethernet.Ethernet(src=b"\x00" * 5 + b"\x01", dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_ARP,
                                 data=dpkt.arp.ARP())
    path = _pcap(tmp_path / "csma.pcap", dpkt.pcap.DLT_EN10MB, [(1.000000001, bytes(eth)), (2.0, bytes(arp))],
                 nano=True)
    df = read_pcap(path)
    assert df["time_s"].tolist() == pytest.approx([1.000000001, 2.0], abs=1e-10)
    assert df["size_bytes"].tolist() == [14 + 20 + 8 + 50, len(bytes(arp))]
    assert df["src_addr"].iloc[0] == "10.1.1.1" and df["ip_id"].iloc[0] == 7
    assert pd.isna(df["src_addr"].iloc[1]) and pd.isna(df["node"].iloc[0])


def test_pcap_truncated_and_malformed(tmp_path):
    frames = [(0.5 + i * 1e-3, b"\x00\x21" + bytes(_udp_ip(i))) for i in range(3)]
    raw = _pcap(tmp_path / "ok.pcap", 9, frames).read_bytes()
    rec = 16 + 130
    # cut inside the third record's data
    (tmp_path / "cut.pcap").write_bytes(raw[: 24 + 2 * rec + 16 + 10])
    with pytest.raises(TraceFormatError, match=rf"cut\.pcap at byte offset {24 + 2 * rec}: record 3: truncated data"):
        read_pcap(tmp_path / "cut.pcap")
    # cut inside the second record's header
    (tmp_path / "cuth.pcap").write_bytes(raw[: 24 + rec + 7])
    with pytest.raises(TraceFormatError, match=rf"byte offset {24 + rec}: record 2: truncated record header"):
        read_pcap(tmp_path / "cuth.pcap")
    (tmp_path / "short.pcap").write_bytes(raw[:10])
    with pytest.raises(TraceFormatError, match=r"short\.pcap at byte offset 0: truncated pcap file header"):
        read_pcap(tmp_path / "short.pcap")
    (tmp_path / "magic.pcap").write_bytes(b"\x00" * 24 + raw[24:])
    with pytest.raises(TraceFormatError, match=r"magic\.pcap at byte offset 0: not a pcap file"):
        read_pcap(tmp_path / "magic.pcap")
    # header only: a valid, empty capture
    (tmp_path / "empty.pcap").write_bytes(raw[:24])
    assert read_pcap(tmp_path / "empty.pcap").empty


def test_errors_are_value_errors():
    # the CLI maps ValueError to exit 2 and one 'error:' line
    assert issubclass(TraceFormatError, ValueError)
    assert re.match(r"cppsns3\.errors", TraceFormatError.__module__)
