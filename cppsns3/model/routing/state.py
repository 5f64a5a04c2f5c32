"""Routing state: residual bandwidth, Load_B (Eq. 3) and the constraints of Eq. 4.

Concern: what has been routed so far on one network and what that implies;
no choice of paths (that is :mod:`cppsns3.model.routing.routers`).

Residual bandwidth and Load_B
    ``RB_e = bandwidth_e - sum of the rates of the flows routed over link e``
    (both directions; the paper's undirected bandwidth matrix ``b_ij``).
    ``Load_B`` = population standard deviation of ``RB`` over all links, in
    Mbit/s (Eq. 3).  :class:`LoadBalanceTracker` updates it incrementally from
    the running sums of RB and RB^2 (only a candidate's links change).

Constraints (Eq. 4), checked on every chosen path (:meth:`RoutingState.violation`)
    ``T_{s-d} <= delay_bound_ms`` (Eq. 2, per-sending-port variant, loads as
    routed so far plus the candidate), ``RB_e > 0`` on every link after adding
    the flow, ``hops <= hop_bound``; flow conservation holds by construction
    (each flow is one path).

Ports are indexed by :func:`cppsns3.model.delay.port_id` and path delays are
:func:`cppsns3.model.delay.path_delay_s`.
"""

from __future__ import annotations

import math
from itertools import chain

import numpy as np

from cppsns3.errors import NoFeasiblePath
from cppsns3.model.delay import (
    group_by_length, path_delay_s, port_hop_cost_s, port_ids, service_rate_per_s,
)
from cppsns3.model.routing.paths import hop_bounded_paths

__all__ = ["load_balance", "LoadBalanceTracker", "RoutingState"]


def load_balance(residual_mbps) -> float:
    """Eq. 3: population standard deviation of the residual bandwidths (Mbit/s)."""
    rb = np.asarray(residual_mbps, dtype=float)
    if rb.size == 0:
        return 0.0
    return float(np.sqrt(np.mean((rb - rb.mean()) ** 2)))


class LoadBalanceTracker:
    """Running sums of (RB - c) and (RB - c)^2 for O(path) Load_B updates.

    ``c`` is the mean bandwidth (a shift against cancellation).
    """

    def __init__(self, residual_mbps):
        rb = np.asarray(residual_mbps, dtype=float)
        self.n = rb.size
        self.shift = float(rb.mean()) if rb.size else 0.0
        x = rb - self.shift
        self.s1 = float(x.sum())
        self.s2 = float((x * x).sum())

    def value_after(self, rb_on_path_sum: float, n_links: int, rate: float) -> float:
        """Load_B if ``rate`` were added to ``n_links`` links whose RB sum is given."""
        xs = rb_on_path_sum - self.shift * n_links
        s1 = self.s1 - rate * n_links
        s2 = self.s2 - 2.0 * rate * xs + rate * rate * n_links
        var = s2 / self.n - (s1 / self.n) ** 2
        return math.sqrt(var) if var > 0 else 0.0

    def commit(self, rb_on_path_sum: float, n_links: int, rate: float) -> None:
        xs = rb_on_path_sum - self.shift * n_links
        self.s2 += -2.0 * rate * xs + rate * rate * n_links
        self.s1 -= rate * n_links

    def commit_many(self, rb_on_path_sums, n_links, rate: float) -> None:
        """:meth:`commit` of several flows of one ``rate`` in order (the same floats)."""
        n = np.asarray(n_links, dtype=np.int64)
        xs = np.asarray(rb_on_path_sums, dtype=float) - self.shift * n
        # np.cumsum adds left to right, as the one-by-one updates do
        self.s2 = float(np.cumsum(np.r_[self.s2, -2.0 * rate * xs + rate * rate * n])[-1])
        self.s1 = float(np.cumsum(np.r_[self.s1, -(rate * n)])[-1])

    @property
    def value(self) -> float:
        var = self.s2 / self.n - (self.s1 / self.n) ** 2
        return math.sqrt(var) if var > 0 else 0.0



def sequential_path_sums(index_paths, values):
    """Per path, ``sum(values[i] for i in path)`` added left to right (Python's
    ``sum``, the same floats), for many paths at once.

    Parameters
    ----------
    index_paths : sequence of sequences of int
    values : float array

    Returns
    -------
    numpy.ndarray
    """
    out = np.zeros(len(index_paths))
    for rows, mat in group_by_length(index_paths):
        if mat.shape[1]:
            out[rows] = np.cumsum(values[mat], axis=1)[:, -1]
    return out


def _sequential_sums(flat, starts, lens):
    """Left-to-right sums of the segments ``flat[starts[i]:starts[i] + lens[i]]``."""
    out = np.zeros(lens.size)
    order = np.argsort(lens, kind="stable")
    sl = lens[order]
    cuts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    for a, b in zip(cuts[:-1], cuts[1:]):
        rows, length = order[a:b], int(sl[a])
        if length:
            out[rows] = np.cumsum(flat[starts[rows][:, None] + np.arange(length)], axis=1)[:, -1]
    return out


def _residuals_seen(rb, links, rate):
    """RB of each entry of ``links`` as the earlier entries left it (each use
    subtracts ``rate`` once, one subtraction at a time as :meth:`RoutingState.commit` does)."""
    by_link = np.argsort(links, kind="stable")
    ls = links[by_link]
    new = np.r_[True, ls[1:] != ls[:-1]]
    gstart = np.maximum.accumulate(np.where(new, np.arange(ls.size), 0))
    occ = np.empty(links.size, dtype=np.int64)
    occ[by_link] = np.arange(ls.size) - gstart
    prev = np.full(links.size, -1, dtype=np.int64)
    prev[by_link[1:]] = by_link[:-1]  # the entry before, on the same link where occ > 0
    seen = rb[links].astype(float)
    if links.size == 0:
        return seen
    by_occ = np.argsort(occ, kind="stable")
    oc = occ[by_occ]
    cuts = np.flatnonzero(np.r_[True, oc[1:] != oc[:-1], True])
    for a, b in zip(cuts[1:-1], cuts[2:]):
        e = by_occ[a:b]
        seen[e] = seen[prev[e]] - rate
    return seen


class RoutingState:
    """Flows routed so far on one network, with everything the constraints need."""

    def __init__(self, network, scenario):
        self.net = network
        self.sc = scenario
        self.n = network.n_nodes
        self.E = network.n_links
        ea, eb = network.edge_a, network.edge_b
        self.tail = np.empty(2 * self.E, dtype=np.int64)
        self.head = np.empty(2 * self.E, dtype=np.int64)
        self.tail[0::2], self.tail[1::2] = ea, eb
        self.head[0::2], self.head[1::2] = eb, ea
        self.bw = network.bandwidth_mbps.astype(float)
        self.port_bw = np.repeat(self.bw, 2)
        self.prop = network.delay_s.astype(float)
        self.port_prop = np.repeat(self.prop, 2)
        self.flow = np.zeros(self.E)
        self.port_flow = np.zeros(2 * self.E)
        self.rb = self.bw.copy()
        self.tracker = LoadBalanceTracker(self.rb)
        self.paths: dict = {}
        self.rates: dict = {}
        self.K = scenario.queue_capacity
        self.t_wait = scenario.t_wait_s
        self.mean_pkt = scenario.mean_packet_bytes
        self.bound_s = scenario.delay_bound_ms / 1000.0
        # A loopless path has at most n - 1 links: a larger bound is the same bound.
        self.hop_bound = min(int(scenario.hop_bound), self.n - 1)
        self.mu = service_rate_per_s(self.port_bw, self.mean_pkt)
        # load-independent upper bound of W + P_loss t_wait at rho < 1
        self.port_cost_ub = self.K / self.mu + self.t_wait / (self.K + 1)
        self.zero_load_cost = self.port_prop + 1.0 / self.mu
        self.edge_index = network.edge_index
        # plain-list mirrors for the per-candidate hot path
        self.rb_list = self.rb.tolist()
        self.ub_list = (self.port_prop + self.port_cost_ub).tolist()
        self._hop_cost = np.zeros(2 * self.E)  # scratch for path_delay (only its ports are read)
        # commits whose numpy updates are pending (commit_fast; applied by _flush)
        self._pend_links: list = []
        self._pend_ports: list = []
        self._pend_rate = 0.0
        self._arc_keys = None  # sorted tail * n + head, for port_matrix
        self._arc_order = None

    # -- helpers ---------------------------------------------------------
    def port_matrix(self, node_rows):
        """Port ids of node-index paths of one length (int array ``(n_paths, hops + 1)``),
        as :meth:`ports_of` gives them, shape ``(n_paths, hops)``."""
        if self._arc_keys is None:
            keys = self.tail * self.n + self.head
            self._arc_order = np.argsort(keys, kind="stable")
            self._arc_keys = keys[self._arc_order]
        keys = node_rows[:, :-1] * self.n + node_rows[:, 1:]
        pos = np.searchsorted(self._arc_keys, keys)
        return self._arc_order[np.minimum(pos, self._arc_keys.size - 1)]

    def ports_of(self, nodes):
        """Directed port ids along a node-index path (:func:`cppsns3.model.delay.port_ids`)."""
        return port_ids(nodes, self.edge_index)

    def port_costs(self, extra_ports=None, extra_rate=0.0):
        """``W + P_loss t_wait`` per port at the routed loads (+ ``extra_rate`` on ``extra_ports``)."""
        self._flush()
        load = self.port_flow
        if extra_ports is not None:
            load = load.copy()
            load[extra_ports] += extra_rate
        return port_hop_cost_s(load, self.port_bw, self.mean_pkt, self.K, self.t_wait)

    def path_delay(self, ports, extra_rate=0.0, relay_only=False):
        """Eq. 2 delay of a path given as port ids, with ``extra_rate`` added on it."""
        self._flush()
        p = np.asarray(ports, dtype=np.int64)
        if p.size == 0:
            return 0.0
        # queue figures of the path's ports only, scattered into a per-port buffer
        hop = self._hop_cost
        hop[p] = port_hop_cost_s(self.port_flow[p] + extra_rate, self.port_bw[p], self.mean_pkt,
                                 self.K, self.t_wait)
        return path_delay_s(p, self.prop, hop, relay_only=relay_only)

    def violation(self, nodes, ports, rate):
        """Name of the first constraint the candidate breaks, or None."""
        return self.check(ports, rate)[0]

    def check(self, ports, rate):
        """:meth:`violation` of the path with these ports, and the sum of RB
        over its links (in path order) where it breaks none.

        Returns
        -------
        (str or None, float or None)
        """
        if len(ports) > self.hop_bound:
            return "hop_bound", None
        rbl = self.rb_list
        rb = [rbl[p >> 1] for p in ports]
        if min(rb) - rate <= 0:
            return "bandwidth", None
        ubl = self.ub_list
        ub = sum([ubl[p] for p in ports])
        if ub > self.bound_s and self.path_delay(ports, rate) > self.bound_s:
            return "delay_bound_ms", None
        return None, sum(rb)

    def commit(self, s, d, nodes, ports, rate):
        self._flush()
        links = [p >> 1 for p in ports]
        rbl = self.rb_list
        self.tracker.commit(sum([rbl[e] for e in links]), len(links), rate)
        for e in links:
            rbl[e] -= rate
        self.flow[links] += rate
        self.rb[links] -= rate
        self.port_flow[ports] += rate
        self.paths[(s, d)] = nodes
        self.rates[(s, d)] = rate

    def commit_fast(self, s, d, nodes, ports, rb_sum, rate):
        """:meth:`commit` of a checked path whose RB sum (:meth:`check`) the
        caller has; the numpy arrays are updated later, in commit order (every
        reader flushes first)."""
        if self._pend_links and rate != self._pend_rate:
            self._flush()
        links = [p >> 1 for p in ports]
        self.tracker.commit(rb_sum, len(links), rate)
        rbl = self.rb_list
        for e in links:
            rbl[e] -= rate
        self._pend_links.extend(links)
        self._pend_ports.extend(ports)
        self._pend_rate = rate
        self.paths[(s, d)] = nodes
        self.rates[(s, d)] = rate

    def _flush(self):
        if not self._pend_links:
            return
        links = np.asarray(self._pend_links, dtype=np.int64)
        rate = self._pend_rate
        # ufunc.at applies the updates one by one in order: the floats of per-path commits
        np.add.at(self.flow, links, rate)
        np.subtract.at(self.rb, links, rate)
        np.add.at(self.port_flow, np.asarray(self._pend_ports, dtype=np.int64), rate)
        self._pend_links, self._pend_ports = [], []

    def arrays(self):
        """The state with every commit applied to ``flow``, ``rb`` and ``port_flow`` (returns self)."""
        self._flush()
        return self

    def commit_tree(self, s, dests, node_paths, port_paths, rate, check_delay=False):
        """Commit the flows ``s -> dests[i]`` in order, as :meth:`commit` one
        by one would, up to the first that cannot be committed unchecked.

        A flow stops the batch if its path is ``None``, breaks the hop bound,
        leaves ``RB <= 0`` on a link (RB as the flows before it left it) or,
        with ``check_delay``, exceeds the delay bound by the load-independent
        upper bound (it may still meet it: the caller decides).

        Returns
        -------
        int
            Number of flows committed (``len(dests)`` if all).
        """
        self._flush()
        n_ok = len(dests)
        for i, ports in enumerate(port_paths):
            if ports is None or len(ports) > self.hop_bound:
                n_ok = i
                break
        ports_ok = port_paths[:n_ok]
        if check_delay and n_ok:
            ub = sequential_path_sums(ports_ok, self.port_prop + self.port_cost_ub)
            over = np.flatnonzero(ub > self.bound_s)
            if over.size:
                n_ok = int(over[0])
                ports_ok = port_paths[:n_ok]
        if n_ok == 0:
            return 0
        lens = np.fromiter(map(len, ports_ok), dtype=np.int64, count=n_ok)
        ports_flat = np.fromiter(chain.from_iterable(ports_ok), dtype=np.int64, count=int(lens.sum()))
        links = ports_flat >> 1
        seen = _residuals_seen(self.rb, links, rate)
        starts = np.cumsum(lens) - lens
        low = np.flatnonzero(np.minimum.reduceat(seen, starts) - rate <= 0)
        if low.size:
            n_ok = int(low[0])
            if n_ok == 0:
                return 0
            cut = int(starts[n_ok])
            links, ports_flat, seen = links[:cut], ports_flat[:cut], seen[:cut]
            lens, starts = lens[:n_ok], starts[:n_ok]
        # tracker: per flow the RB sum along its path in path order (Python's sum), in commit order
        rb_sums = _sequential_sums(seen, starts, lens)
        self.tracker.commit_many(rb_sums, lens, rate)
        np.add.at(self.flow, links, rate)
        np.subtract.at(self.rb, links, rate)
        np.add.at(self.port_flow, ports_flat, rate)
        self.rb_list = self.rb.tolist()
        for d, nodes in zip(dests[:n_ok], node_paths[:n_ok]):
            self.paths[(s, d)] = nodes
            self.rates[(s, d)] = rate
        return n_ok

    def uncommit(self, s, d):
        self._flush()
        nodes = self.paths.pop((s, d))
        rate = self.rates.pop((s, d))
        ports = self.ports_of(nodes)
        links = [p >> 1 for p in ports]
        self.flow[links] -= rate
        self.rb[links] += rate
        self.port_flow[ports] -= rate
        # remove round-off so that an emptied link is exactly empty again
        np.maximum(self.flow, 0.0, out=self.flow)
        np.maximum(self.port_flow, 0.0, out=self.port_flow)
        self.flow[self.flow < 1e-9] = 0.0
        self.port_flow[self.port_flow < 1e-9] = 0.0
        self.rb = self.bw - self.flow
        self.rb_list = self.rb.tolist()
        self.tracker = LoadBalanceTracker(self.rb)

    def no_path(self, s, d, reason):
        lab = self.net.nodes
        return NoFeasiblePath(
            f"no feasible path from bus {lab[s]!r} to bus {lab[d]!r}: {reason} constraint "
            f"(delay_bound_ms={self.sc.delay_bound_ms}, hop_bound={self.hop_bound})",
            src_bus=lab[s], dst_bus=lab[d], constraint=reason)

    def diagnose(self, s, d, rate):
        """The constraint that makes (s, d) infeasible for a shortest-path method."""
        self._flush()
        w = np.where(np.repeat(self.rb, 2) - rate > 0, self.zero_load_cost, np.inf)
        lab, _ = hop_bounded_paths(self.n, self.tail, self.head, self.zero_load_cost, s, self.n)
        if not np.isfinite(lab[d]):
            return "connectivity"
        lab, _ = hop_bounded_paths(self.n, self.tail, self.head, self.zero_load_cost, s, self.hop_bound)
        if not np.isfinite(lab[d]):
            return "hop_bound"
        lab, _ = hop_bounded_paths(self.n, self.tail, self.head, w, s, self.hop_bound)
        if not np.isfinite(lab[d]):
            return "bandwidth"
        return "delay_bound_ms"

