"""Load balance (Eq. 3), the constraints of Eq. 4, QT-DR and two baselines.

Flows
    Every demand terminal ``s`` sends its block (``data_mb``) to every other
    node once per sampling period: one unicast flow per (s, d) of rate
    ``data_mb * 8 / sampling_period_s`` Mbit/s.

Residual bandwidth and Load_B
    ``RB_e = bandwidth_e - sum of the rates of the flows routed over link e``
    (both directions; the paper's undirected bandwidth matrix ``b_ij``).
    ``Load_B`` = population standard deviation of ``RB`` over all links, in
    Mbit/s (Eq. 3).

Constraints (Eq. 4), checked on every chosen path
    ``T_{s-d} <= delay_bound_ms`` (Eq. 2, per-sending-port variant, loads as
    routed so far plus the candidate), ``RB_e > 0`` on every link after adding
    the flow, ``hops <= hop_bound``; flow conservation holds by construction
    (each flow is one path).

QT-DR (the paper's listing)
    Terminals sorted by volume, largest first (ties: scenario order).  The
    first gets the shortest-delay tree (hop-bounded Bellman-Ford on the
    zero-load per-hop delay ``L/v + 1/mu``); each destination's tree path is
    committed if it meets the constraints, else it is treated like the others.
    Each next terminal, for each destination in node order: the K shortest
    loopless paths within the hop bound (weights = zero-load per-hop delay;
    :func:`k_shortest_simple_paths_from`, one pass per terminal for all
    destinations, Yen via python-igraph for the few pairs it cannot certify),
    drop those breaking a constraint, keep the one with the smallest Load_B
    after tentatively adding the flow (first on ties), commit, update RB.  If
    none of them is within the hop bound the shortest-delay path that is
    becomes the one candidate.  Load_B of a candidate is computed
    incrementally from the running sums of RB and RB^2 (only the candidate's
    links change).

QoS-R (reconstruction of Wang et al. 2013)
    Per terminal (same order), per destination: the minimum-delay path within
    the hop bound over links that can still carry the flow, link cost = ``L/v``
    plus ``W + P_loss t_wait`` of the sending port at the current loads.  Paths
    of one terminal are computed together (one hop-bounded Bellman-Ford); if
    committing them all breaks a constraint they are redone one destination at
    a time.  No balancing objective.

RA-DBMM (reconstruction of Wang, Jia and Chen 2015)
    Per terminal, a balanced tree: for each destination the widest path
    (max-min residual bandwidth) within the hop bound on the residuals left by
    the terminals routed before, ties to fewer hops then lower delay; same
    commit / fallback as QoS-R.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from cppsns3.errors import NoFeasiblePath, ScenarioError
from cppsns3.model.delay import port_figures, select_generator, service_rate_per_s

__all__ = [
    "load_balance",
    "LoadBalanceTracker",
    "hop_bounded_paths",
    "k_shortest_simple_paths_from",
    "RoutingState",
    "route_qtdr",
    "route_qos_r",
    "route_ra_dbmm",
    "ROUTERS",
    "PathPlan",
    "LinkPlan",
    "PortPlan",
    "AlgorithmPlan",
    "Plan",
    "plan",
]


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

    @property
    def value(self) -> float:
        var = self.s2 / self.n - (self.s1 / self.n) ** 2
        return math.sqrt(var) if var > 0 else 0.0


def hop_bounded_paths(n_nodes, tail, head, weight, src, hop_bound, mode="min", tie=None):
    """Best path from ``src`` to every node using at most ``hop_bound`` links.

    A layered Bellman-Ford over directed edges: layer h holds the best label
    over paths of at most h links; a label changes only on strict improvement,
    so among equal labels the path with fewer links wins and every path is
    simple.

    Parameters
    ----------
    n_nodes : int
    tail, head : int arrays
        Directed edges.
    weight : float array
        ``mode="min"``: additive cost (``inf`` = unusable).  ``mode="widest"``:
        capacity, the label is the bottleneck (``-inf`` = unusable).
    src : int
    hop_bound : int
    tie : float array, optional
        Widest mode: additive cost used to break equal bottlenecks inside one
        layer.

    Returns
    -------
    (label, paths)
        ``label`` per node (``inf``/``-inf`` where unreachable) and ``paths``,
        a list with the node-index path per node (``None`` where unreachable,
        ``[src]`` for the source).
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    order = np.argsort(head, kind="stable")
    t_s, h_s, w_s = tail[order], head[order], weight[order]
    tie_s = np.asarray(tie, dtype=float)[order] if tie is not None else np.zeros(len(order))
    starts = np.flatnonzero(np.r_[True, h_s[1:] != h_s[:-1]]) if len(h_s) else np.zeros(0, int)
    hu = h_s[starts]
    widest = mode == "widest"
    if widest:
        label = np.full(n_nodes, -np.inf)
        label[src] = np.inf
    else:
        label = np.full(n_nodes, np.inf)
        label[src] = 0.0
    aux = np.full(n_nodes, np.inf)
    aux[src] = 0.0
    layers = []
    for _ in range(int(hop_bound)):
        if widest:
            cand = np.minimum(label[t_s], w_s)
            cand_aux = aux[t_s] + tie_s
            ordr = np.lexsort((cand_aux, -cand, h_s))
        else:
            cand = label[t_s] + w_s
            ordr = np.lexsort((cand, h_s))
        first = ordr[starts]
        best = cand[first]
        upd = best > label[hu] if widest else best < label[hu]
        if not upd.any():
            break
        pred = np.full(n_nodes, -1, dtype=np.int64)
        nodes = hu[upd]
        pred[nodes] = t_s[first[upd]]
        label = label.copy()
        label[nodes] = best[upd]
        if widest:
            aux = aux.copy()
            aux[nodes] = cand_aux[first[upd]]
        layers.append(pred)
    paths = [None] * n_nodes
    paths[src] = [src]
    reach = np.isfinite(label) if not widest else label > -np.inf
    top = len(layers) - 1
    for v in np.flatnonzero(reach):
        v = int(v)
        if v == src:
            continue
        seq = [v]
        h = top
        cur = v
        while cur != src:
            p = layers[h][cur]
            if p >= 0:
                cur = int(p)
                seq.append(cur)
            h -= 1
        seq.reverse()
        paths[v] = seq
    return label, paths


def k_shortest_simple_paths_from(n_nodes, tail, head, weight, src, hop_bound, k, *,
                                 width=None, max_k=None):
    """The ``k`` shortest loopless paths of at most ``hop_bound`` links from
    ``src`` to every node (Yen's set restricted to the hop bound), all at once.

    Exact-hop layered k-shortest *walks*: layer h keeps, per node, the ``width``
    cheapest walks of exactly h links (the prefix of one of the w cheapest
    h-walks to v is one of the w cheapest (h-1)-walks to its predecessor, so
    each layer is exact).  Walks are then sorted by cost per node and the loops
    dropped; the first ``k`` loopless ones are the answer once *certified*:
    every layer that is full at that node ends at a cost >= the k-th path's,
    so no cheaper path was cut.  Walks never turn straight back (the state is
    the last directed edge).  Uncertified pairs (their cheap alternatives are
    buried under walks with cycles, about 5 % on case118) are computed by
    Yen's algorithm (python-igraph), keeping the paths within the hop bound.

    Parameters
    ----------
    n_nodes : int
    tail, head : int arrays
        Directed edges (both directions of every link).
    weight : float array
        Non-negative cost per directed edge.
    src : int
    hop_bound, k : int
    width : int, optional
        Walks kept per state and layer (default ``k``).
    max_k : int, optional
        Uncertified pairs: Yen with k growing (x4) up to ``max_k`` until ``k``
        paths meet the hop bound (default 1024: exact).  ``max_k = k`` gives
        Yen's k shortest filtered by the hop bound (fewer than ``k``
        candidates where some break it).

    Returns
    -------
    list
        Per node, a list of up to ``k`` node-index paths, cheapest first
        (``[]`` for the source and for nodes out of reach).
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    H = int(hop_bound)
    wd = int(width or k)
    out, ok = _ksp_pass(n_nodes, tail, head, weight, src, H, k, wd)
    ok[src] = True
    if ok.all():
        return out
    # a few pairs whose cheap alternatives are buried under walks with cycles:
    # Yen's k shortest (python-igraph), those within the hop bound
    g = _igraph_from_arcs(n_nodes, tail, head, weight)
    for v in np.flatnonzero(~ok):
        out[int(v)] = _yen_hop_bounded(g, src, int(v), k, H, tail, head, max_k=max_k)
    return out


def _igraph_from_arcs(n_nodes, tail, head, weight):
    import igraph as ig

    g = ig.Graph(n=n_nodes, edges=list(zip(tail.tolist(), head.tolist())), directed=True)
    g.es["w"] = weight.tolist()
    return g


def _yen_hop_bounded(g, s, d, k, hop_bound, tail, head, max_k=None):
    """The k shortest loopless s-d paths with at most ``hop_bound`` links (Yen, growing k)."""
    kk = k
    max_k = max_k or 1024
    while True:
        eps = g.get_k_shortest_paths(s, to=d, k=kk, weights="w", output="epath")
        good = [ep for ep in eps if len(ep) <= hop_bound]
        if len(good) >= k or len(eps) < kk or kk >= max_k:
            return [[s] + [int(head[e]) for e in ep] for ep in good[:k]]
        kk *= 4


_TRANSITIONS: dict = {}


def _transitions(tail, head, n):
    """Pairs (e, f) of directed edges with head(e) = tail(f), tail(e) != head(f)."""
    key = (n, tail.tobytes(), head.tobytes())
    hit = _TRANSITIONS.get(key)
    if hit is not None:
        return hit
    by_tail = np.argsort(tail, kind="stable")
    deg = np.bincount(tail, minlength=n)
    start = np.r_[0, np.cumsum(deg)]
    cnt = deg[head]
    tr_from = np.repeat(np.arange(tail.size), cnt)
    off = np.arange(tr_from.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    tr_to = by_tail[start[head[tr_from]] + off]
    keep = head[tr_to] != tail[tr_from]
    out = (tr_from[keep], tr_to[keep])
    if len(_TRANSITIONS) > 16:
        _TRANSITIONS.clear()
    _TRANSITIONS[key] = out
    return out


def _ksp_pass(n, tail, head, weight, src, H, k, wd):
    # states are directed edges (the walk's last edge); a walk never turns straight back
    E2 = tail.size
    by_tail = np.argsort(tail, kind="stable")
    deg = np.bincount(tail, minlength=n)
    start = np.r_[0, np.cumsum(deg)]
    tr_from, tr_to = _transitions(tail, head, n)
    cost = np.full((H + 1, E2, wd), np.inf)
    pstate = np.full((H + 1, E2, wd), -1, dtype=np.int64)
    prank = np.full((H + 1, E2, wd), -1, dtype=np.int64)
    first_edges = by_tail[start[src]:start[src + 1]]
    if H >= 1:
        cost[1, first_edges, 0] = weight[first_edges]
    from_f = np.repeat(tr_from, wd)
    to_f = np.repeat(tr_to, wd)
    rank_f = np.tile(np.arange(wd), tr_from.size)
    w_f = weight[to_f]
    last = min(H, 1)
    for h in range(2, H + 1):
        cand = cost[h - 1][from_f, rank_f] + w_f
        sel = np.flatnonzero(np.isfinite(cand) & (head[to_f] != src))
        if sel.size == 0:
            break
        last = h
        c, hd = cand[sel], to_f[sel]
        order = np.lexsort((c, hd))
        c, hd, sel = c[order], hd[order], sel[order]
        first = np.r_[True, hd[1:] != hd[:-1]]
        grp_start = np.maximum.accumulate(np.where(first, np.arange(hd.size), 0))
        rk = np.arange(hd.size) - grp_start
        keep = rk < wd
        hd, rk, c, sel = hd[keep], rk[keep], c[keep], sel[keep]
        cost[h][hd, rk] = c
        pstate[h][hd, rk] = from_f[sel]
        prank[h][hd, rk] = rank_f[sel]
    H = last
    cost = cost[: H + 1]
    # per node: labels of all states entering it
    by_head = np.argsort(head, kind="stable")
    hdeg = np.bincount(head, minlength=n)
    maxd = int(hdeg.max()) if n else 0
    hstart = np.r_[0, np.cumsum(hdeg)]
    in_e = np.full((n, maxd), -1, dtype=np.int64)
    for v in range(n):
        ins = by_head[hstart[v]:hstart[v + 1]]
        in_e[v, : ins.size] = ins
    pad = in_e < 0
    in_safe = np.where(pad, 0, in_e)
    lab = cost[:, in_safe, :]  # (H+1, n, maxd, wd)
    lab[:, pad, :] = np.inf
    flat = lab.transpose(1, 0, 2, 3).reshape(n, -1)  # column = (h*maxd + j)*wd + r
    m = min(flat.shape[1], 2 * k + 2 + 2 * (wd - k))
    order = np.argsort(flat, axis=1, kind="stable")[:, :m]
    lab_cost = np.take_along_axis(flat, order, axis=1)
    lab_h = order // (maxd * wd)
    lab_e = in_safe[np.arange(n)[:, None], (order // wd) % maxd]
    lab_r = order % wd
    N = n * m
    hh = lab_h.ravel().copy()
    ee = lab_e.ravel().copy()
    rr = lab_r.ravel().copy()
    fin = np.isfinite(lab_cost.ravel())
    seq = np.full((N, H + 1), -1, dtype=np.int64)
    seq[:, 0] = src
    rows = np.flatnonzero(fin)
    seq[rows, hh[rows]] = head[ee[rows]]
    active = fin & (hh > 1)
    while active.any():
        a = np.flatnonzero(active)
        pe = pstate[hh[a], ee[a], rr[a]]
        pr = prank[hh[a], ee[a], rr[a]]
        hh[a] -= 1
        ee[a] = pe
        rr[a] = pr
        seq[a, hh[a]] = head[pe]
        active[a] = hh[a] > 1
    srt = np.sort(np.where(seq < 0, -np.arange(1, H + 2)[None, :], seq), axis=1)
    simple = (fin & ~np.any(srt[:, 1:] == srt[:, :-1], axis=1)).reshape(n, m)
    full = np.isfinite(cost[:, :, wd - 1])  # (H+1, E2): layer cut at this state
    last_cost = cost[:, :, wd - 1]
    n_fin = np.isfinite(flat).sum(axis=1)
    out = [[] for _ in range(n)]
    ok = np.ones(n, dtype=bool)
    for v in range(n):
        if v == src:
            continue
        idx = np.flatnonzero(simple[v])[:k]
        out[v] = [seq[v * m + i, : lab_h[v, i] + 1].tolist() for i in idx]
        ins = in_e[v][in_e[v] >= 0]
        cut = full[:, ins]
        if len(idx) == k:
            if np.any(cut & (last_cost[:, ins] < lab_cost[v, idx[-1]])):
                ok[v] = False
        elif n_fin[v] > m or cut.any():
            ok[v] = False
    return out, ok


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
        self.hop_bound = scenario.hop_bound
        self.mu = service_rate_per_s(self.port_bw, self.mean_pkt)
        # load-independent upper bound of W + P_loss t_wait at rho < 1
        self.port_cost_ub = self.K / self.mu + self.t_wait / (self.K + 1)
        self.zero_load_cost = self.port_prop + 1.0 / self.mu
        self.edge_index = network.edge_index
        # plain-list mirrors for the per-candidate hot path
        self.rb_list = self.rb.tolist()
        self.ub_list = (self.port_prop + self.port_cost_ub).tolist()

    # -- helpers ---------------------------------------------------------
    def ports_of(self, nodes):
        ei = self.edge_index
        out = []
        for u, v in zip(nodes[:-1], nodes[1:]):
            out.append(2 * ei[(u, v)] if u < v else 2 * ei[(v, u)] + 1)
        return out

    def port_costs(self, extra_ports=None, extra_rate=0.0):
        load = self.port_flow
        if extra_ports is not None:
            load = load.copy()
            load[extra_ports] += extra_rate
        _, loss, w = port_figures(load, self.port_bw, self.mean_pkt, self.K)
        return w + loss * self.t_wait

    def path_delay(self, ports, extra_rate=0.0, relay_only=False):
        """Eq. 2 delay of a path given as port ids, with ``extra_rate`` added on it."""
        p = np.asarray(ports, dtype=np.int64)
        if p.size == 0:
            return 0.0
        load = self.port_flow[p] + extra_rate
        _, loss, w = port_figures(load, self.port_bw[p], self.mean_pkt, self.K)
        cost = w + loss * self.t_wait
        if relay_only:
            cost = cost[1:]
        return float(self.prop[p // 2].sum() + cost.sum())

    def violation(self, nodes, ports, rate):
        """Name of the first constraint the candidate breaks, or None."""
        if len(nodes) - 1 > self.hop_bound:
            return "hop_bound"
        rbl = self.rb_list
        if min([rbl[p >> 1] for p in ports]) - rate <= 0:
            return "bandwidth"
        ubl = self.ub_list
        ub = sum([ubl[p] for p in ports])
        if ub > self.bound_s and self.path_delay(ports, rate) > self.bound_s:
            return "delay_bound_ms"
        return None

    def commit(self, s, d, nodes, ports, rate):
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

    def uncommit(self, s, d):
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


def _sources(scenario, network):
    """Terminals as (node index, rate) sorted by volume, largest first."""
    items = []
    for k, t in enumerate(scenario.terminals):
        site = network.site_of(t.bus)
        items.append((-t.data_mb, k, network.index[site], scenario.terminal_rate_mbps(t)))
    items.sort()
    return [(s, r) for _, _, s, r in items]


def _igraph(network, weights):
    import igraph as ig

    g = ig.Graph(n=network.n_nodes, edges=list(zip(network.edge_a.tolist(), network.edge_b.tolist())))
    g.es["w"] = list(map(float, weights))
    return g


def _epath_to_nodes(epath, s, ea, eb):
    nodes = [s]
    cur = s
    for e in epath:
        a, b = ea[e], eb[e]
        cur = b if cur == a else a
        nodes.append(cur)
    return nodes


def _choose_min_loadb(st, s, d, rate, candidates):
    """Among candidate node paths, the feasible one with least Load_B after adding."""
    best = None
    best_val = math.inf
    reasons = []
    for nodes in candidates:
        ports = st.ports_of(nodes)
        why = st.violation(nodes, ports, rate)
        if why is not None:
            reasons.append(why)
            continue
        rbl = st.rb_list
        val = st.tracker.value_after(sum([rbl[p >> 1] for p in ports]), len(ports), rate)
        if val < best_val:
            best_val, best = val, (nodes, ports)
    return best, reasons


# Uncertified pairs in QT-DR: Yen's K shortest filtered by the hop bound (1 = k
# itself).  Growing k to make them exact cost 3.7 s on ieee57 (hop-infeasible
# detours dominate) for a Load_B change below 0.5 %.
YEN_MAX_K_FACTOR = 1


def route_qtdr(network, scenario) -> RoutingState:
    """QT-DR (see the module docstring).

    Raises
    ------
    NoFeasiblePath
        If no candidate of a pair meets the constraints (names the pair and the
        constraint the candidates broke, ``connectivity`` if none exists).
    """
    st = RoutingState(network, scenario)
    srcs = _sources(scenario, network)
    K = scenario.yen_k
    for rank, (s, rate) in enumerate(srcs):
        tree = hop_bounded_paths(st.n, st.tail, st.head, st.zero_load_cost, s, st.hop_bound)[1]
        cand_all = None
        for d in range(st.n):
            if d == s:
                continue
            if rank == 0 and tree[d] is not None:
                nodes = tree[d]
                ports = st.ports_of(nodes)
                if st.violation(nodes, ports, rate) is None:
                    st.commit(s, d, nodes, ports, rate)
                    continue
            if cand_all is None:
                cand_all = k_shortest_simple_paths_from(st.n, st.tail, st.head, st.zero_load_cost,
                                                        s, st.hop_bound, K, max_k=K * YEN_MAX_K_FACTOR)
            cands = list(cand_all[d])
            if not cands:
                if tree[d] is None:
                    raise st.no_path(s, d, st.diagnose(s, d, rate))
                cands = [tree[d]]  # the shortest-delay path within the hop bound
            best, reasons = _choose_min_loadb(st, s, d, rate, cands)
            if best is None:
                raise st.no_path(s, d, _most_common(reasons))
            st.commit(s, d, best[0], best[1], rate)
    return st


def _most_common(reasons):
    order = ("hop_bound", "bandwidth", "delay_bound_ms")
    counts = {r: reasons.count(r) for r in order}
    return max(order, key=lambda r: counts[r])


def _route_per_source(network, scenario, tree_fn) -> RoutingState:
    st = RoutingState(network, scenario)
    for s, rate in _sources(scenario, network):
        paths = tree_fn(st, s, rate)
        done = []
        ok = True
        for d in range(st.n):
            if d == s:
                continue
            nodes = paths[d]
            if nodes is None:
                ok = False
                break
            ports = st.ports_of(nodes)
            if len(nodes) - 1 > st.hop_bound or np.min(st.rb[[p >> 1 for p in ports]]) - rate <= 0:
                ok = False
                break
            st.commit(s, d, nodes, ports, rate)
            done.append(d)
        if ok:
            # delay is checked once the whole tree is in (queues see all of it)
            cost = None
            for d in done:
                ports = st.ports_of(st.paths[(s, d)])
                if float(st.port_prop[ports].sum() + st.port_cost_ub[ports].sum()) <= st.bound_s:
                    continue
                if cost is None:
                    cost = st.port_costs()
                if float(st.port_prop[ports].sum() + cost[ports].sum()) > st.bound_s:
                    ok = False
                    break
        if ok:
            continue
        for d in done:
            st.uncommit(s, d)
        for d in range(st.n):  # one destination at a time on updated residuals
            if d == s:
                continue
            nodes = tree_fn(st, s, rate)[d]
            if nodes is None:
                raise st.no_path(s, d, st.diagnose(s, d, rate))
            ports = st.ports_of(nodes)
            why = st.violation(nodes, ports, rate)
            if why is not None:
                raise st.no_path(s, d, why)
            st.commit(s, d, nodes, ports, rate)
    return st


def _qos_tree(st, s, rate):
    usable = np.repeat(st.rb, 2) - rate > 0
    w = np.where(usable, st.port_prop + st.port_costs(), np.inf)
    return hop_bounded_paths(st.n, st.tail, st.head, w, s, st.hop_bound)[1]


def _widest_tree(st, s, rate):
    rb2 = np.repeat(st.rb, 2)
    w = np.where(rb2 - rate > 0, rb2, -np.inf)
    return hop_bounded_paths(st.n, st.tail, st.head, w, s, st.hop_bound, mode="widest",
                             tie=st.zero_load_cost)[1]


def route_qos_r(network, scenario) -> RoutingState:
    """QoS-R baseline: minimum-delay feasible path per pair.

    Raises
    ------
    NoFeasiblePath
    """
    return _route_per_source(network, scenario, _qos_tree)


def route_ra_dbmm(network, scenario) -> RoutingState:
    """RA-DBMM baseline: widest-path (max-min residual) tree per terminal.

    Raises
    ------
    NoFeasiblePath
    """
    return _route_per_source(network, scenario, _widest_tree)


ROUTERS = {"qtdr": route_qtdr, "qos-r": route_qos_r, "ra-dbmm": route_ra_dbmm}


# --------------------------------------------------------------------------
# Plan: what the CLI prints and the ns-3 layer consumes


@dataclass(frozen=True)
class PathPlan:
    """One planned flow.  ``buses`` are site labels, source first."""

    src_bus: object
    dst_bus: object
    buses: tuple
    rate_mbps: float
    delay_s: float
    delay_relay_only_s: float
    hops: int

    def to_json_dict(self) -> dict:
        return {"src_bus": self.src_bus, "dst_bus": self.dst_bus, "buses": list(self.buses),
                "delay_s": self.delay_s, "delay_relay_only_s": self.delay_relay_only_s,
                "hops": self.hops, "rate_mbps": self.rate_mbps}


@dataclass(frozen=True)
class LinkPlan:
    """One undirected link, ``a_bus < b_bus`` (in node order)."""

    a_bus: object
    b_bus: object
    bandwidth_mbps: float
    length_km: float
    delay_s: float
    flow_mbps: float
    flow_ab_mbps: float
    flow_ba_mbps: float
    residual_mbps: float
    utilisation: float

    def to_json_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "a_bus", "b_bus", "bandwidth_mbps", "residual_mbps", "utilisation", "length_km",
            "delay_s", "flow_mbps", "flow_ab_mbps", "flow_ba_mbps")}


@dataclass(frozen=True)
class PortPlan:
    """One sending port (the queue at ``bus`` towards ``peer_bus``)."""

    bus: object
    peer_bus: object
    load_mbps: float
    bandwidth_mbps: float
    rho: float
    capacity: int
    arrival_rate_per_s: float
    service_rate_per_s: float
    loss_probability: float
    mean_time_in_system_s: float

    def to_json_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AlgorithmPlan:
    """Result of one routing algorithm."""

    name: str
    load_balance: float
    max_delay_s: float
    max_delay_relay_only_s: float
    max_hops: int
    generator_bus: object
    generator_delay_s: float
    paths: tuple
    links: tuple
    ports: tuple
    plan_time_s: float

    def path(self, src_bus, dst_bus) -> PathPlan:
        """The planned path between two site labels.

        Raises
        ------
        KeyError
        """
        for p in self.paths:
            if p.src_bus == src_bus and p.dst_bus == dst_bus:
                return p
        raise KeyError((src_bus, dst_bus))

    def to_json_dict(self) -> dict:
        return {
            "load_balance": self.load_balance,
            "max_delay_s": self.max_delay_s,
            "max_delay_relay_only_s": self.max_delay_relay_only_s,
            "max_hops": self.max_hops,
            "generator_bus": self.generator_bus,
            "generator_delay_s": self.generator_delay_s,
            "plan_time_s": self.plan_time_s,
            "paths": [p.to_json_dict() for p in self.paths],
            "links": [x.to_json_dict() for x in self.links],
            "ports": [x.to_json_dict() for x in self.ports],
        }


@dataclass(frozen=True)
class Plan:
    """Plans of one scenario under one or more algorithms.

    ``generator_bus`` is that of the first algorithm in ``algorithms``
    (canonical order qtdr, qos-r, ra-dbmm); each algorithm has its own too.
    """

    grid: str
    algorithms: dict
    generator_bus: object
    delay_bound_ms: float
    hop_bound: int
    queue_capacity: int
    mean_packet_bytes: float
    sampling_period_s: float
    plan_time_s: float
    scenario: object = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        """The ``cppsns3 plan --json`` object."""
        return self.to_json_dict()

    def to_json_dict(self) -> dict:
        return {
            "grid": self.grid,
            "generator_bus": self.generator_bus,
            "delay_bound_ms": self.delay_bound_ms,
            "hop_bound": self.hop_bound,
            "queue_capacity": self.queue_capacity,
            "mean_packet_bytes": self.mean_packet_bytes,
            "sampling_period_s": self.sampling_period_s,
            "plan_time_s": self.plan_time_s,
            "algorithms": {k: v.to_json_dict() for k, v in self.algorithms.items()},
        }


def _summarise(name, st: RoutingState, network, scenario, elapsed_s) -> AlgorithmPlan:
    lab = network.nodes
    _, loss, w = port_figures(st.port_flow, st.port_bw, st.mean_pkt, st.K)
    cost = w + loss * st.t_wait
    srcs = _sources(scenario, network)
    paths = []
    delay_mat = np.zeros((len(srcs), st.n))
    for row, (s, rate) in enumerate(srcs):
        for d in range(st.n):
            if d == s:
                continue
            nodes = st.paths[(s, d)]
            ports = np.asarray(st.ports_of(nodes), dtype=np.int64)
            prop = float(st.prop[ports // 2].sum())
            full = prop + float(cost[ports].sum())
            relay = prop + float(cost[ports[1:]].sum())
            delay_mat[row, d] = full
            paths.append(PathPlan(lab[s], lab[d], tuple(lab[i] for i in nodes), rate, full, relay,
                                  len(nodes) - 1))
    # the final loads may push an earlier path over the bound: check them all
    for p in paths:
        if p.delay_s > st.bound_s:
            raise NoFeasiblePath(
                f"no feasible path from bus {p.src_bus!r} to bus {p.dst_bus!r}: delay_bound_ms "
                f"constraint after all flows were routed ({p.delay_s * 1e3:.3f} ms > "
                f"{scenario.delay_bound_ms} ms)", p.src_bus, p.dst_bus, "delay_bound_ms")
    links = []
    for e in range(st.E):
        a, b = int(network.edge_a[e]), int(network.edge_b[e])
        bw = float(st.bw[e])
        rb = float(bw - st.flow[e])
        links.append(LinkPlan(lab[a], lab[b], bw, float(network.length_km[e]), float(st.prop[e]),
                              float(st.flow[e]), float(st.port_flow[2 * e]),
                              float(st.port_flow[2 * e + 1]), rb, 1.0 - rb / bw))
    mu = st.mu
    lam = service_rate_per_s(st.port_flow, st.mean_pkt)
    ports = []
    for p in range(2 * st.E):
        u, v = int(st.tail[p]), int(st.head[p])
        ports.append(PortPlan(lab[u], lab[v], float(st.port_flow[p]), float(st.port_bw[p]),
                              float(st.port_flow[p] / st.port_bw[p]), int(st.K), float(lam[p]),
                              float(mu[p]), float(loss[p]), float(w[p])))
    gen, gen_delay = select_generator(delay_mat, lab)
    return AlgorithmPlan(
        name=name,
        load_balance=load_balance(st.bw - st.flow),
        max_delay_s=max((p.delay_s for p in paths), default=0.0),
        max_delay_relay_only_s=max((p.delay_relay_only_s for p in paths), default=0.0),
        max_hops=max((p.hops for p in paths), default=0),
        generator_bus=gen,
        generator_delay_s=gen_delay,
        paths=tuple(paths),
        links=tuple(links),
        ports=tuple(ports),
        plan_time_s=elapsed_s,
    )


def plan(scenario, algorithms=None) -> Plan:
    """Route a scenario with one or more algorithms.

    Parameters
    ----------
    scenario : Scenario
        From :func:`cppsns3.model.scenario.load_scenario` (network built).
    algorithms : str or sequence of str, optional
        ``"qtdr"``, ``"qos-r"``, ``"ra-dbmm"`` or ``"all"``; default the
        scenario's ``algorithms``.

    Returns
    -------
    Plan
        ``plan_time_s`` counts routing and summarising only (no imports, no
        grid loading).

    Raises
    ------
    ScenarioError
        If an algorithm name is unknown or the scenario has no network.
    NoFeasiblePath
        If a pair cannot be routed within the constraints.
    """
    if scenario.network is None:
        raise ScenarioError("scenario: network not built (load it with load_scenario)")
    if algorithms is None:
        names = list(scenario.algorithms)
    elif isinstance(algorithms, str):
        names = list(ROUTERS) if algorithms == "all" else [algorithms]
    else:
        names = list(algorithms)
    for a in names:
        if a not in ROUTERS:
            raise ScenarioError(f"algorithm: unknown algorithm {a!r} (known: qtdr, qos-r, ra-dbmm, all)")
    names = [a for a in ROUTERS if a in names]
    network = scenario.network
    t_all = time.perf_counter()
    results = {}
    for a in names:
        t0 = time.perf_counter()
        st = ROUTERS[a](network, scenario)
        results[a] = _summarise(a, st, network, scenario, 0.0)
        results[a] = _with_time(results[a], time.perf_counter() - t0)
    total = time.perf_counter() - t_all
    first = results[names[0]]
    return Plan(grid=scenario.grid, algorithms=results, generator_bus=first.generator_bus,
                delay_bound_ms=scenario.delay_bound_ms, hop_bound=scenario.hop_bound,
                queue_capacity=scenario.queue_capacity, mean_packet_bytes=scenario.mean_packet_bytes,
                sampling_period_s=scenario.sampling_period_s, plan_time_s=total, scenario=scenario)


def _with_time(ap: AlgorithmPlan, t: float) -> AlgorithmPlan:
    from dataclasses import replace

    return replace(ap, plan_time_s=t)
