"""Reader for pcap files written by ns-3's ``PcapHelper`` (``EnablePcap*``).

Records are read with :mod:`dpkt` (``dpkt.pcap.Reader``) and decoded with its
packet classes; nothing here parses packet bytes by hand.  Link types:

- ``DLT_PPP`` (9): ns-3's point-to-point devices write the 2-byte PPP
  protocol field only (no address/control bytes); frames that do start with
  ``ff 03`` are decoded as full PPP.
- ``DLT_EN10MB`` (1): Ethernet (CSMA, bridge, ...), VLAN tags and LLC/SNAP.
- ``DLT_RAW`` (101, 12, 14): raw IPv4/IPv6.
- anything else (802.11, radiotap, ...): time and sizes only.

Columns
-------
``time_s`` (float), ``size_bytes`` (Int64, the frame's original length on the
wire as recorded in the pcap record header), ``captured_bytes`` (Int64),
``node``, ``device`` (Int64, from an ns-3 file name ``PREFIX-NODE-DEVICE.pcap``,
else ``<NA>``), ``link_type`` (Int64, the file's DLT), and where the frame
carries them ``src_addr``, ``dst_addr`` (str), ``protocol`` (Int64, IP
protocol), ``ip_id`` (Int64, IPv4 identification), ``src_port``,
``dst_port`` (Int64, UDP or TCP).

Note that ns-3's point-to-point device captures a sent packet when its
transmission *starts* and a received one when its reception *ends*, both in
the same file, without a direction flag.

Streaming and errors
--------------------
:func:`iter_pcap` yields DataFrames of at most ``chunk_rows`` records.  A file
shorter than its 24-byte header, a bad magic number, or a record cut short
(the header or the data announced by its ``caplen``) raises
:class:`~cppsns3.errors.TraceFormatError` naming the file, the record number
and its byte offset; so does a corrupt or truncated ``.gz`` stream.  A huge
``caplen`` in a corrupt header is read in 1 MiB pieces, never allocated whole.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import dpkt
import pandas as pd

from cppsns3.errors import TraceFormatError
from cppsns3.traces._common import DEFAULT_CHUNK_ROWS, check_path, fail, open_binary, typed_frame

__all__ = ["PCAP_COLUMNS", "DLT_EN10MB", "DLT_PPP", "iter_pcap", "read_pcap"]

DLT_EN10MB = 1
DLT_PPP = 9
_DLT_RAW = (101, 12, 14)
_FILE_HEADER_BYTES = 24
#: Largest single read; a record's ``caplen`` (up to 4 GiB in a corrupt file)
#: is read in pieces of this size, so it never allocates more than the file has.
_READ_PIECE = 1 << 20

#: Column order of every DataFrame this module returns.
PCAP_COLUMNS = (
    "time_s", "size_bytes", "captured_bytes", "node", "device", "link_type",
    "src_addr", "dst_addr", "protocol", "ip_id", "src_port", "dst_port",
)
_INT_COLUMNS = ("size_bytes", "captured_bytes", "node", "device", "link_type", "protocol", "ip_id",
                "src_port", "dst_port")
_NAME_RE = re.compile(r"-(\d+)-(\d+)\.pcap(?:\.gz)?$")


class _Tap:
    """File wrapper that remembers every read, so short reads show truncation."""

    def __init__(self, fh):
        self.fh = fh
        self.pos = 0
        self.reads = []  # (offset, requested, bytes) since the last reset
        self.name = getattr(fh, "name", "<pcap>")

    def read(self, n=-1):
        if n is None or n < 0 or n <= _READ_PIECE:
            data = self.fh.read(n)
        else:
            pieces, left = [], n
            while left > 0:
                piece = self.fh.read(min(left, _READ_PIECE))
                if not piece:
                    break
                pieces.append(piece)
                left -= len(piece)
            data = b"".join(pieces)
        self.reads.append((self.pos, n, data))
        self.pos += len(data)
        return data


def _ip_fields(ip):
    """(src, dst, protocol, ip_id, sport, dport) of a dpkt IP/IP6 packet."""
    if isinstance(ip, dpkt.ip.IP):
        src, dst = socket.inet_ntop(socket.AF_INET, ip.src), socket.inet_ntop(socket.AF_INET, ip.dst)
        proto, ip_id = ip.p, ip.id
    elif isinstance(ip, dpkt.ip6.IP6):
        src, dst = socket.inet_ntop(socket.AF_INET6, ip.src), socket.inet_ntop(socket.AF_INET6, ip.dst)
        proto, ip_id = ip.nxt, None
    else:
        return None, None, None, None, None, None
    sport = dport = None
    l4 = ip.data
    if isinstance(l4, (dpkt.udp.UDP, dpkt.tcp.TCP)):
        sport, dport = l4.sport, l4.dport
    return src, dst, proto, ip_id, sport, dport


def _decode(link_type, buf):
    """Network-layer fields of one frame, or all None when there are none."""
    try:
        if link_type == DLT_PPP:
            frame = dpkt.ppp.PPP(buf) if buf[:2] == b"\xff\x03" else dpkt.pppoe.PPP(buf)
            ip = frame.data
        elif link_type == DLT_EN10MB:
            ip = dpkt.ethernet.Ethernet(buf).data
        elif link_type in _DLT_RAW:
            ip = dpkt.ip6.IP6(buf) if buf[:1] and buf[0] >> 4 == 6 else dpkt.ip.IP(buf)
        else:
            return (None,) * 6
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError):
        return (None,) * 6
    return _ip_fields(ip)


def _frame(cols) -> pd.DataFrame:
    return typed_frame(cols, PCAP_COLUMNS, _INT_COLUMNS)


def iter_pcap(path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Stream a pcap file as DataFrames of at most ``chunk_rows`` records.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pcap`` file (or ``.pcap.gz``).
    chunk_rows : int
        Records per yielded DataFrame (>= 1).

    Yields
    ------
    pandas.DataFrame
        Columns :data:`PCAP_COLUMNS` (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If ``chunk_rows`` < 1.
    TraceFormatError
        If the file header is short or has a bad magic number, or a record is
        truncated (names file, record number and byte offset).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    p = check_path(path)
    m = _NAME_RE.search(p.name)
    node, device = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    with open_binary(p) as raw:
        tap = _Tap(raw)
        try:
            reader = dpkt.pcap.Reader(tap)
        except TraceFormatError:
            raise  # a corrupt .gz stream, already named
        except (ValueError, dpkt.NeedData, dpkt.UnpackError) as exc:
            if tap.pos < _FILE_HEADER_BYTES:
                raise fail(p, f"truncated pcap file header ({tap.pos} of {_FILE_HEADER_BYTES} bytes)",
                           byte=0) from None
            raise fail(p, f"not a pcap file ({exc})", byte=0) from None
        link_type = reader.datalink()
        record_header = reader._Reader__ph  # dpkt's header class for this byte order / resolution
        cols = {c: [] for c in PCAP_COLUMNS}
        n = 0
        it = iter(reader)
        while True:
            tap.reads.clear()
            start = tap.pos
            try:
                ts, buf = next(it)
            except StopIteration:
                break
            except (dpkt.NeedData, dpkt.UnpackError):
                raise fail(p, f"record {n + 1}: truncated record header "
                              f"({tap.pos - start} of {record_header.__hdr_len__} bytes)", byte=start) from None
            n += 1
            hdr = record_header(tap.reads[0][2])
            if len(buf) != hdr.caplen:
                raise fail(p, f"record {n}: truncated data ({len(buf)} of {hdr.caplen} bytes)", byte=start)
            src, dst, proto, ip_id, sport, dport = _decode(link_type, buf)
            for c, v in zip(PCAP_COLUMNS, (float(ts), hdr.len, hdr.caplen, node, device, link_type, src, dst,
                                           proto, ip_id, sport, dport)):
                cols[c].append(v)
            if len(cols["time_s"]) >= chunk_rows:
                yield _frame(cols)
                cols = {c: [] for c in PCAP_COLUMNS}
    if cols["time_s"]:
        yield _frame(cols)


def read_pcap(path) -> pd.DataFrame:
    """Read a whole pcap file into one DataFrame (see :func:`iter_pcap`).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    TraceFormatError
        If the file is truncated or not a pcap file (names file and byte offset).
    """
    chunks = list(iter_pcap(path))
    if not chunks:
        return _frame({c: [] for c in PCAP_COLUMNS})
    return pd.concat(chunks, ignore_index=True)
