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

__all__ = ["hop_bounded_paths", "k_shortest_simple_paths_from", "min_cost_walks"]


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
