"""Fuzzing the trace readers: any bytes give DataFrames or a TraceFormatError.

Small valid FlowMonitor XML, ns-3 ASCII and pcap samples are truncated,
bit-flipped, byte-inserted, spliced, digit-stuffed (huge numbers) or replaced
by random bytes and token soup, plain and gzip-compressed, and fed to
``read_*`` and to the ``iter_*`` twins.  Each call must return a DataFrame (a
dict of them for FlowMonitor) or raise :class:`TraceFormatError` naming the
file; any other exception is a bug in the reader.  Derandomized, so the run is
the same every time (see docs/fuzzing.md).
"""

import gzip
import itertools
import socket
import tempfile
from pathlib import Path

import dpkt
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cppsns3.errors import TraceFormatError
from cppsns3.traces import iter_ascii, iter_flowmon, iter_pcap, read_ascii, read_flowmon, read_pcap

SETTINGS = settings(derandomize=True, max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- valid samples

FLOWMON_FULL = b"""<?xml version="1.0" ?>
<FlowMonitor>
  <FlowStats>
    <Flow flowId="1" timeFirstTxPacket="+1.00667e+08ns" timeFirstRxPacket="+1.04315e+08ns" timeLastTxPacket="+5.99334e+08ns" timeLastRxPacket="+6.06131e+08ns" delaySum="+4.00375e+09ns" jitterSum="+1.44744e+08ns" lastDelay="+6.79708e+06ns" maxDelay="+6.9439e+06ns" minDelay="+3.648e+06ns" txBytes="769972" rxBytes="627080" txPackets="749" rxPackets="610" lostPackets="139" timesForwarded="610">
      <packetsDropped reasonCode="3" number="139" />
      <bytesDropped reasonCode="3" bytes="142892" />
      <delayHistogram nBins="7" >
        <bin index="3" start="0.003" width="0.001" count="10" />
      </delayHistogram>
      <packetSizeHistogram nBins="52" >
        <bin index="51" start="1020" width="20" count="610" />
      </packetSizeHistogram>
    </Flow>
  </FlowStats>
  <Ipv4FlowClassifier>
    <Flow flowId="1" sourceAddress="10.1.1.1" destinationAddress="10.1.2.2" protocol="17" sourcePort="49153" destinationPort="9">
      <Dscp value="0x0" packets="749" />
    </Flow>
  </Ipv4FlowClassifier>
  <Ipv6FlowClassifier>
    <Flow flowId="2" sourceAddress="2001:db8::1" destinationAddress="2001:db8::2" protocol="6" sourcePort="49154" destinationPort="80" />
  </Ipv6FlowClassifier>
  <FlowProbes>
    <FlowProbe index="0">
      <FlowStats  flowId="1" packets="749" bytes="769972" delayFromFirstProbeSum="+0ns" >
        <packetsDropped reasonCode="3" number="139" />
        <bytesDropped reasonCode="3" bytes="142892" />
      </FlowStats>
    </FlowProbe>
  </FlowProbes>
</FlowMonitor>
"""

FLOWMON_PLAIN = b"""<?xml version="1.0" ?>
<FlowMonitor>
  <FlowStats>
    <Flow flowId="2" timeFirstTxPacket="+2e+09ns" timeFirstRxPacket="+0ns" timeLastTxPacket="+2e+09ns" timeLastRxPacket="+0ns" delaySum="+0ns" jitterSum="+0ns" lastDelay="+0ns" txBytes="1048" rxBytes="0" txPackets="1" rxPackets="0" lostPackets="1" timesForwarded="0">
    </Flow>
  </FlowStats>
  <Ipv6FlowClassifier>
    <Flow flowId="2" sourceAddress="2001:db8::1" destinationAddress="2001:db8::2" protocol="6" sourcePort="49154" destinationPort="80" />
  </Ipv6FlowClassifier>
</FlowMonitor>
"""

_PPP = "ns3::PppHeader (Point-to-Point Protocol: IP (0x0021))"
_IP = ("ns3::Ipv4Header (tos 0x0 DSCP Default ECN Not-ECT ttl 64 id {id} protocol 17 offset (bytes) 0 "
       "flags [none] length: 1028 10.1.1.1 > 10.1.2.2) ns3::UdpHeader (length: 1008 49153 > 9) Payload (size=1000)")

ASCII_SAMPLE = "".join([
    f"+ 0.1 /NodeList/0/DeviceList/0/$ns3::PointToPointNetDevice/TxQueue/Enqueue {_PPP} {_IP.format(id=0)}\n",
    f"- 0.1 /NodeList/0/DeviceList/0/$ns3::PointToPointNetDevice/TxQueue/Dequeue {_PPP} {_IP.format(id=0)}\n",
    f"d 0.1006 /NodeList/0/DeviceList/0/$ns3::PointToPointNetDevice/TxQueue/Drop {_PPP} {_IP.format(id=2)}\n",
    f"d 1.5 /NodeList/2/$ns3::TrafficControlLayer/RootQueueDiscList/1/Drop {_IP.format(id=5)}\n",
    "r 2 /NodeList/3/DeviceList/0/$ns3::CsmaNetDevice/MacRx ns3::EthernetHeader ( length/type=0x806, "
    "source=00:00:00:00:00:01, destination=ff:ff:ff:ff:ff:ff) ns3::ArpHeader (request source mac: "
    "00-06-00:00:00:00:00:01 source ipv4: 10.1.2.1 dest ipv4: 10.1.2.4) ns3::EthernetTrailer (fcs=0)\n",
    "t 2.5 /NodeList/4/DeviceList/1/$ns3::CsmaNetDevice/MacTx ns3::Ipv6Header (DSCP Default ECN Not-ECT "
    "Flow Label 0 Payload Length 40 Next Header 6 Hop Limit 64 ) (2001:db8::1 > 2001:db8::2) "
    "ns3::TcpHeader (49153 > 80 [SYN] Seq=0 Ack=0 Win=65535)\n",
]).encode()


def _udp_ip(ip_id, payload=24):
    udp = dpkt.udp.UDP(sport=49153, dport=9, data=b"\x07" * payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton("10.1.1.1"), dst=socket.inet_aton("10.1.2.2"), p=17, id=ip_id,
                    data=udp)
    ip.len = len(ip)
    return ip


def _tcp_ip6():
    tcp = dpkt.tcp.TCP(sport=49154, dport=80, flags=dpkt.tcp.TH_SYN)
    ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, "2001:db8::1"),
                       dst=socket.inet_pton(socket.AF_INET6, "2001:db8::2"), nxt=6, hlim=64, data=tcp)
    ip6.plen = len(tcp)
    return ip6


def _pcap_bytes(linktype, frames, nano=False):
    class Sink:
        def __init__(self):
            self.parts = []

        def write(self, b):
            self.parts.append(b)

        def flush(self):
            pass

    sink = Sink()
    w = dpkt.pcap.Writer(sink, linktype=linktype, nano=nano)
    for ts, buf in frames:
        w.writepkt(buf, ts=ts)
    return b"".join(sink.parts)


def _eth(payload, eth_type):
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 5 + b"\x01", dst=b"\x00" * 5 + b"\x02", type=eth_type,
                                        data=payload))


PCAP_SAMPLES = [
    # ns-3 point-to-point: the 2-byte PPP protocol field only
    _pcap_bytes(dpkt.pcap.DLT_PPP, [(0.5, b"\x00\x21" + bytes(_udp_ip(0))),
                                    (0.501, b"\x00\x57" + bytes(_tcp_ip6()))]),
    # full PPP (ff 03 ...)
    _pcap_bytes(dpkt.pcap.DLT_PPP, [(0.5, b"\xff\x03\x00\x21" + bytes(_udp_ip(1)))]),
    # Ethernet, nanosecond resolution, IPv4 and ARP
    _pcap_bytes(dpkt.pcap.DLT_EN10MB, [(1.000000001, _eth(_udp_ip(7), dpkt.ethernet.ETH_TYPE_IP)),
                                       (2.0, _eth(dpkt.arp.ARP(), dpkt.ethernet.ETH_TYPE_ARP))], nano=True),
    # raw IPv4 / IPv6, and a link type that is not decoded (802.11)
    _pcap_bytes(101, [(3.0, bytes(_udp_ip(9))), (3.5, bytes(_tcp_ip6()))]),
    _pcap_bytes(105, [(4.0, b"\x08\x00" + b"\x00" * 30)]),
]

SAMPLES = {"flowmon": [FLOWMON_FULL, FLOWMON_PLAIN], "ascii": [ASCII_SAMPLE], "pcap": PCAP_SAMPLES}

# what random token soup is made of, per format
TOKENS = {
    "flowmon": [b"<FlowMonitor>", b"</FlowMonitor>", b"<FlowStats>", b"</FlowStats>", b"<Flow ", b"</Flow>",
                b"<Ipv4FlowClassifier>", b"</Ipv4FlowClassifier>", b"<Ipv6FlowClassifier>", b"<FlowProbes>",
                b"<FlowProbe ", b"</FlowProbe>", b"<delayHistogram>", b"</delayHistogram>", b"<bin ",
                b"<packetsDropped ", b"<bytesDropped ", b"<Dscp ", b"/>", b">", b" ", b"\n",
                b'flowId="', b'txPackets="', b'rxPackets="', b'reasonCode="', b'number="', b'bytes="',
                b'index="', b'start="', b'width="', b'count="', b'delaySum="', b'sourceAddress="',
                b'destinationAddress="', b'protocol="', b'sourcePort="', b'destinationPort="', b'value="',
                b'packets="', b'delayFromFirstProbeSum="', b'"', b"1", b"-1", b"0x", b"ff", b"+1e+09ns",
                b"nan", b"inf", b"1e999", b"99999999999999999999999", b"&amp;", b"&#0;", b"<!DOCTYPE x [",
                b"]>", b"<?xml version=\"1.0\" encoding=\"latin-1\"?>", b"\xc3\xa9", b"\xff", b"\x00"],
    "ascii": [b"+ ", b"- ", b"d ", b"r ", b"t ", b"x ", b"0.1 ", b"1e999 ", b"nan ", b"-0 ", b"/NodeList/",
              b"/DeviceList/", b"99999999999999999999999", b"0", b"7", b"/$ns3::PointToPointNetDevice",
              b"/TxQueue/Drop ", b"/$ns3::TrafficControlLayer/RootQueueDiscList/", b" ", b"\n", b"\r\n",
              b"ns3::PppHeader ", b"ns3::EthernetHeader ", b"ns3::LlcSnapHeader ", b"ns3::ArpHeader ",
              b"ns3::Ipv4Header (id ", b" protocol ", b" length: ", b" 10.0.0.1 > 10.0.0.2) ",
              b"ns3::Ipv6Header (Payload Length ", b" Next Header ", b" (::1 > ::2) ",
              b"ns3::UdpHeader (length: 8 ", b" > ", b") ", b"ns3::TcpHeader (", b"Payload (size=",
              b"\xc3\xa9", b"\xff", b"\x00", b"\xd9\xa1"],
}

# --------------------------------------------------------------------------- mutations

_DIGITS = st.one_of(st.sampled_from([b"9" * 25, b"18446744073709551616", b"-9223372036854775809", b"1e999",
                                     b"-1", b"0", b"nan", b"inf", b"4294967295"]),
                    st.binary(min_size=1, max_size=6).map(lambda b: str(int.from_bytes(b, "big")).encode()))


@st.composite
def mutated(draw, samples):
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "overwrite", "digits", "splice",
                                   "dup"]))
        n = len(data)
        pos = draw(st.integers(0, max(n, 0)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and n:
            i = min(pos, n - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos:pos + len(chunk)] = chunk
        elif op == "digits":
            data[pos:pos] = draw(_DIGITS)
        elif op == "splice" and n:
            a = draw(st.integers(0, n - 1))
            data[pos:pos] = data[a:a + draw(st.integers(1, 64))]
        elif op == "dup" and n:
            # repeat a line / record-sized chunk, to make longer files
            a = draw(st.integers(0, n - 1))
            data[a:a] = data[a:a + draw(st.integers(1, 200))] * draw(st.integers(1, 3))
    return bytes(data)


def inputs(fmt):
    """Mutated samples, random bytes and (for text formats) token soup."""
    strategies = [mutated(SAMPLES[fmt]), mutated(SAMPLES[fmt]), st.binary(max_size=200)]
    if fmt in TOKENS:
        strategies.append(st.lists(st.sampled_from(TOKENS[fmt]), max_size=40).map(b"".join))
    if fmt == "pcap":
        # a valid file header with random records after it
        strategies.append(st.tuples(st.sampled_from(PCAP_SAMPLES), st.binary(max_size=120))
                          .map(lambda t: t[0][:24] + t[1]))
    return st.one_of(strategies)


# --------------------------------------------------------------------------- running the readers

_WORK = tempfile.TemporaryDirectory(prefix="cppsns3-fuzz-")
_COUNTER = itertools.count()
_NAMES = {"flowmon": "fm.xml", "ascii": "run.tr", "pcap": "run-3-1.pcap"}


def _write(fmt, data, gz=False):
    d = Path(_WORK.name) / str(next(_COUNTER))
    d.mkdir()
    p = d / (_NAMES[fmt] + (".gz" if gz else ""))
    p.write_bytes(data)
    return p


def _check_frame(df):
    assert isinstance(df, pd.DataFrame)


def _run(fmt, path, chunk_rows):
    """Every reader of ``fmt`` on ``path``; all must agree on failing or not."""
    outcomes = []
    calls = {
        "flowmon": [lambda: read_flowmon(path), lambda: list(iter_flowmon(path, chunk_rows=chunk_rows))],
        "ascii": [lambda: read_ascii(path), lambda: list(iter_ascii(path, chunk_rows=chunk_rows))],
        "pcap": [lambda: read_pcap(path), lambda: list(iter_pcap(path, chunk_rows=chunk_rows))],
    }[fmt]
    for call in calls:
        try:
            out = call()
        except TraceFormatError as exc:
            assert str(path) in str(exc), f"error does not name the file: {exc}"
            outcomes.append("error")
            continue
        if isinstance(out, dict):
            assert all(isinstance(v, pd.DataFrame) for v in out.values())
        elif isinstance(out, list):
            for item in out:
                _check_frame(item[1] if isinstance(item, tuple) else item)
        else:
            _check_frame(out)
        outcomes.append("ok")
    assert len(set(outcomes)) == 1, f"read and iter disagree: {outcomes}"


@pytest.mark.parametrize("fmt", ["flowmon", "ascii", "pcap"])
def test_valid_samples_read(fmt):
    for data in SAMPLES[fmt]:
        for gz in (False, True):
            path = _write(fmt, gzip.compress(data) if gz else data, gz=gz)
            reader = {"flowmon": read_flowmon, "ascii": read_ascii, "pcap": read_pcap}[fmt]
            out = reader(path)
            frame = out["flows"] if isinstance(out, dict) else out
            assert len(frame) >= 1


# an entity-expansion bomb: expat's amplification limit must stop it quickly
_BOMB = (b'<?xml version="1.0"?><!DOCTYPE FlowMonitor [<!ENTITY a "aaaaaaaaaa">'
         + b"".join(b"<!ENTITY " + bytes([98 + i]) + b' "' + (b"&" + bytes([97 + i]) + b";") * 10 + b'">'
                    for i in range(9))
         + b']><FlowMonitor><FlowProbes><FlowProbe index="&j;"/></FlowProbes></FlowMonitor>\n')


@SETTINGS
@given(data=inputs("flowmon"), chunk_rows=st.integers(1, 3))
# found by this test: a number beyond int64 crashed building the Int64 column (OverflowError)
@example(data=FLOWMON_PLAIN.replace(b'txPackets="1"', b'txPackets="99999999999999999999"'), chunk_rows=1)
@example(data=FLOWMON_FULL.replace(b'reasonCode="3"', b'reasonCode="-9223372036854775809"', 1), chunk_rows=2)
@example(data=_BOMB, chunk_rows=1)
def test_fuzz_flowmon(data, chunk_rows):
    _run("flowmon", _write("flowmon", data), chunk_rows)


@SETTINGS
@given(data=inputs("ascii"), chunk_rows=st.integers(1, 3))
# found by this test: a node number or IP length beyond int64 (OverflowError)
@example(data=ASCII_SAMPLE.replace(b"/NodeList/3/", b"/NodeList/99999999999999999999/"), chunk_rows=1)
@example(data=ASCII_SAMPLE.replace(b"length: 1028", b"length: 18446744073709551616"), chunk_rows=3)
def test_fuzz_ascii(data, chunk_rows):
    _run("ascii", _write("ascii", data), chunk_rows)


@SETTINGS
@given(data=inputs("pcap"), chunk_rows=st.integers(1, 3))
# a record announcing a 4 GiB caplen: read in pieces, reported as truncated, not allocated
@example(data=PCAP_SAMPLES[0][:24] + b"\x00" * 8 + b"\xf0\xff\xff\xff" * 2 + b"abc", chunk_rows=1)
def test_fuzz_pcap(data, chunk_rows):
    _run("pcap", _write("pcap", data), chunk_rows)


@settings(SETTINGS, max_examples=100)
@given(fmt=st.sampled_from(["flowmon", "ascii", "pcap"]), data=st.data(), mode=st.sampled_from(["wrap", "mutate"]))
def test_fuzz_gzip(fmt, data, mode):
    """``.gz`` files: a mutated trace compressed, or a valid one whose compressed bytes are mutated."""
    if mode == "wrap":
        raw = gzip.compress(data.draw(inputs(fmt), label="trace"), mtime=0)
    else:
        raw = data.draw(mutated([gzip.compress(s, mtime=0) for s in SAMPLES[fmt]]), label="gz")
    _run(fmt, _write(fmt, raw, gz=True), 2)


@pytest.mark.parametrize("fmt", ["flowmon", "ascii", "pcap"])
@pytest.mark.parametrize("cut", [b"\x1f", b"not gzip at all", None])
def test_corrupt_gzip_is_a_trace_format_error(fmt, cut):
    """Found by test_fuzz_gzip: BadGzipFile, zlib.error and EOFError escaped the readers."""
    good = gzip.compress(SAMPLES[fmt][0], mtime=0)
    raw = good[: len(good) // 2] if cut is None else cut
    path = _write(fmt, raw, gz=True)
    reader = {"flowmon": read_flowmon, "ascii": read_ascii, "pcap": read_pcap}[fmt]
    with pytest.raises(TraceFormatError, match=r"gzip stream"):
        reader(path)
    flipped = bytearray(good)
    flipped[-6] ^= 0x10  # the CRC-32 of the trailer
    with pytest.raises(TraceFormatError, match=r"gzip stream"):
        reader(_write(fmt, bytes(flipped), gz=True))
