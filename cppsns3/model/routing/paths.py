"""Hop-bounded path algorithms on directed edge lists.

Concern: pure graph search, no routing state.  Graphs are given as arrays of
directed edges (``tail``, ``head``, ``weight``; both directions of every link),
nodes as indices ``0 .. n_nodes - 1``.

* :func:`hop_bounded_paths`: the best path from one source to every node
  within a hop bound (layered Bellman-Ford; additive or widest/bottleneck).
* :func:`k_shortest_simple_paths_from`: the K shortest loopless paths within
  the hop bound from one source to every node in one pass, with Yen's
  algorithm (python-igraph) for the few pairs the pass cannot certify.
* :func:`min_cost_walks`: the cheapest non-backtracking walk within the hop
  bound from one source to every node, for costs of any sign (the pricing
  step of the relaxation in :mod:`~cppsns3.model.routing.relax`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hop_bounded_paths", "hop_bounded_arc_paths", "k_shortest_simple_paths_from",
           "k_shortest_arc_paths_from",
           "min_cost_walks"]


def hop_bounded_paths(n_nodes, tail, head, weight, src, hop_bound, mode="min", tie=None):
    """Best path from ``src`` to every node using at most ``hop_bound`` links.

    A layered Bellman-Ford over directed edges: layer h holds the best label
    over paths of at most h links; a label changes only on strict improvement,
    so among equal labels the path with fewer links wins and every path is
    simple.  Among equal candidates of one layer the first edge (in the
    order of ``head``, then of the input) wins.

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
    label, paths, _ = hop_bounded_arc_paths(n_nodes, tail, head, weight, src, hop_bound, mode, tie)
    return label, paths


def hop_bounded_arc_paths(n_nodes, tail, head, weight, src, hop_bound, mode="min", tie=None):
    """:func:`hop_bounded_paths` with the edges of every path as well.

    Returns
    -------
    (label, paths, arc_paths)
        As :func:`hop_bounded_paths`, and per node the list of indices (into
        ``tail``/``head``) of the path's directed edges, source first
        (``None`` where unreachable, ``[]`` for the source).
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    order = np.argsort(head, kind="stable")
    t_s, h_s, w_s = tail[order], head[order], weight[order]
    tie_s = np.asarray(tie, dtype=float)[order] if tie is not None else np.zeros(len(order))
    starts = np.flatnonzero(np.r_[True, h_s[1:] != h_s[:-1]]) if len(h_s) else np.zeros(0, int)
    sizes = np.diff(np.r_[starts, len(h_s)])
    group = np.repeat(np.arange(starts.size), sizes)
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
    layers = []  # per layer: the edge (sorted position) that improved each node, -1 if none
    for _ in range(int(hop_bound) if starts.size else 0):
        # per head node: best candidate, first in edge order on ties
        if widest:
            cand = np.minimum(label[t_s], w_s)
            cand_aux = aux[t_s] + tie_s
            best = np.maximum.reduceat(cand, starts)
            at_best = cand == np.repeat(best, sizes)
            aux_m = np.where(at_best, cand_aux, np.inf)
            at_best &= aux_m == np.repeat(np.minimum.reduceat(aux_m, starts), sizes)
        else:
            cand = label[t_s] + w_s
            best = np.minimum.reduceat(cand, starts)
            at_best = cand == np.repeat(best, sizes)
        idx = np.flatnonzero(at_best)
        first = idx[np.r_[True, group[idx[1:]] != group[idx[:-1]]]]
        upd = best > label[hu] if widest else best < label[hu]
        if not upd.any():
            break
        pred = np.full(n_nodes, -1, dtype=np.int64)
        nodes = hu[upd]
        pred[nodes] = first[upd]
        label = label.copy()
        label[nodes] = best[upd]
        if widest:
            aux = aux.copy()
            aux[nodes] = cand_aux[first[upd]]
        layers.append(pred)
    reach = np.isfinite(label) if not widest else label > -np.inf
    reach[src] = False
    ends = np.flatnonzero(reach)
    # walk back from every reached node at once, top layer first
    steps = np.full((ends.size, len(layers)), -1, dtype=np.int64)
    cur = ends.copy()
    for h in range(len(layers) - 1, -1, -1):
        p = layers[h][cur]
        hit = np.flatnonzero((cur != src) & (p >= 0))
        steps[hit, h] = p[hit]
        cur[hit] = t_s[p[hit]]
    used = steps >= 0
    counts = used.sum(axis=1).tolist()
    sorted_arcs = steps[used]  # row by row, in layer order = path order
    flat_arcs = order[sorted_arcs].tolist()
    flat_heads = h_s[sorted_arcs].tolist()
    paths = [None] * n_nodes
    arc_paths = [None] * n_nodes
    paths[src] = [src]
    arc_paths[src] = []
    o = 0
    for v, c in zip(ends.tolist(), counts):
        arc_paths[v] = flat_arcs[o:o + c]
        paths[v] = [src] + flat_heads[o:o + c]
        o += c
    return label, paths, arc_paths


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
    return k_shortest_arc_paths_from(n_nodes, tail, head, weight, src, hop_bound, k, width=width,
                                     max_k=max_k)[0]


def k_shortest_arc_paths_from(n_nodes, tail, head, weight, src, hop_bound, k, *,
                              width=None, max_k=None):
    """:func:`k_shortest_simple_paths_from` with the directed edges of every path.

    Returns
    -------
    (paths, arc_paths)
        Per node the node-index paths and, aligned with them, the lists of
        their directed edge indices (into ``tail``/``head``), source first.
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    H = int(hop_bound)
    wd = int(width or k)
    out, arcs, ok = _ksp_pass(n_nodes, tail, head, weight, src, H, k, wd)
    if ok.all():
        return out, arcs
    # a few pairs whose cheap alternatives are buried under walks with cycles:
    # Yen's k shortest (python-igraph), those within the hop bound
    yen = _yen_searcher(n_nodes, tail, head, weight)
    for v in np.flatnonzero(~ok).tolist():
        eps = yen.hop_bounded(src, v, k, H, max_k=max_k)
        out[v] = [[src] + head[ep].tolist() for ep in eps]
        arcs[v] = [ep.tolist() for ep in eps]
    return out, arcs


class _YenSearcher:
    """Yen's k shortest loopless paths (python-igraph) on the part of the
    graph that can hold them.

    Every s-d path of cost <= U only uses edges (u, v) with
    ``dist(s, u) + w(u, v) + dist(v, d) <= U``; Yen on that subgraph returns
    the k shortest paths of the whole graph once its k-th path costs <= U
    (otherwise U grows).  Distances to a destination are kept for later
    sources (the weights do not change within one planning run).
    """

    SLACK = 1e-9  # relative margin on U against round-off in the distance sums

    def __init__(self, n_nodes, tail, head, weight):
        import igraph as ig

        self.ig = ig
        self.n, self.tail, self.head, self.w = n_nodes, tail, head, weight
        self.g = ig.Graph(n=n_nodes, edges=list(zip(tail.tolist(), head.tolist())), directed=True)
        self.g.es["w"] = weight.tolist()
        self._from: dict = {}
        self._to: dict = {}
        self.calls = 0
        self.full_calls = 0

    def _dist(self, cache, v, mode):
        hit = cache.get(v)
        if hit is None:
            if len(cache) > 4096:
                cache.clear()
            hit = np.array(self.g.distances(source=[v], weights="w", mode=mode)[0], dtype=float)
            cache[v] = hit
        return hit

    def k_shortest(self, s, d, kk):
        """Yen's ``kk`` shortest s-d paths, as arrays of edge indices."""
        self.calls += 1
        ds = self._dist(self._from, s, "out")
        dt = self._dist(self._to, d, "in")
        base = ds[d]
        if not np.isfinite(base):
            return []
        through = ds[self.tail] + self.w + dt[self.head]
        finite = np.isfinite(through)
        slack = 0.05 * max(base, 1e-12)
        while True:
            u = base + slack
            keep = np.flatnonzero(through <= u * (1 + self.SLACK))
            whole = keep.size == int(finite.sum())
            nodes = np.unique(np.r_[self.tail[keep], self.head[keep]])
            sub = self.ig.Graph(n=nodes.size, directed=True,
                                edges=list(zip(np.searchsorted(nodes, self.tail[keep]).tolist(),
                                               np.searchsorted(nodes, self.head[keep]).tolist())))
            sub.es["w"] = self.w[keep].tolist()
            eps = sub.get_k_shortest_paths(int(np.searchsorted(nodes, s)),
                                           to=int(np.searchsorted(nodes, d)), k=kk + 1, weights="w",
                                           output="epath")
            eps = [keep[np.asarray(ep, dtype=np.int64)] for ep in eps]
            costs = [float(self.w[ep].sum()) for ep in eps]
            if whole or (len(eps) > kk and costs[kk] <= u):
                break
            slack *= 3
        if any(b - a <= 1e-12 * b for a, b in zip(costs, costs[1:])):
            # equal costs: their order (and which of them are in) is Yen's on
            # the whole graph, so ask that
            self.full_calls += 1
            eps = self.g.get_k_shortest_paths(s, to=d, k=kk, weights="w", output="epath")
            return [np.asarray(ep, dtype=np.int64) for ep in eps]
        return eps[:kk]

    def hop_bounded(self, s, d, k, hop_bound, max_k=None):
        """The k shortest loopless s-d paths with at most ``hop_bound`` links
        among Yen's kk shortest, kk growing x4 from k up to ``max_k`` (default 1024)."""
        kk = k
        max_k = max_k or 1024
        while True:
            eps = self.k_shortest(s, d, kk)
            good = [ep for ep in eps if ep.size <= hop_bound]
            if len(good) >= k or len(eps) < kk or kk >= max_k:
                return good[:k]
            kk *= 4


_YEN: dict = {}


def _yen_searcher(n, tail, head, weight):
    key = (n, tail.tobytes(), head.tobytes(), weight.tobytes())
    hit = _YEN.get(key)
    if hit is None:
        _YEN.clear()
        hit = _YEN[key] = _YenSearcher(n, tail, head, weight)
    return hit


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
    """The layered pass of :func:`k_shortest_simple_paths_from`.

    Returns ``(paths, arcs, ok)``: per node up to ``k`` node paths and their
    directed edges, cheapest first, and whether the node's answer is certified.
    Ties go, at every step, to the earlier entry in a fixed order (layers:
    predecessor transition, then rank; per node: hops, incoming edge, rank).
    """
    E2 = tail.size
    by_tail = np.argsort(tail, kind="stable")
    deg = np.bincount(tail, minlength=n)
    start = np.r_[0, np.cumsum(deg)]
    tr_from, tr_to = _transitions(tail, head, n)
    into = head[tr_to] != src  # walks never return to the source
    tr_from, tr_to = tr_from[into], tr_to[into]
    cost = np.full((H + 1, E2, wd), np.inf)
    pstate = np.full((H + 1, E2, wd), -1, dtype=np.int64)
    prank = np.full((H + 1, E2, wd), -1, dtype=np.int64)
    first_edges = by_tail[start[src]:start[src + 1]]
    if H >= 1:
        cost[1, first_edges, 0] = weight[first_edges]
    # target states grouped by their number d of predecessor states, the
    # predecessors of each in transition order
    g_order = np.argsort(tr_to, kind="stable")
    g_to = tr_to[g_order]
    g_from = tr_from[g_order]
    n_in = np.bincount(g_to, minlength=E2)
    g_start = np.cumsum(n_in) - n_in
    buckets = []
    for d in np.unique(n_in[n_in > 0]).tolist():
        f = np.flatnonzero(n_in == d)
        preds = g_from[g_start[f][:, None] + np.arange(d)]
        buckets.append((d, f, preds, weight[f][:, None, None]))
    ranks = np.arange(wd)
    last = min(H, 1)
    for h in range(2, H + 1):
        prev, cur = cost[h - 1], cost[h]
        for d, f, preds, w in buckets:
            c = prev[preds] + w  # (states, d, wd); each predecessor's row is sorted
            if d == 1:
                cur[f] = c[:, 0]
                pstate[h][f] = preds
                prank[h][f] = ranks
                continue
            c = c.reshape(f.size, d * wd)
            top = np.argsort(c, axis=1, kind="stable")[:, :wd]
            cur[f] = np.take_along_axis(c, top, axis=1)
            pstate[h][f] = np.take_along_axis(preds, top // wd, axis=1)
            prank[h][f] = top % wd
        if not np.isfinite(cur[:, 0]).any():
            cur[:] = np.inf
            break
        last = h
    H = last
    cost = cost[: H + 1]
    # per node: the m cheapest labels of the states entering it (order: hops, edge, rank)
    by_head = np.argsort(head, kind="stable")
    hdeg = np.bincount(head, minlength=n)
    maxd = int(hdeg.max()) if n else 0
    hstart = np.cumsum(hdeg) - hdeg
    m = min((H + 1) * maxd * wd, 2 * k + 2 + 2 * (wd - k))
    lab_cost = np.full((n, m), np.inf)
    lab_h = np.zeros((n, m), dtype=np.int64)
    lab_e = np.zeros((n, m), dtype=np.int64)
    lab_r = np.zeros((n, m), dtype=np.int64)
    n_fin = np.zeros(n, dtype=np.int64)
    for D in np.unique(hdeg[hdeg > 0]).tolist():
        v = np.flatnonzero(hdeg == D)
        ins = by_head[hstart[v][:, None] + np.arange(D)]  # (nodes, D)
        flat = cost[:, ins, :].transpose(1, 0, 2, 3).reshape(v.size, -1)  # column (h, j, r)
        n_fin[v] = np.isfinite(flat).sum(axis=1)
        if flat.shape[1] < m:
            flat = np.concatenate([flat, np.full((v.size, m - flat.shape[1]), np.inf)], axis=1)
        cols = _smallest_stable(flat, m)
        lab_cost[v] = np.take_along_axis(flat, cols, axis=1)
        real = cols < (H + 1) * D * wd
        cc = np.where(real, cols, 0)
        lab_h[v] = cc // (D * wd)
        lab_e[v] = np.take_along_axis(ins, (cc // wd) % D, axis=1)
        lab_r[v] = cc % wd
    # walk every finite label back to the source: nodes and edges of each
    fin = np.isfinite(lab_cost.ravel())
    rows = np.flatnonzero(fin)
    hh = lab_h.ravel()[rows].copy()
    ee = lab_e.ravel()[rows].copy()
    rr = lab_r.ravel()[rows].copy()
    R = rows.size
    seq = np.full((R, H + 1), -1, dtype=np.int64)
    arc = np.full((R, H + 1), -1, dtype=np.int64)
    seq[:, 0] = src
    at = np.arange(R)
    seq[at, hh] = head[ee]
    arc[at, hh] = ee
    active = np.flatnonzero(hh > 1)
    while active.size:
        a = active
        pe = pstate[hh[a], ee[a], rr[a]]
        pr = prank[hh[a], ee[a], rr[a]]
        hh[a] -= 1
        ee[a] = pe
        rr[a] = pr
        seq[a, hh[a]] = head[pe]
        arc[a, hh[a]] = pe
        active = a[hh[a] > 1]
    # loopless: no node twice (the -1 padding made distinct first)
    srt = np.sort(np.where(seq < 0, -np.arange(1, H + 2)[None, :], seq), axis=1)
    simple = np.zeros(n * m, dtype=bool)
    simple[rows] = ~np.any(srt[:, 1:] == srt[:, :-1], axis=1)
    simple = simple.reshape(n, m)
    # the first k loopless labels per node, and the cost of the k-th
    rank_simple = np.cumsum(simple, axis=1)
    pick = simple & (rank_simple <= k)
    n_pick = pick.sum(axis=1)
    kth = np.full(n, np.inf)
    has_k = n_pick == k
    kpos = np.argmax(pick & (rank_simple == k), axis=1)
    kth[has_k] = lab_cost[np.flatnonzero(has_k), kpos[has_k]]
    # certified unless a layer cut at a state entering the node held a cheaper walk
    last_cost = cost[:, :, wd - 1]  # finite where the layer was cut at that state
    state_min = last_cost.min(axis=0)
    node_min = np.full(n, np.inf)
    np.minimum.at(node_min, head, state_min)
    ok = np.where(has_k, ~(node_min < kth), ~((n_fin > m) | np.isfinite(node_min)))
    ok[src] = True
    # paths out, per node in label order
    where_row = np.full(n * m, -1, dtype=np.int64)
    where_row[rows] = np.arange(R)
    sel = where_row[np.flatnonzero(pick.ravel())]
    sel_node = np.flatnonzero(pick.ravel()) // m
    lens = (seq[sel] >= 0).sum(axis=1)
    seq_flat = seq[sel][seq[sel] >= 0].tolist()
    arc_sel = arc[sel]
    arc_flat = arc_sel[arc_sel >= 0].tolist()
    out = [[] for _ in range(n)]
    out_arcs = [[] for _ in range(n)]
    o = oa = 0
    for v, ln in zip(sel_node.tolist(), lens.tolist()):
        if v == src:
            continue
        out[v].append(seq_flat[o:o + ln])
        out_arcs[v].append(arc_flat[oa:oa + ln - 1])
        o += ln
        oa += ln - 1
    return out, out_arcs, ok


def _smallest_stable(x, m):
    """Per row of ``x``, the columns of its ``m`` smallest entries in the order
    of a stable sort (ties by column)."""
    if x.shape[1] <= m:
        return np.argsort(x, axis=1, kind="stable")[:, :m]
    kth = np.partition(x, m - 1, axis=1)[:, m - 1:m]
    lt = x < kth
    eq = x == kth
    need = m - lt.sum(axis=1, keepdims=True)
    take = lt | (eq & (np.cumsum(eq, axis=1) <= need))
    r, c = np.nonzero(take)  # m per row, row-major
    c = c.reshape(x.shape[0], m)
    o = np.argsort(np.take_along_axis(x, c, axis=1), axis=1, kind="stable")
    return np.take_along_axis(c, o, axis=1)


def min_cost_walks(n_nodes, tail, head, cost, src, hop_bound):
    """Cheapest walk of at most ``hop_bound`` links from ``src`` to every node.

    Costs may be negative.  The walks are *non-backtracking* (never an edge
    followed by its reverse) and never return to ``src``; every simple path
    is such a walk, so the minimum over these walks is <= the minimum over
    the simple paths within the hop bound (exact layered dynamic programme
    over directed-edge states, one layer per hop).

    Parameters
    ----------
    n_nodes : int
    tail, head : int arrays
        Directed edges (both directions of every link).
    cost : float array
        Cost per directed edge, any sign.
    src : int
    hop_bound : int

    Returns
    -------
    (label, walks)
        ``label`` per node (``inf`` where unreachable, ``0`` at ``src``) and
        ``walks``, per node the list of directed edge indices of its cheapest
        walk (``None`` where unreachable, ``[]`` at ``src``).
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    cost = np.asarray(cost, dtype=float)
    E2 = tail.size
    tr_from, tr_to = _transitions(tail, head, n_nodes)
    keep = head[tr_to] != src
    tr_from, tr_to = tr_from[keep], tr_to[keep]
    order = np.lexsort((tr_from, tr_to))
    tr_from, tr_to = tr_from[order], tr_to[order]
    grp = np.flatnonzero(np.r_[True, tr_to[1:] != tr_to[:-1]]) if tr_to.size else np.zeros(0, int)
    gto = tr_to[grp]
    by_head = np.argsort(head, kind="stable")
    hgrp = np.flatnonzero(np.r_[True, head[by_head][1:] != head[by_head][:-1]])
    hnode = head[by_head][hgrp]
    lab = np.full(E2, np.inf)
    first = (tail == src) & (head != src)
    lab[first] = cost[first]
    best = np.full(n_nodes, np.inf)
    best_state = np.full(n_nodes, -1, dtype=np.int64)
    best_layer = np.zeros(n_nodes, dtype=np.int64)
    preds = [None, None]  # no predecessor at layers 0 and 1

    def settle(layer):
        vals = lab[by_head]
        m = np.minimum.reduceat(vals, hgrp)
        better = m < best[hnode]
        if better.any():
            # the first state reaching the minimum, per node
            pos = np.flatnonzero(vals == np.repeat(m, np.diff(np.r_[hgrp, E2])))
            node_of = head[by_head][pos]
            firstpos = {}
            for q, v in zip(pos.tolist(), node_of.tolist()):
                firstpos.setdefault(v, q)
            for v in hnode[better].tolist():
                best[v] = lab[by_head[firstpos[v]]]
                best_state[v] = by_head[firstpos[v]]
                best_layer[v] = layer

    settle(1)
    for h in range(2, int(hop_bound) + 1):
        if tr_to.size == 0:
            break
        cand = lab[tr_from] + cost[tr_to]
        m = np.minimum.reduceat(cand, grp)
        if not np.isfinite(m).any():
            break
        is_min = cand == np.repeat(m, np.diff(np.r_[grp, cand.size]))
        idx = np.flatnonzero(is_min)
        g_of = np.searchsorted(grp, idx, side="right") - 1
        firsts = idx[np.r_[True, g_of[1:] != g_of[:-1]]]
        pred = np.full(E2, -1, dtype=np.int64)
        lab = np.full(E2, np.inf)
        lab[gto] = m
        pred[tr_to[firsts]] = tr_from[firsts]
        preds.append(pred)
        settle(h)
    best[src] = 0.0
    walks = [None] * n_nodes
    walks[src] = []
    for v in np.flatnonzero(np.isfinite(best)).tolist():
        if v == src:
            continue
        e, h = int(best_state[v]), int(best_layer[v])
        seq = [e]
        while h > 1:
            e = int(preds[h][e])
            h -= 1
            seq.append(e)
        seq.reverse()
        walks[v] = seq
    return best, walks
