"""The analytic point-to-point delay of Eq. 2 and generator selection.

Unit of the queue model: the *packet*.  A data block is cut into packets of
exponential size with mean ``mean_packet_bytes`` (30 B of IPv4+UDP+PPP headers
included), so a sending port of bandwidth ``B`` Mbit/s serves
``mu = B * 1e6 / (8 * mean_packet_bytes)`` packets/s and a load of ``x`` Mbit/s
offers ``lambda = x * 1e6 / (8 * mean_packet_bytes)`` packets/s; ``rho = x / B``.

Every link is full duplex: each direction is one sending port (an M/M/1/K queue
of capacity ``K = queue_capacity``, the packet being sent included) loaded by the
flows that cross the link in that direction.

Eq. 2 for a path ``s = v_0, v_1, ..., v_{k+1} = d`` (k relays)::

    T = sum_i L_i / v  +  sum_{sending ports j} (W_j + P_loss,j * t_wait)

* ``per-port`` (default, what a packet network does): the sending ports are
  those of ``v_0 .. v_k`` (k + 1 of them: the source queues too);
* ``relay-only`` (the paper's sum): only ``v_1 .. v_k``.

``P_loss * t_wait`` is the paper's first-order retransmission penalty; this is
what is reported (the exact expected number of retransmissions of one packet at
one port would be ``P/(1-P)``; at the loads planned here P is below 1e-12).
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from cppsns3.model.queueing import mm1k_loss_probability, mm1k_mean_time

__all__ = [
    "service_rate_per_s",
    "port_figures",
    "port_hop_cost_s",
    "port_id",
    "port_ids",
    "path_delay_s",
    "path_propagation_s",
    "path_delays_s",
    "path_delay_rows_s",
    "group_by_length",
    "select_generator",
]


#: Largest mean packet size (bytes, headers included): the exponential sizes
#: must stay under the 65000 B point-to-point MTU of the ns-3 layer.
MAX_MEAN_PACKET_BYTES = 20000.0


def service_rate_per_s(bandwidth_mbps, mean_packet_bytes: float):
    """Packets per second a port of ``bandwidth_mbps`` sends (mean-size packets)."""
    return np.asarray(bandwidth_mbps, dtype=float) * 1e6 / (8.0 * mean_packet_bytes)


def port_figures(load_mbps, bandwidth_mbps, mean_packet_bytes: float, capacity: int):
    """M/M/1/K figures of sending ports.

    Parameters
    ----------
    load_mbps, bandwidth_mbps : array_like
        Offered load and bandwidth of each port, Mbit/s.
    mean_packet_bytes : float
    capacity : int
        K, packets held including the one being sent.

    Returns
    -------
    rho, loss_probability, mean_time_in_system_s : numpy.ndarray

    Raises
    ------
    ValueError
        If a load is negative or a bandwidth not positive.
    """
    load = np.asarray(load_mbps, dtype=float)
    bw = np.asarray(bandwidth_mbps, dtype=float)
    if np.any(load < 0):
        raise ValueError(f"load_mbps must be >= 0, got {load.min()!r}")
    if np.any(bw <= 0):
        raise ValueError(f"bandwidth_mbps must be > 0, got {bw.min()!r}")
    mu = service_rate_per_s(bw, mean_packet_bytes)
    lam = service_rate_per_s(load, mean_packet_bytes)
    rho = load / bw
    loss = np.asarray(mm1k_loss_probability(rho, capacity), dtype=float)
    w = np.asarray(mm1k_mean_time(lam, mu, capacity), dtype=float)
    return rho, loss, w


def port_hop_cost_s(load_mbps, bandwidth_mbps, mean_packet_bytes, capacity, t_wait_s):
    """Node term of Eq. 2 per port: ``W + P_loss * t_wait`` (seconds)."""
    _, loss, w = port_figures(load_mbps, bandwidth_mbps, mean_packet_bytes, capacity)
    return w + loss * t_wait_s


def port_id(edge_index, u: int, v: int) -> int:
    """The one port index: the directed port that sends from node ``u`` to node ``v``.

    Port ``2*e`` sends from ``edge_a[e]`` to ``edge_b[e]`` (the lower node
    index to the higher), ``2*e + 1`` the other way.

    Parameters
    ----------
    edge_index : mapping
        ``(a, b) -> e`` with ``a < b`` (``CppsNetwork.edge_index``).
    u, v : int
        Node indices of the sending and the receiving end.

    Raises
    ------
    KeyError
        If ``u`` and ``v`` are not linked.

    Examples
    --------
    >>> port_id({(0, 1): 0, (1, 2): 1}, 2, 1)
    3
    """
    return 2 * edge_index[(u, v)] if u < v else 2 * edge_index[(v, u)] + 1


def port_ids(nodes, edge_index) -> list:
    """Directed port ids (:func:`port_id`) along a node-index path.

    Raises
    ------
    KeyError
        If two consecutive nodes are not linked.
    """
    return [port_id(edge_index, u, v) for u, v in zip(nodes[:-1], nodes[1:])]


def path_propagation_s(ports, prop_delay_s) -> float:
    """Propagation part of a path's delay: the sum of its links' ``delay_s`` (length / v).

    This is the ns-3 channel delay of every link crossed, nothing else: the
    time to put a packet on the wire (its transmission, size / rate) belongs
    to the sending port's time in system ``W`` (M/M/1/K time in system
    includes service), so a path's *queueing part* is ``delay - propagation``.

    Parameters
    ----------
    ports : sequence of int
        Directed port ids along the path, source first.
    prop_delay_s : array
        Propagation delay per undirected link (port ``p`` uses link ``p // 2``).
    """
    ports = np.asarray(ports, dtype=np.int64)
    return float(np.sum(np.asarray(prop_delay_s)[ports // 2])) if ports.size else 0.0


def path_delay_s(ports, prop_delay_s, hop_cost_s, relay_only: bool = False) -> float:
    """Eq. 2 delay of one path.

    Parameters
    ----------
    ports : sequence of int
        Directed port ids along the path, source first.
    prop_delay_s : array
        Propagation delay per undirected link (port ``p`` uses link ``p // 2``).
    hop_cost_s : array
        ``W + P_loss * t_wait`` per directed port.
    relay_only : bool
        The paper's variant: skip the source's port.
    """
    ports = np.asarray(ports, dtype=np.int64)
    if ports.size == 0:
        return 0.0
    prop = path_propagation_s(ports, prop_delay_s)
    q = hop_cost_s[ports[1:]] if relay_only else hop_cost_s[ports]
    return prop + float(np.sum(q))


def path_delays_s(port_paths, prop_delay_s, hop_cost_s, relay_only: bool = False):
    """Eq. 2 delays of many paths: :func:`path_delay_s` of each, the same floats.

    Parameters
    ----------
    port_paths : sequence of sequences of int
        Directed port ids of each path, source first.
    prop_delay_s, hop_cost_s, relay_only
        As :func:`path_delay_s`.

    Returns
    -------
    numpy.ndarray
        One delay per path (0 for an empty one).
    """
    out = np.zeros(len(port_paths))
    for rows, mat in group_by_length(port_paths):
        if mat.shape[1]:
            out[rows] = path_delay_rows_s(mat, prop_delay_s, hop_cost_s, relay_only)
    return out


def path_delay_rows_s(ports, prop_delay_s, hop_cost_s, relay_only: bool = False):
    """Eq. 2 delays of paths of one length, one path per row of ``ports``
    (int array, shape ``(n_paths, hops)``, ``hops >= 1``); the floats of
    :func:`path_delay_s` (numpy sums each row as it sums a 1-D array)."""
    prop = np.sum(prop_delay_s[ports // 2], axis=1)
    q = hop_cost_s[ports[:, 1:]] if relay_only else hop_cost_s[ports]
    return prop + np.sum(q, axis=1)


def group_by_length(seqs):
    """Sequences of ints grouped by length, as 2-D arrays.

    Parameters
    ----------
    seqs : sequence of sequences of int

    Returns
    -------
    list of (rows, matrix)
        Per distinct length L (ascending): the positions of the sequences of
        length L in ``seqs`` and an int64 array of shape ``(len(rows), L)``.

    Examples
    --------
    >>> [(r.tolist(), m.tolist()) for r, m in group_by_length([[1, 2], [3], [4, 5]])]
    [([1], [[3]]), ([0, 2], [[1, 2], [4, 5]])]
    """
    lens = np.fromiter((len(x) for x in seqs), dtype=np.int64, count=len(seqs))
    if lens.size == 0:
        return []
    flat = np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(lens.sum()))
    starts = np.cumsum(lens) - lens
    order = np.argsort(lens, kind="stable")
    sl = lens[order]
    cuts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        rows = order[a:b]
        length = int(sl[a])
        out.append((rows, flat[starts[rows][:, None] + np.arange(length)]))
    return out


def select_generator(delay_s, candidates):
    """The node minimising the largest delay from the demand terminals.

    Parameters
    ----------
    delay_s : array, shape (n_terminals, n_nodes)
        ``T[s, i]``, with 0 where ``i`` is the terminal itself.
    candidates : sequence
        Labels of the nodes (columns).

    Returns
    -------
    (label, worst_delay_s)
        Ties go to the first column.
    """
    d = np.asarray(delay_s, dtype=float)
    worst = d.max(axis=0)
    i = int(np.argmin(worst))
    return candidates[i], float(worst[i])
