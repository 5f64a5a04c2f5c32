"""Reader for ns-3 ASCII traces (``AsciiTraceHelper``, ``*.tr``).

Every line an ns-3 helper's ``EnableAscii*`` writes has the form::

    EVENT TIME_S CONTEXT_PATH PACKET_PRINT

for example::

    + 0.100667 /NodeList/0/DeviceList/0/$ns3::PointToPointNetDevice/TxQueue/Enqueue
      ns3::PppHeader (Point-to-Point Protocol: IP (0x0021)) ns3::Ipv4Header (tos 0x0 ...
      id 0 protocol 17 offset (bytes) 0 flags [none] length: 1028 10.1.1.1 > 10.1.2.2)
      ns3::UdpHeader (length: 1008 49153 > 9) Payload (size=1000)

(one line in the file).  Events: ``+`` enqueue, ``-`` dequeue (start of
transmission on point-to-point and CSMA devices), ``d`` drop, ``r`` receive,
``t`` transmit (Wi-Fi PHY).  The node and device come from the context path;
``trace_source`` is the rest of the path (``TxQueue/Enqueue``, ``MacRx``,
``PhyRxDrop``, ...) and tells, for a drop, where it happened.

Columns of the returned DataFrames
----------------------------------
``event`` (str, one of ``+ - d r t``), ``time_s`` (float, as printed by ns-3:
six significant digits by default), ``node``, ``device`` (Int64; ``<NA>`` when
the path names none; for a traffic-control queue disc the device is its index
in ``RootQueueDiscList``), ``size_bytes`` (Int64, see below), ``trace_source``
(str), and, where the packet print carries them, ``src_addr``, ``dst_addr``
(str), ``protocol`` (Int64: IP protocol number), ``ip_id`` (Int64: IPv4
identification), ``src_port``, ``dst_port`` (Int64: UDP or TCP).

``size_bytes`` is the frame's size as ns-3 counts it on that device: the
link-layer headers that are printed (PPP 2, Ethernet 14, Ethernet trailer 4,
LLC/SNAP 8 bytes) plus the IPv4 total length (or 40 + the IPv6 payload length);
for non-IP packets the printed ARP header (28) and payload sizes are added
instead; ``<NA>`` if nothing in the print gives a size.

Streaming and errors
--------------------
:func:`iter_ascii` reads the file line by line and yields DataFrames of at
most ``chunk_rows`` rows, so memory stays bounded for large traces;
:func:`read_ascii` concatenates them.  Files ending in ``.gz`` are decompressed
on the fly.  A malformed line, or a last line without its newline (ns-3 ends
every line with one, so this means the file was cut short), or a number too
large for its 64-bit column, raises :class:`~cppsns3.errors.TraceFormatError`
naming the file, the line number and the byte offset of the start of that line
(in the decompressed stream); so does a corrupt or truncated ``.gz`` stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from cppsns3.traces._common import DEFAULT_CHUNK_ROWS, check_path, fail, open_binary, out_of_int64, typed_frame

__all__ = ["ASCII_COLUMNS", "EVENTS", "iter_ascii", "read_ascii", "parse_context"]

#: Event letters ns-3 writes.
EVENTS = frozenset("+-drt")

#: Column order of every DataFrame this module returns.
ASCII_COLUMNS = (
    "event", "time_s", "node", "device", "size_bytes", "trace_source",
    "src_addr", "dst_addr", "protocol", "ip_id", "src_port", "dst_port",
)
_INT_COLUMNS = ("node", "device", "size_bytes", "protocol", "ip_id", "src_port", "dst_port")

_CONTEXT_RE = re.compile(r"^/NodeList/(\d+)(?:/DeviceList/(\d+))?(/.*)?$")
_QDISC_RE = re.compile(r"/RootQueueDiscList/(\d+)")
_IPV4_RE = re.compile(
    r"ns3::Ipv4Header \(.*?\bid (\d+) protocol (\d+) .*?length: (\d+) (\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+)\)")
_IPV6_LEN_RE = re.compile(r"ns3::Ipv6Header \(.*?Payload Length (\d+).*?Next Header (\d+)")
_IPV6_ADDR_RE = re.compile(r"ns3::Ipv6Header \(.*?\(?([0-9a-fA-F]*:[0-9a-fA-F:.]+) > ([0-9a-fA-F]*:[0-9a-fA-F:.]+)")
_UDP_RE = re.compile(r"ns3::UdpHeader \(length: \d+ (\d+) > (\d+)\)")
_TCP_RE = re.compile(r"ns3::TcpHeader \((\d+) > (\d+)")
_PAYLOAD_RE = re.compile(r"Payload \(size=(\d+)\)")
#: Printed link-layer headers and their serialized sizes in bytes.
_LINK_HEADERS = (
    ("ns3::PppHeader", 2),
    ("ns3::EthernetHeader", 14),
    ("ns3::EthernetTrailer", 4),
    ("ns3::LlcSnapHeader", 8),
)
_ARP_BYTES = 28
_IPV6_HEADER_BYTES = 40


def parse_context(context: str):
    """Split an ns-3 trace context path into ``(node, device, trace_source)``.

    ``/NodeList/3/DeviceList/1/$ns3::PointToPointNetDevice/TxQueue/Drop`` gives
    ``(3, 1, "TxQueue/Drop")``; a queue disc path
    ``/NodeList/0/$ns3::TrafficControlLayer/RootQueueDiscList/1/Drop`` gives
    ``(0, 1, "TrafficControlLayer/RootQueueDiscList/1/Drop")``.

    Raises
    ------
    ValueError
        If the path does not start with ``/NodeList/N``.
    """
    m = _CONTEXT_RE.match(context)
    if m is None:
        raise ValueError(f"trace context {context!r} does not start with /NodeList/N")
    node = int(m.group(1))
    rest = (m.group(3) or "").lstrip("/")
    if m.group(2) is not None:
        device = int(m.group(2))
        if rest.startswith("$"):  # drop the device type segment
            _, _, rest = rest.partition("/")
    else:
        q = _QDISC_RE.search(rest)
        device = int(q.group(1)) if q else None
    return node, device, rest.replace("$ns3::", "")


def _packet_fields(text: str):
    """(size_bytes, src, dst, protocol, ip_id, sport, dport) from a packet print."""
    link = 0
    for name, nbytes in _LINK_HEADERS:
        if name in text:
            link += nbytes * text.count(name)
    src = dst = proto = ip_id = sport = dport = None
    size = None
    if "ns3::Ipv4Header" in text:
        m = _IPV4_RE.search(text)
        if m:
            ip_id, proto, iplen = int(m.group(1)), int(m.group(2)), int(m.group(3))
            src, dst = m.group(4), m.group(5)
            size = link + iplen
    elif "ns3::Ipv6Header" in text:
        m = _IPV6_LEN_RE.search(text)
        if m:
            size = link + _IPV6_HEADER_BYTES + int(m.group(1))
            proto = int(m.group(2))
        a = _IPV6_ADDR_RE.search(text)
        if a:
            src, dst = a.group(1), a.group(2)
    if "ns3::UdpHeader" in text:
        m = _UDP_RE.search(text)
        if m:
            sport, dport = int(m.group(1)), int(m.group(2))
    elif "ns3::TcpHeader" in text:
        m = _TCP_RE.search(text)
        if m:
            sport, dport = int(m.group(1)), int(m.group(2))
    if size is None:
        payload = sum(int(x) for x in _PAYLOAD_RE.findall(text))
        arp = _ARP_BYTES if "ns3::ArpHeader" in text else 0
        if link or payload or arp:
            size = link + arp + payload
    return size, src, dst, proto, ip_id, sport, dport


def _frame(cols) -> pd.DataFrame:
    return typed_frame(cols, ASCII_COLUMNS, _INT_COLUMNS)


def iter_ascii(path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Stream an ns-3 ASCII trace as DataFrames of at most ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.tr`` file (or ``.tr.gz``).
    chunk_rows : int
        Rows per yielded DataFrame (>= 1).

    Yields
    ------
    pandas.DataFrame
        Columns :data:`ASCII_COLUMNS` (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If ``chunk_rows`` < 1.
    TraceFormatError
        On a malformed or truncated line (names file, line and byte offset).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    p = check_path(path)
    cols = {c: [] for c in ASCII_COLUMNS}
    offset = 0
    with open_binary(p) as fh:
        for lineno, raw in enumerate(fh, start=1):
            start = offset
            offset += len(raw)
            if not raw.endswith(b"\n"):
                raise fail(p, "truncated: last line has no newline", line=lineno, byte=start)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split(" ", 3)
            if len(parts) < 3:
                raise fail(p, f"expected 'EVENT TIME PATH ...', got {line[:60]!r}", line=lineno, byte=start)
            event, time_text, context = parts[0], parts[1], parts[2]
            if event not in EVENTS or len(event) != 1:
                raise fail(p, f"unknown event {event!r} (expected one of + - d r t)", line=lineno, byte=start)
            try:
                t = float(time_text)
            except ValueError:
                raise fail(p, f"bad time {time_text!r}", line=lineno, byte=start) from None
            try:
                node, device, source = parse_context(context)
            except ValueError as exc:
                raise fail(p, str(exc), line=lineno, byte=start) from None
            size, src, dst, proto, ip_id, sport, dport = _packet_fields(parts[3] if len(parts) > 3 else "")
            big = out_of_int64((node, device, size, proto, ip_id, sport, dport))
            if big is not None:
                raise fail(p, f"number {big} does not fit a 64-bit integer column", line=lineno, byte=start)
            for c, v in zip(ASCII_COLUMNS, (event, t, node, device, size, source, src, dst, proto, ip_id,
                                            sport, dport)):
                cols[c].append(v)
            if len(cols["event"]) >= chunk_rows:
                yield _frame(cols)
                cols = {c: [] for c in ASCII_COLUMNS}
    if cols["event"]:
        yield _frame(cols)


def read_ascii(path) -> pd.DataFrame:
    """Read a whole ns-3 ASCII trace into one DataFrame (see :func:`iter_ascii`).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    TraceFormatError
        On a malformed or truncated line (names file, line and byte offset).
    """
    chunks = list(iter_ascii(path))
    if not chunks:
        return _frame({c: [] for c in ASCII_COLUMNS})
    return pd.concat(chunks, ignore_index=True)

