"""Analyses on the DataFrames of the trace readers.

- per-packet one-way delays from an ASCII trace (:func:`packet_delays`) or
  from any two capture points (:func:`match_delays`, e.g. two pcap files), and
  per-flow delay distribution and 95 % CI (:func:`delay_summary`,
  :func:`flowmon_delay_summary`);
- per-port queue occupancy over time from ``+``/``-`` events
  (:func:`queue_occupancy`), its time average (:func:`time_average`) and the
  comparison with Eq. 1's L (:func:`port_vs_eq1`);
- link utilisation over time (:func:`link_utilisation`, :func:`busy_fraction`);
- loss by cause (:func:`loss_by_cause`, :func:`flowmon_loss_by_cause`).

Confidence intervals: ``*_ci95_s`` is the half-width of a 95 % interval.  For
per-packet delays it is by batch means over consecutive packets (delays of
packets close in time are correlated, so an iid interval would be too narrow);
from a FlowMonitor histogram only an iid interval is possible and it says so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cppsns3.model.queueing import mm1k_loss_probability, mm1k_mean_number
from cppsns3.model.stats import batch_means, t_half_width

__all__ = [
    "FLOW_KEY",
    "busy_fraction",
    "delay_summary",
    "flowmon_delay_summary",
    "flowmon_loss_by_cause",
    "link_utilisation",
    "loss_by_cause",
    "match_delays",
    "packet_delays",
    "port_vs_eq1",
    "queue_occupancy",
    "time_average",
]

#: Columns that name a flow (the FlowMonitor 5-tuple).
FLOW_KEY = ("src_addr", "dst_addr", "protocol", "src_port", "dst_port")
_PACKET_KEY = FLOW_KEY + ("ip_id",)

#: Drop causes by the ASCII trace source that reported them.
_CAUSES = (
    ("TxQueue/Drop", "queue_overflow"),
    ("MacTxDrop", "mac_tx_drop"),
    ("PhyTxDrop", "phy_tx_drop"),
    ("PhyRxDrop", "phy_rx_drop"),
    ("MacRxDrop", "mac_rx_drop"),
)


def _require(df: pd.DataFrame, columns, what: str):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")


def _plain_keys(df: pd.DataFrame, keys) -> pd.DataFrame:
    """Rows with every key present, keys as plain (non-nullable) dtypes."""
    out = df.dropna(subset=list(keys)).copy()
    for k in keys:
        if pd.api.types.is_integer_dtype(out[k].dtype):
            out[k] = out[k].astype(np.int64)
        else:
            out[k] = out[k].astype(str)
    return out


def match_delays(sent: pd.DataFrame, received: pd.DataFrame, key=_PACKET_KEY) -> pd.DataFrame:
    """Pair each received packet with the latest earlier sending of the same packet.

    Packets are identified by ``key`` (default the 5-tuple and the IPv4
    identification, which is unique per flow until it wraps at 65536); each
    received row is matched to the last row of ``sent`` with the same key at
    or before its time.  Works on ASCII-trace rows and pcap rows alike.

    Parameters
    ----------
    sent, received : pandas.DataFrame
        Rows with ``time_s`` and the ``key`` columns; rows lacking a key are
        ignored.
    key : sequence of str
        Columns that identify a packet.

    Returns
    -------
    pandas.DataFrame
        One row per matched received packet: the key columns, ``send_time_s``,
        ``recv_time_s``, ``delay_s``, in receive order.

    Raises
    ------
    ValueError
        If a column is missing.
    """
    key = list(key)
    _require(sent, key + ["time_s"], "sent")
    _require(received, key + ["time_s"], "received")
    s = _plain_keys(sent, key)[key + ["time_s"]].rename(columns={"time_s": "send_time_s"})
    r = _plain_keys(received, key)[key + ["time_s"]].rename(columns={"time_s": "recv_time_s"})
    if s.empty or r.empty:
        return pd.DataFrame({**{k: [] for k in key}, "send_time_s": [], "recv_time_s": [], "delay_s": []})
    s = s.sort_values("send_time_s", kind="stable")
    r = r.sort_values("recv_time_s", kind="stable")
    m = pd.merge_asof(r, s, left_on="recv_time_s", right_on="send_time_s", by=key, direction="backward")
    m = m.dropna(subset=["send_time_s"])
    m["delay_s"] = m["recv_time_s"] - m["send_time_s"]
    return m[key + ["send_time_s", "recv_time_s", "delay_s"]].reset_index(drop=True)


def _flow_endpoints(ip: pd.DataFrame):
    """{flow: (source node, destination node)} from where packets start and end."""
    out = {}
    for flow, g in ip.groupby(list(FLOW_KEY), sort=False):
        first = g.loc[g["event"].isin(["+", "d"])]
        if first.empty:
            continue
        src_node = int(first.sort_values("time_s", kind="stable")["node"].iloc[0])
        rx_nodes = set(g.loc[g["event"] == "r", "node"].astype(int))
        fwd_nodes = set(g.loc[g["event"] == "+", "node"].astype(int))
        dst = sorted(rx_nodes - fwd_nodes)
        out[flow] = (src_node, dst[0] if dst else None)
    return out


def packet_delays(trace: pd.DataFrame) -> pd.DataFrame:
    """One-way delay of every delivered IP packet in an ASCII trace.

    A flow's source node is where its first packet is enqueued (or dropped
    before enqueueing); its destination node is the node that receives
    (``r``) its packets without forwarding them (``+``).  A packet is sent at
    its ``+`` (or ``d``) event at the source node -- the time the IP layer
    handed it to the device, which is when FlowMonitor stamps it -- and
    received at its ``r`` event at the destination node (``MacRx``, the
    instant FlowMonitor counts it).  Needs a trace of every device on the
    path's two ends (``EnableAsciiAll`` gives that).

    Parameters
    ----------
    trace : pandas.DataFrame
        From :func:`cppsns3.traces.read_ascii`.

    Returns
    -------
    pandas.DataFrame
        ``src_addr, dst_addr, protocol, src_port, dst_port, ip_id,
        send_time_s, recv_time_s, delay_s, src_node, dst_node``.

    Raises
    ------
    ValueError
        If the trace lacks the reader's columns.
    """
    _require(trace, ("event", "time_s", "node") + _PACKET_KEY, "trace")
    ip = _plain_keys(trace, _PACKET_KEY)
    cols = list(_PACKET_KEY) + ["send_time_s", "recv_time_s", "delay_s", "src_node", "dst_node"]
    parts = []
    for flow, (src_node, dst_node) in _flow_endpoints(ip).items():
        if dst_node is None:
            continue
        g = ip
        for k, v in zip(FLOW_KEY, flow):
            g = g.loc[g[k] == v]
        sent = g.loc[(g["node"] == src_node) & g["event"].isin(["+", "d"])]
        recv = g.loc[(g["node"] == dst_node) & (g["event"] == "r")]
        d = match_delays(sent, recv)
        d["src_node"] = src_node
        d["dst_node"] = dst_node
        parts.append(d)
    if not parts:
        return pd.DataFrame({c: [] for c in cols})
    return pd.concat(parts, ignore_index=True)[cols]


def delay_summary(delays: pd.DataFrame, by=FLOW_KEY, batches: int = 20) -> pd.DataFrame:
    """Per-flow delay distribution and the 95 % CI of the mean delay.

    Parameters
    ----------
    delays : pandas.DataFrame
        From :func:`packet_delays` or :func:`match_delays` (``delay_s`` and the
        ``by`` columns, rows in receive order).
    by : sequence of str
        Columns naming a flow.
    batches : int
        Batch count of the batch-means interval (consecutive packets).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``packets``, ``mean_delay_s``,
        ``mean_delay_ci95_s`` (batch-means half-width), ``min_delay_s``,
        ``p50_delay_s``, ``p95_delay_s``, ``p99_delay_s``, ``max_delay_s``.

    Raises
    ------
    ValueError
        If a column is missing or ``batches`` < 2.
    """
    by = list(by)
    _require(delays, by + ["delay_s"], "delays")
    if batches < 2:
        raise ValueError(f"batches must be >= 2, got {batches!r}")
    rows = []
    for flow, g in delays.groupby(by, sort=True):
        x = g["delay_s"].to_numpy(float)
        mean, hw = batch_means(x, batches) if x.size >= 2 * batches else (float(x.mean()), t_half_width(x))
        q = np.quantile(x, [0.5, 0.95, 0.99])
        flow = flow if isinstance(flow, tuple) else (flow,)
        rows.append(list(flow) + [x.size, mean, hw, float(x.min()), *map(float, q), float(x.max())])
    return pd.DataFrame(rows, columns=by + ["packets", "mean_delay_s", "mean_delay_ci95_s", "min_delay_s",
                                            "p50_delay_s", "p95_delay_s", "p99_delay_s", "max_delay_s"])


def _hist_quantile(starts, widths, counts, q):
    cum = np.cumsum(counts)
    total = cum[-1]
    target = q * total
    i = int(np.searchsorted(cum, target, side="left"))
    prev = cum[i - 1] if i else 0
    frac = (target - prev) / counts[i] if counts[i] else 0.0
    return float(starts[i] + frac * widths[i])


def flowmon_delay_summary(tables: dict) -> pd.DataFrame:
    """Per-flow delay distribution from a FlowMonitor file's delay histograms.

    The mean is FlowMonitor's exact ``delaySum / rxPackets``; the spread and
    the quantiles come from the histogram (bin midpoints, linear within a
    bin), so they are as coarse as its bin width (FlowMonitor's default
    ``DelayBinWidth`` is 1 ms).  ``mean_delay_ci95_s`` is the iid Student-t
    half-width from that spread: FlowMonitor keeps no packet order, so no
    correlation-aware interval is possible; treat it as a lower bound.

    Parameters
    ----------
    tables : dict
        From :func:`cppsns3.traces.read_flowmon`.

    Returns
    -------
    pandas.DataFrame
        ``flow_id, packets, mean_delay_s, mean_delay_ci95_s, std_delay_s,
        p50_delay_s, p95_delay_s, p99_delay_s, bin_width_s``.

    Raises
    ------
    ValueError
        If ``tables`` lacks ``flows`` or ``delay_histogram``.
    """
    if "flows" not in tables or "delay_histogram" not in tables:
        raise ValueError("tables: need 'flows' and 'delay_histogram' (from read_flowmon)")
    flows = tables["flows"].set_index("flow_id")
    rows = []
    from scipy import stats as st

    for fid, h in tables["delay_histogram"].groupby("flow_id", sort=True):
        h = h.sort_values("bin_start_s")
        starts = h["bin_start_s"].to_numpy(float)
        widths = h["bin_width_s"].to_numpy(float)
        counts = h["count"].to_numpy(float)
        n = counts.sum()
        mid = starts + widths / 2
        mean_h = float((mid * counts).sum() / n) if n else math.nan
        var = float(((mid - mean_h) ** 2 * counts).sum() / (n - 1)) if n > 1 else math.nan
        sd = math.sqrt(var) if var == var else math.nan
        hw = float(st.t.ppf(0.975, n - 1) * sd / math.sqrt(n)) if n > 1 else math.nan
        mean = float(flows.loc[fid, "mean_delay_s"]) if fid in flows.index else mean_h
        qs = [_hist_quantile(starts, widths, counts, q) if n else math.nan for q in (0.5, 0.95, 0.99)]
        rows.append([int(fid), int(n), mean, hw, sd, *qs, float(widths.max()) if widths.size else math.nan])
    return pd.DataFrame(rows, columns=["flow_id", "packets", "mean_delay_s", "mean_delay_ci95_s", "std_delay_s",
                                       "p50_delay_s", "p95_delay_s", "p99_delay_s", "bin_width_s"])


def _port_rows(trace: pd.DataFrame, node: int, device: int) -> pd.DataFrame:
    _require(trace, ("event", "time_s", "node", "device", "size_bytes", "trace_source"), "trace")
    sel = (trace["node"] == node) & (trace["device"] == device)
    return trace.loc[sel.fillna(False).astype(bool)]


def queue_occupancy(trace: pd.DataFrame, node: int, device: int, rate_bps: float | None = None) -> pd.DataFrame:
    """Number of packets at one port over time, from its ``+``/``-`` events.

    ``queue_packets`` counts packets waiting in the device queue (``+`` adds
    one, ``-`` removes one).  With ``rate_bps`` (the device's DataRate) the
    packet being sent is added too: a ``-`` event starts a transmission of
    ``8 size_bytes / rate_bps`` seconds, so ``system_packets`` is the M/M/1/K
    number in system (waiting plus in service) that Eq. 1's L averages.
    The result is a step function: each value holds from its ``time_s`` to the
    next row's.

    Parameters
    ----------
    trace : pandas.DataFrame
        From :func:`cppsns3.traces.read_ascii`.
    node, device : int
        The port (ns-3 node and device index).
    rate_bps : float, optional
        Device DataRate in bit/s.

    Returns
    -------
    pandas.DataFrame
        ``time_s, queue_packets`` and, with ``rate_bps``, ``system_packets``.

    Raises
    ------
    ValueError
        If the trace has no ``+``/``-`` events at that port, or ``rate_bps``
        is not positive.
    """
    rows = _port_rows(trace, node, device)
    rows = rows.loc[rows["event"].isin(["+", "-"]) & rows["trace_source"].str.contains("Queue", na=False)]
    if rows.empty:
        raise ValueError(f"no enqueue/dequeue events at node {node} device {device}")
    t = rows["time_s"].to_numpy(float)
    step = np.where(rows["event"].to_numpy() == "+", 1, -1)
    order = np.argsort(t, kind="stable")
    out = pd.DataFrame({"time_s": t[order], "queue_packets": np.cumsum(step[order])})
    if rate_bps is None:
        return out
    if not (rate_bps > 0 and math.isfinite(rate_bps)):
        raise ValueError(f"rate_bps must be a positive number, got {rate_bps!r}")
    deq = rows.loc[rows["event"] == "-"]
    ends = deq["time_s"].to_numpy(float) + 8.0 * deq["size_bytes"].to_numpy(float) / rate_bps
    # in service: +1 at a dequeue (leaves the queue, starts sending), -1 at its end
    te = np.concatenate([t, ends])
    se = np.concatenate([np.where(step == 1, 1, 0), -np.ones(ends.size, dtype=int)])
    qe = np.concatenate([step, np.zeros(ends.size, dtype=int)])
    # at equal times, finish a transmission before counting an arrival
    prio = np.concatenate([np.ones(t.size), np.zeros(ends.size)])
    order = np.lexsort((prio, te))
    sys_ = np.cumsum(se[order])
    q = np.cumsum(qe[order])
    return pd.DataFrame({"time_s": te[order], "queue_packets": q, "system_packets": sys_})


def time_average(series: pd.DataFrame, column: str, t_start: float | None = None,
                 t_end: float | None = None) -> float:
    """Time average of a step function (value held from its ``time_s`` on).

    Parameters
    ----------
    series : pandas.DataFrame
        ``time_s`` and ``column``, e.g. from :func:`queue_occupancy`.
    column : str
        The value column.
    t_start, t_end : float, optional
        Window in seconds; default from the first row to the last.  Before
        the first row the value is taken as 0.

    Raises
    ------
    ValueError
        If the window is empty or a column is missing.
    """
    _require(series, ("time_s", column), "series")
    t = series["time_s"].to_numpy(float)
    v = series[column].to_numpy(float)
    if t.size == 0:
        raise ValueError("series is empty")
    a = t[0] if t_start is None else float(t_start)
    b = t[-1] if t_end is None else float(t_end)
    if not b > a:
        raise ValueError(f"empty time window [{a}, {b}] s")
    # value on each interval [t_i, t_{i+1}), last one held to b
    edges = np.concatenate([t, [max(b, t[-1])]])
    lo = np.clip(edges[:-1], a, b)
    hi = np.clip(edges[1:], a, b)
    area = float(((hi - lo) * v).sum())
    return area / (b - a)


def port_vs_eq1(trace: pd.DataFrame, node: int, device: int, rate_bps: float, capacity: int,
                t_start: float | None = None, t_end: float | None = None) -> dict:
    """Measured number in system, loss and load of one port against Eq. 1.

    The offered rate lambda counts every packet handed to the device in the
    window (enqueued or dropped at the queue), the service rate is
    ``rate_bps / (8 * mean size of the packets sent)``, rho = lambda/mu, and
    the analytic L and P_loss are the exact M/M/1/K values at that rho and K.

    Parameters
    ----------
    trace : pandas.DataFrame
        From :func:`cppsns3.traces.read_ascii`.
    node, device : int
        The port.
    rate_bps : float
        Device DataRate in bit/s.
    capacity : int
        K: most packets the port holds, the one being sent included.
    t_start, t_end : float, optional
        Window in seconds (default: first to last event at the port).

    Returns
    -------
    dict
        ``node, device, window_s, offered_packets, dropped_packets,
        arrival_rate_per_s, service_rate_per_s, rho, capacity,
        measured_mean_number_in_system, analytic_mean_number_in_system,
        measured_mean_queue_packets, measured_loss_probability,
        analytic_loss_probability, measured_utilisation``.

    Raises
    ------
    ValueError
        If the port has no events in the window or an argument is invalid.
    """
    occ = queue_occupancy(trace, node, device, rate_bps)
    rows = _port_rows(trace, node, device)
    a = float(rows["time_s"].min()) if t_start is None else float(t_start)
    b = float(rows["time_s"].max()) if t_end is None else float(t_end)
    if not b > a:
        raise ValueError(f"empty time window [{a}, {b}] s")
    w = rows.loc[(rows["time_s"] >= a) & (rows["time_s"] < b)]
    enq = int((w["event"] == "+").sum())
    drops = int(((w["event"] == "d") & (w["trace_source"] == "TxQueue/Drop")).sum())
    deq = w.loc[w["event"] == "-"]
    offered = enq + drops
    lam = offered / (b - a)
    mean_size = float(deq["size_bytes"].astype(float).mean()) if len(deq) else math.nan
    mu = rate_bps / (8.0 * mean_size) if mean_size > 0 else math.nan
    rho = lam / mu if mu > 0 else math.nan
    util = busy_fraction(deq["time_s"].to_numpy(float), 8.0 * deq["size_bytes"].to_numpy(float) / rate_bps,
                         b - a, a, b)["utilisation"].iloc[0] if len(deq) else 0.0
    ok = rho == rho and rho >= 0
    return {
        "node": int(node), "device": int(device), "window_s": b - a,
        "offered_packets": offered, "dropped_packets": drops,
        "arrival_rate_per_s": lam, "service_rate_per_s": mu, "rho": rho, "capacity": int(capacity),
        "measured_mean_number_in_system": time_average(occ, "system_packets", a, b),
        "analytic_mean_number_in_system": float(mm1k_mean_number(rho, capacity)) if ok else math.nan,
        "measured_mean_queue_packets": time_average(occ, "queue_packets", a, b),
        "measured_loss_probability": drops / offered if offered else math.nan,
        "analytic_loss_probability": float(mm1k_loss_probability(rho, capacity)) if ok else math.nan,
        "measured_utilisation": float(util),
    }


def busy_fraction(starts_s, durations_s, bin_s: float, t_start: float, t_end: float) -> pd.DataFrame:
    """Fraction of each time bin covered by busy intervals ``[start, start + duration)``.

    Parameters
    ----------
    starts_s, durations_s : array_like
        Transmission start times and durations in seconds.
    bin_s : float
        Bin width in seconds (> 0).
    t_start, t_end : float
        Span to cover in seconds; the last bin may be shorter.

    Returns
    -------
    pandas.DataFrame
        ``time_s`` (bin start), ``bin_s`` (its width), ``utilisation`` (0..1).

    Raises
    ------
    ValueError
        If ``bin_s`` <= 0 or ``t_end`` <= ``t_start``.
    """
    if not (bin_s > 0 and math.isfinite(bin_s)):
        raise ValueError(f"bin_s must be a positive number, got {bin_s!r}")
    if not t_end > t_start:
        raise ValueError(f"empty time window [{t_start}, {t_end}] s")
    n = max(1, int(math.ceil((t_end - t_start) / bin_s - 1e-9)))
    edges = t_start + bin_s * np.arange(n + 1)
    edges[-1] = t_end
    s = np.asarray(starts_s, float)
    e = s + np.asarray(durations_s, float)

    # busy time before x = sum over intervals of clip(x - s, 0, e - s): via sorted cumulative sums
    def busy_before(x):
        order_s = np.sort(s)
        order_e = np.sort(e)
        cs = np.concatenate([[0.0], np.cumsum(order_s)])
        ce = np.concatenate([[0.0], np.cumsum(order_e)])
        ks = np.searchsorted(order_s, x, side="right")
        ke = np.searchsorted(order_e, x, side="right")
        # started before x: contributes x - s; ended before x: subtract x - e
        return (ks * x - cs[ks]) - (ke * x - ce[ke])

    b = busy_before(edges)
    width = np.diff(edges)
    util = np.clip(np.diff(b) / width, 0.0, 1.0)  # clip rounding of the cumulative sums
    return pd.DataFrame({"time_s": edges[:-1], "bin_s": width, "utilisation": util})


def link_utilisation(trace: pd.DataFrame, node: int, device: int, rate_bps: float, bin_s: float,
                     t_start: float | None = None, t_end: float | None = None) -> pd.DataFrame:
    """Utilisation of one port's link direction over time, from its ``-`` events.

    Each dequeue starts a transmission of ``8 size_bytes / rate_bps`` seconds
    (point-to-point and CSMA devices); the busy time per bin over the bin
    width is the utilisation.

    Parameters
    ----------
    trace : pandas.DataFrame
        From :func:`cppsns3.traces.read_ascii`.
    node, device : int
        The sending port.
    rate_bps : float
        Device DataRate in bit/s.
    bin_s : float
        Bin width in seconds.
    t_start, t_end : float, optional
        Span in seconds (default: first to last event at the port).

    Returns
    -------
    pandas.DataFrame
        ``time_s, bin_s, utilisation``.

    Raises
    ------
    ValueError
        If the port has no events, or an argument is invalid.
    """
    if not (rate_bps > 0 and math.isfinite(rate_bps)):
        raise ValueError(f"rate_bps must be a positive number, got {rate_bps!r}")
    rows = _port_rows(trace, node, device)
    if rows.empty:
        raise ValueError(f"no events at node {node} device {device}")
    deq = rows.loc[rows["event"] == "-"]
    a = float(rows["time_s"].min()) if t_start is None else float(t_start)
    b = float(rows["time_s"].max()) if t_end is None else float(t_end)
    return busy_fraction(deq["time_s"].to_numpy(float), 8.0 * deq["size_bytes"].to_numpy(float) / rate_bps,
                         bin_s, a, b)


def _cause(source: str) -> str:
    for suffix, cause in _CAUSES:
        if source.endswith(suffix):
            return cause
    if "QueueDisc" in source:
        return "queue_disc_drop"
    return source or "unknown"


def loss_by_cause(trace: pd.DataFrame) -> pd.DataFrame:
    """Drops (``d`` events) of an ASCII trace by port and cause.

    Causes: ``queue_overflow`` (device ``TxQueue/Drop``), ``queue_disc_drop``
    (traffic-control queue disc), ``mac_tx_drop``, ``phy_tx_drop``,
    ``phy_rx_drop`` (receive error model or a device that is down),
    ``mac_rx_drop``; any other trace source is reported by its name.

    Returns
    -------
    pandas.DataFrame
        ``node, device, cause, packets, bytes`` (``bytes`` sums
        ``size_bytes``; unknown sizes count 0).

    Raises
    ------
    ValueError
        If the trace lacks the reader's columns.
    """
    _require(trace, ("event", "node", "device", "size_bytes", "trace_source"), "trace")
    d = trace.loc[trace["event"] == "d"].copy()
    cols = ["node", "device", "cause", "packets", "bytes"]
    if d.empty:
        return pd.DataFrame({c: [] for c in cols})
    d["cause"] = [_cause(s) for s in d["trace_source"].astype(str)]
    d["size_bytes"] = d["size_bytes"].fillna(0)
    g = d.groupby(["node", "device", "cause"], dropna=False).agg(
        packets=("event", "size"), bytes=("size_bytes", "sum")).reset_index()
    g["bytes"] = g["bytes"].astype(np.int64)
    return g[cols]


def flowmon_loss_by_cause(tables: dict) -> pd.DataFrame:
    """Lost packets and bytes of a FlowMonitor file by drop reason (all flows).

    Uses the flows' own totals (``FlowStats/Flow/packetsDropped``), not the
    per-probe lists, so each drop counts once.

    Returns
    -------
    pandas.DataFrame
        ``reason_code, reason, packets, bytes``, reasons without drops left out.

    Raises
    ------
    ValueError
        If ``tables`` lacks ``drops``.
    """
    if "drops" not in tables:
        raise ValueError("tables: need 'drops' (from read_flowmon)")
    d = tables["drops"]
    d = d.loc[d["probe_index"].isna()]
    g = d.groupby(["reason_code", "reason"]).agg(packets=("packets", "sum"), bytes=("bytes", "sum")).reset_index()
    return g.loc[g["packets"] > 0].reset_index(drop=True)
