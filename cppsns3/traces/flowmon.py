"""Reader for ns-3 FlowMonitor XML (``FlowMonitor::SerializeToXmlFile``).

Works on any file ns-3's FlowMonitor writes, from cppsns3 or from a plain ns-3
program (C++ or Python), with or without histograms and probes, with IPv4 and
IPv6 classifiers.  Attributes that older ns-3 versions do not write
(``maxDelay``, ``minDelay``, ...) come out as NaN.

Tables (keys of :func:`read_flowmon`'s dict)
--------------------------------------------
``flows``
    One row per flow id: ``flow_id, src_addr, dst_addr, src_port, dst_port,
    protocol, tx_packets, rx_packets, lost_packets, tx_bytes, rx_bytes,
    mean_delay_s, mean_jitter_s`` (the contract columns), then ``ip_version``,
    ``time_first_tx_s, time_last_tx_s, time_first_rx_s, time_last_rx_s,
    delay_sum_s, jitter_sum_s, last_delay_s, min_delay_s, max_delay_s,
    times_forwarded, mean_hops, rx_throughput_mbps``.
    ``mean_delay_s = delay_sum_s / rx_packets``; ``mean_jitter_s =
    jitter_sum_s / (rx_packets - 1)`` (jitter is the difference of consecutive
    delays, so there is one fewer value than received packets);
    ``mean_hops = 1 + times_forwarded / rx_packets``;
    ``rx_throughput_mbps`` = 8 rx_bytes / (last - first rx time) / 1e6.
    Undefined ratios are NaN.
``delay_histogram``, ``jitter_histogram``, ``flow_interruptions_histogram``
    ``flow_id, bin_index, bin_start_s, bin_width_s, count`` (only the bins
    FlowMonitor wrote: the non-empty ones).
``packet_size_histogram``
    ``flow_id, bin_index, bin_start_bytes, bin_width_bytes, count``.
``drops``
    ``flow_id, probe_index, reason_code, reason, packets, bytes``;
    ``probe_index`` is ``<NA>`` for the flow's totals (``FlowStats``), else the
    probe that saw the drops.  ``reason`` is the name of the code in the
    flow's probe type (``Ipv4FlowProbe::DropReason`` or
    ``Ipv6FlowProbe::DropReason``, e.g. ``DROP_QUEUE``).
``probes``
    ``probe_index, flow_id, packets, bytes, delay_from_first_probe_sum_s``.
``dscp``
    ``flow_id, dscp, packets`` (IPv4 classifier, ns-3 >= 3.27).

Streaming and errors
--------------------
The file is parsed by expat (the parser under :mod:`xml.etree`) fed in blocks
of 1 MiB, so it is never held in memory whole; :func:`iter_flowmon` yields
``(table, DataFrame)`` pairs of at most ``chunk_rows`` rows as the sections are
read (``flow_stats`` and ``classifier`` are the two halves of ``flows``:
FlowMonitor writes statistics and addresses in separate sections, and only
:func:`read_flowmon` joins them).  Expat gives line and byte positions, so a
truncated file, broken XML or an attribute that is not a number (or an
integer beyond 64 bits) raises :class:`~cppsns3.errors.TraceFormatError`
naming the file, line and byte offset; so does a corrupt ``.gz`` stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from xml.parsers import expat

import numpy as np
import pandas as pd

from cppsns3.traces._common import (DEFAULT_CHUNK_ROWS, INT64_MAX, INT64_MIN, check_path, fail, open_binary,
                                    parse_time_s)

__all__ = [
    "FLOW_COLUMNS",
    "IPV4_DROP_REASONS",
    "IPV6_DROP_REASONS",
    "TABLE_COLUMNS",
    "iter_flowmon",
    "read_flowmon",
]

#: ``Ipv4FlowProbe::DropReason`` (ns-3.44), by code.
IPV4_DROP_REASONS = (
    "DROP_NO_ROUTE", "DROP_TTL_EXPIRE", "DROP_BAD_CHECKSUM", "DROP_QUEUE", "DROP_QUEUE_DISC",
    "DROP_INTERFACE_DOWN", "DROP_ROUTE_ERROR", "DROP_FRAGMENT_TIMEOUT", "DROP_INVALID_REASON",
)
#: ``Ipv6FlowProbe::DropReason`` (ns-3.44), by code.
IPV6_DROP_REASONS = (
    "DROP_NO_ROUTE", "DROP_TTL_EXPIRE", "DROP_BAD_CHECKSUM", "DROP_QUEUE", "DROP_QUEUE_DISC",
    "DROP_INTERFACE_DOWN", "DROP_ROUTE_ERROR", "DROP_UNKNOWN_PROTOCOL", "DROP_UNKNOWN_OPTION",
    "DROP_MALFORMED_HEADER", "DROP_FRAGMENT_TIMEOUT", "DROP_INVALID_REASON",
)

#: The contract columns of ``flows``, first, in this order.
FLOW_COLUMNS = (
    "flow_id", "src_addr", "dst_addr", "src_port", "dst_port", "protocol", "tx_packets", "rx_packets",
    "lost_packets", "tx_bytes", "rx_bytes", "mean_delay_s", "mean_jitter_s",
)
_EXTRA_FLOW_COLUMNS = (
    "ip_version", "time_first_tx_s", "time_last_tx_s", "time_first_rx_s", "time_last_rx_s", "delay_sum_s",
    "jitter_sum_s", "last_delay_s", "min_delay_s", "max_delay_s", "times_forwarded", "mean_hops",
    "rx_throughput_mbps",
)
_HIST_TIME = ("flow_id", "bin_index", "bin_start_s", "bin_width_s", "count")
_HIST_SIZE = ("flow_id", "bin_index", "bin_start_bytes", "bin_width_bytes", "count")

#: Columns of every table :func:`iter_flowmon` yields.
TABLE_COLUMNS = {
    "flow_stats": ("flow_id", "tx_packets", "rx_packets", "lost_packets", "tx_bytes", "rx_bytes",
                   "time_first_tx_s", "time_last_tx_s", "time_first_rx_s", "time_last_rx_s", "delay_sum_s",
                   "jitter_sum_s", "last_delay_s", "min_delay_s", "max_delay_s", "times_forwarded"),
    "classifier": ("flow_id", "ip_version", "src_addr", "dst_addr", "protocol", "src_port", "dst_port"),
    "delay_histogram": _HIST_TIME,
    "jitter_histogram": _HIST_TIME,
    "flow_interruptions_histogram": _HIST_TIME,
    "packet_size_histogram": _HIST_SIZE,
    "drops": ("flow_id", "probe_index", "reason_code", "packets", "bytes"),
    "probes": ("probe_index", "flow_id", "packets", "bytes", "delay_from_first_probe_sum_s"),
    "dscp": ("flow_id", "dscp", "packets"),
}
_INT = {"flow_id", "tx_packets", "rx_packets", "lost_packets", "tx_bytes", "rx_bytes", "times_forwarded",
        "ip_version", "protocol", "src_port", "dst_port", "bin_index", "count", "probe_index", "reason_code",
        "packets", "bytes", "dscp"}

_HISTOGRAMS = {
    "delayHistogram": "delay_histogram",
    "jitterHistogram": "jitter_histogram",
    "packetSizeHistogram": "packet_size_histogram",
    "flowInterruptionsHistogram": "flow_interruptions_histogram",
}
# attribute -> column, and whether it is a time
_FLOW_STATS_ATTRS = (
    ("flowId", "flow_id", False), ("txPackets", "tx_packets", False), ("rxPackets", "rx_packets", False),
    ("lostPackets", "lost_packets", False), ("txBytes", "tx_bytes", False), ("rxBytes", "rx_bytes", False),
    ("timeFirstTxPacket", "time_first_tx_s", True), ("timeLastTxPacket", "time_last_tx_s", True),
    ("timeFirstRxPacket", "time_first_rx_s", True), ("timeLastRxPacket", "time_last_rx_s", True),
    ("delaySum", "delay_sum_s", True), ("jitterSum", "jitter_sum_s", True), ("lastDelay", "last_delay_s", True),
    ("minDelay", "min_delay_s", True), ("maxDelay", "max_delay_s", True),
    ("timesForwarded", "times_forwarded", False),
)
_REQUIRED_FLOW_STATS = ("flowId", "txPackets", "rxPackets")
_BLOCK = 1 << 20


class _Parser:
    """Expat callbacks that turn FlowMonitor XML into rows per table."""

    def __init__(self, path, chunk_rows):
        self.path = path
        self.chunk_rows = chunk_rows
        self.rows = {t: [] for t in TABLE_COLUMNS}
        self.ready = []  # (table, DataFrame) waiting to be yielded
        self.stack = []
        self.flow_id = None
        self.probe_index = None
        self.hist = None
        self.drops = {}
        self.seen_root = False
        self.p = expat.ParserCreate()
        self.p.buffer_text = True
        self.p.StartElementHandler = self.start
        self.p.EndElementHandler = self.end

    # --- helpers -----------------------------------------------------
    def error(self, what):
        return fail(self.path, what, line=self.p.CurrentLineNumber, byte=self.p.CurrentByteIndex)

    def num(self, attrs, key, elem, *, time=False, integer=True, required=True):
        text = attrs.get(key)
        if text is None:
            if required:
                raise self.error(f"<{elem}> lacks attribute {key}")
            return math.nan
        try:
            if time:
                return parse_time_s(text)
            if integer:
                value = int(text, 0) if text.lower().startswith("0x") else int(text)
            else:
                return float(text)
        except ValueError:
            raise self.error(f"<{elem}> attribute {key}={text!r} is not a valid "
                             f"{'time' if time else 'integer' if integer else 'number'}") from None
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.error(f"<{elem}> attribute {key}={text!r} does not fit a 64-bit integer")
        return value

    def add(self, table, row):
        rows = self.rows[table]
        rows.append(row)
        if len(rows) >= self.chunk_rows:
            self.flush(table)

    def flush(self, table):
        rows = self.rows[table]
        if rows:
            self.ready.append((table, _frame(table, rows)))
            self.rows[table] = []

    # --- expat callbacks ---------------------------------------------
    def start(self, name, attrs):
        parent = self.stack[-1] if self.stack else None
        self.stack.append(name)
        if parent is None:
            if name != "FlowMonitor":
                raise self.error(f"root element is <{name}>, not <FlowMonitor>: not a FlowMonitor XML file")
            self.seen_root = True
            return
        section = self.stack[1] if len(self.stack) > 1 else None
        if section == "FlowStats" and name == "Flow" and parent == "FlowStats":
            row = [self.num(attrs, a, "Flow", time=t, required=a in _REQUIRED_FLOW_STATS)
                   for a, _, t in _FLOW_STATS_ATTRS]
            self.flow_id = row[0]
            self.add("flow_stats", row)
        elif name in ("packetsDropped", "bytesDropped") and self.flow_id is not None:
            code = self.num(attrs, "reasonCode", name)
            value = self.num(attrs, "number" if name == "packetsDropped" else "bytes", name)
            self._drop(code, name, value)
        elif name in _HISTOGRAMS and self.flow_id is not None:
            self.hist = _HISTOGRAMS[name]
        elif name == "bin" and self.hist is not None:
            self.add(self.hist, [self.flow_id, self.num(attrs, "index", "bin"),
                                 self.num(attrs, "start", "bin", integer=False),
                                 self.num(attrs, "width", "bin", integer=False),
                                 self.num(attrs, "count", "bin")])
        elif section in ("Ipv4FlowClassifier", "Ipv6FlowClassifier") and name == "Flow":
            version = 4 if section == "Ipv4FlowClassifier" else 6
            fid = self.num(attrs, "flowId", "Flow")
            self.flow_id = fid
            for key in ("sourceAddress", "destinationAddress"):
                if key not in attrs:
                    raise self.error(f"<Flow> lacks attribute {key}")
            self.add("classifier", [fid, version, attrs["sourceAddress"], attrs["destinationAddress"],
                                    self.num(attrs, "protocol", "Flow"), self.num(attrs, "sourcePort", "Flow"),
                                    self.num(attrs, "destinationPort", "Flow")])
        elif name == "Dscp" and self.flow_id is not None:
            self.add("dscp", [self.flow_id, self.num(attrs, "value", "Dscp"), self.num(attrs, "packets", "Dscp")])
        elif name == "FlowProbe":
            self.probe_index = self.num(attrs, "index", "FlowProbe")
        elif name == "FlowStats" and parent == "FlowProbe":
            fid = self.num(attrs, "flowId", "FlowStats")
            self.flow_id = fid
            self.add("probes", [self.probe_index, fid, self.num(attrs, "packets", "FlowStats"),
                                self.num(attrs, "bytes", "FlowStats"),
                                self.num(attrs, "delayFromFirstProbeSum", "FlowStats", time=True,
                                         required=False)])

    def _drop(self, code, kind, value):
        # packetsDropped and bytesDropped are two lists over the same codes;
        # they are joined here and emitted when the enclosing element ends.
        row = self.drops.get(code)
        if row is None:
            row = self.drops[code] = [self.flow_id, self.probe_index if "FlowProbe" in self.stack else None,
                                      code, 0, 0]
        row[3 if kind == "packetsDropped" else 4] = value

    def end(self, name):
        self.stack.pop()
        if name in _HISTOGRAMS:
            self.hist = None
        elif name == "Flow" or (name == "FlowStats" and self.stack and self.stack[-1] == "FlowProbe"):
            for row in self.drops.values():
                self.add("drops", row)
            self.drops = {}
            self.flow_id = None
        elif name == "FlowProbe":
            self.probe_index = None

    # --- driving -----------------------------------------------------
    def feed(self, block, final=False):
        try:
            self.p.Parse(block, final)
        except expat.ExpatError as exc:
            raise fail(self.path, f"malformed XML: {expat.ErrorString(exc.code)} (column {exc.offset})",
                       line=exc.lineno, byte=self.p.CurrentByteIndex) from None
        if final:
            if not self.seen_root:
                raise fail(self.path, "empty file: no <FlowMonitor> element", line=1, byte=0)
            for t in TABLE_COLUMNS:
                self.flush(t)
        out, self.ready = self.ready, []
        return out


def _frame(table, rows) -> pd.DataFrame:
    cols = TABLE_COLUMNS[table]
    df = pd.DataFrame(rows, columns=list(cols))
    for c in cols:
        if c in _INT:
            df[c] = pd.array([None if (v is None or (isinstance(v, float) and math.isnan(v))) else int(v)
                              for v in df[c]], dtype="Int64")
        elif c.endswith("_s") or c.endswith("_bytes"):
            df[c] = df[c].astype(float)
    return df


def _empty(table) -> pd.DataFrame:
    return _frame(table, [])


def iter_flowmon(path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[tuple[str, pd.DataFrame]]:
    """Stream a FlowMonitor XML file as ``(table, DataFrame)`` pairs.

    Tables are ``flow_stats``, ``classifier``, ``delay_histogram``,
    ``jitter_histogram``, ``packet_size_histogram``,
    ``flow_interruptions_histogram``, ``drops`` (codes only; the ``reason``
    names are added by :func:`read_flowmon`), ``probes`` and ``dscp``; their
    columns are in :data:`TABLE_COLUMNS`.  A table may come in several chunks
    of at most ``chunk_rows`` rows.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If ``chunk_rows`` < 1.
    TraceFormatError
        If the file is truncated, not well-formed XML, not a FlowMonitor file,
        or has a non-numeric attribute (names file, line and byte offset).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    p = check_path(path)
    parser = _Parser(p, chunk_rows)
    with open_binary(p) as fh:
        while True:
            block = fh.read(_BLOCK)
            yield from parser.feed(block, final=not block)
            if not block:
                break


def _reason(code, version):
    names = IPV6_DROP_REASONS if version == 6 else IPV4_DROP_REASONS
    if code is pd.NA or code is None:
        return None
    return names[code] if 0 <= code < len(names) else f"REASON_{code}"


def read_flowmon(path) -> dict[str, pd.DataFrame]:
    """Read a whole FlowMonitor XML file into DataFrames (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``FlowMonitor::SerializeToXmlFile`` (``.gz`` accepted).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``flows``, ``delay_histogram``, ``jitter_histogram``,
        ``packet_size_histogram``, ``flow_interruptions_histogram``,
        ``drops``, ``probes``, ``dscp``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    TraceFormatError
        If the file is truncated or malformed (names file, line and byte offset).
    """
    parts = {t: [] for t in TABLE_COLUMNS}
    for table, df in iter_flowmon(path):
        parts[table].append(df)
    tables = {t: (pd.concat(v, ignore_index=True) if v else _empty(t)) for t, v in parts.items()}

    stats = tables.pop("flow_stats")
    cls = tables.pop("classifier").drop_duplicates("flow_id", keep="first")
    flows = stats.merge(cls, on="flow_id", how="left")
    rx = flows["rx_packets"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        flows["mean_delay_s"] = np.where(rx > 0, flows["delay_sum_s"] / rx, np.nan)
        flows["mean_jitter_s"] = np.where(rx > 1, flows["jitter_sum_s"] / (rx - 1), np.nan)
        flows["mean_hops"] = np.where(rx > 0, 1.0 + flows["times_forwarded"].astype(float) / rx, np.nan)
        span = flows["time_last_rx_s"] - flows["time_first_rx_s"]
        flows["rx_throughput_mbps"] = np.where(span > 0, 8.0 * flows["rx_bytes"].astype(float) / span / 1e6,
                                               np.nan)
    flows = flows[list(FLOW_COLUMNS) + list(_EXTRA_FLOW_COLUMNS)]
    flows = flows.sort_values("flow_id", kind="stable").reset_index(drop=True)
    tables["flows"] = flows

    drops = tables["drops"]
    version = dict(zip(cls["flow_id"].tolist(), cls["ip_version"].tolist()))
    drops.insert(3, "reason", [_reason(c, version.get(f, 4))
                               for f, c in zip(drops["flow_id"].tolist(), drops["reason_code"].tolist())])
    order = ["flows", "delay_histogram", "jitter_histogram", "packet_size_histogram",
             "flow_interruptions_histogram", "drops", "probes", "dscp"]
    return {k: tables[k] for k in order}
