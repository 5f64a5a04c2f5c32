"""Pricing over walks without short cycles: the column generation step of the relaxation.

Concern: pure graph search with signed link costs; no routing state.  Graphs
are arrays of directed edges (``tail``, ``head``; both directions of every
link), nodes ``0 .. n_nodes - 1``, as in :mod:`~cppsns3.model.routing.paths`.

:func:`min_cost_cycle_free_walks` finds, from one source to every node, the
cheapest walk of at most ``hop_bound`` links in which no node repeats within
any ``window + 1`` consecutive nodes (so the walk has no cycle of up to
``window + 1`` links) and which never returns to the source.  Every simple
path within the hop bound is such a walk, so its minimum is a lower bound of
the minimum over simple paths; ``window = 1`` gives the non-backtracking
walks of :func:`~cppsns3.model.routing.paths.min_cost_walks`, and
``window >= hop_bound - 2`` gives exactly the simple paths (a walk of at most
``hop_bound`` links that never returns to its source has no cycle of more
than ``hop_bound - 1`` links).

Method: an exact layered dynamic programme whose state is the walk's last
``window`` links (a simple sequence of links); layers up to ``window`` are the
simple paths from the source themselves.  The state space of a graph and
window is built once and cached.
"""

from __future__ import annotations

import numpy as np

__all__ = ["min_cost_cycle_free_walks", "cycle_free_window", "CycleFreeStates"]


class CycleFreeStates:
    """Simple link sequences of length 1..window and the moves between those of length ``window``.

    Attributes
    ----------
    seqs : list of int arrays
        ``seqs[j - 1]``: shape ``(N_j, j)``, the simple directed-edge sequences
        of ``j`` links (no node twice, consecutive edges joined).
    trans_from, trans_to, trans_edge : int arrays
        Moves ``a -> b`` between sequences of ``window`` links: ``b`` is ``a``
        without its first edge plus ``trans_edge``, whose head is none of the
        ``window + 1`` nodes of ``a``.  Sorted by ``trans_to``.
    """

    def __init__(self, n_nodes, tail, head, window, max_states=None):
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        self.window = int(window)
        order = np.argsort(tail, kind="stable")
        deg = np.bincount(tail, minlength=n_nodes)
        start = np.r_[0, np.cumsum(deg)]
        out_edges = [order[start[v]:start[v + 1]] for v in range(n_nodes)]
        seqs = [np.arange(tail.size, dtype=np.int64)[:, None]]
        nodes = [np.stack([tail, head], axis=1)]
        for _ in range(1, self.window):
            prev, pn = seqs[-1], nodes[-1]
            if max_states is not None and prev.shape[0] * max(1, int(deg.max()) - 1) > max_states:
                # the next level could exceed the budget: count it before building it
                last = head[prev[:, -1]]
                if int((deg[last] - 1).clip(0).sum()) > max_states:
                    break
            last = head[prev[:, -1]]
            cnt = deg[last]
            rows = np.repeat(np.arange(prev.shape[0]), cnt)
            off = np.arange(rows.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            f = order[start[last[rows]] + off]
            ok = ~np.any(pn[rows] == head[f][:, None], axis=1)
            rows, f = rows[ok], f[ok]
            seqs.append(np.concatenate([prev[rows], f[:, None]], axis=1))
            nodes.append(np.concatenate([pn[rows], head[f][:, None]], axis=1))
        self.window = len(seqs)
        self.seqs = seqs
        self.nodes = nodes
        top, tn = seqs[-1], nodes[-1]
        last = head[top[:, -1]]
        cnt = deg[last]
        rows = np.repeat(np.arange(top.shape[0]), cnt)
        off = np.arange(rows.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        f = order[start[last[rows]] + off]
        ok = ~np.any(tn[rows] == head[f][:, None], axis=1)
        rows, f = rows[ok], f[ok]
        # index of the successor state (a[1:], f) among the top sequences
        key_of = {tuple(s): i for i, s in enumerate(top.tolist())}
        succ = np.concatenate([top[rows, 1:], f[:, None]], axis=1)
        to = np.fromiter((key_of[tuple(s)] for s in succ.tolist()), dtype=np.int64, count=rows.size)
        srt = np.argsort(to, kind="stable")
        self.trans_from, self.trans_to, self.trans_edge = rows[srt], to[srt], f[srt]
        self.first_tail = [tail[s[:, 0]] for s in seqs]
        self.last_head = [head[s[:, -1]] for s in seqs]
        del out_edges


_CACHE: dict = {}


def _states(n_nodes, tail, head, window, max_states=None) -> CycleFreeStates:
    key = (n_nodes, window, max_states, tail.tobytes(), head.tobytes())
    hit = _CACHE.get(key)
    if hit is None:
        if len(_CACHE) > 8:
            _CACHE.clear()
        hit = _CACHE[key] = CycleFreeStates(n_nodes, tail, head, window, max_states)
    return hit


def cycle_free_window(n_nodes, tail, head, hop_bound, max_states) -> int:
    """The largest window <= ``hop_bound`` whose states (link sequences) stay within
    about ``max_states`` (at least 1); ``hop_bound`` itself means simple paths."""
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    return _states(n_nodes, tail, head, max(1, int(hop_bound)), max_states).window


def min_cost_cycle_free_walks(n_nodes, tail, head, cost, src, hop_bound, window, max_states=None):
    """Cheapest walk within ``hop_bound`` links from ``src`` to every node, no cycle of up to ``window + 1`` links.

    Parameters
    ----------
    n_nodes : int
    tail, head : int arrays
        Directed edges (both directions of every link).
    cost : float array
        Cost per directed edge, any sign.
    src : int
    hop_bound : int
    window : int
        No node repeats within ``window + 1`` consecutive nodes of the walk
        (``window >= hop_bound``: simple paths only).
    max_states : int, optional
        Build at most about this many states: the window shrinks to fit
        (:func:`cycle_free_window` tells which window that is).

    Returns
    -------
    (label, walks)
        ``label`` per node (``inf`` where unreachable, ``0`` at ``src``) and
        ``walks``, per node the directed edge indices of one cheapest walk
        (``None`` where unreachable, ``[]`` at ``src``).
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    cost = np.asarray(cost, dtype=float)
    H = int(hop_bound)
    w = max(1, min(int(window), H))
    S = _states(n_nodes, tail, head, w, max_states)
    w = S.window
    best = np.full(n_nodes, np.inf)
    arg = [None] * n_nodes  # (layer, state index)
    lab = None
    for j in range(1, w + 1):
        seq, nod = S.seqs[j - 1], S.nodes[j - 1]
        ok = (S.first_tail[j - 1] == src) & ~np.any(nod[:, 1:] == src, axis=1)
        c = np.where(ok, cost[seq].sum(axis=1), np.inf)
        _settle(best, arg, c, S.last_head[j - 1], j)
        lab = c
    preds = []
    tf, tt, te = S.trans_from, S.trans_to, S.trans_edge
    keep = head[te] != src
    tf, tt, te = tf[keep], tt[keep], te[keep]
    grp = np.flatnonzero(np.r_[True, tt[1:] != tt[:-1]]) if tt.size else np.zeros(0, np.int64)
    gto = tt[grp]
    top_head = S.last_head[w - 1]
    for h in range(w + 1, H + 1):
        if tt.size == 0:
            break
        cand = lab[tf] + cost[te]
        m = np.minimum.reduceat(cand, grp)
        if not np.isfinite(m).any():
            break
        am = _first_min(cand, grp, m)
        new = np.full(lab.size, np.inf)
        new[gto] = m
        pred = np.full(lab.size, -1, dtype=np.int64)
        pred[gto] = tf[am]
        preds.append(pred)
        lab = new
        _settle(best, arg, lab, top_head, h)
    best[src] = 0.0
    walks = [None] * n_nodes
    walks[src] = []
    for v in np.flatnonzero(np.isfinite(best)).tolist():
        if v == src:
            continue
        h, i = arg[v]
        if h <= w:
            walks[v] = S.seqs[h - 1][i].tolist()
            continue
        tailpart = []
        while h > w:
            tailpart.append(int(S.seqs[w - 1][i][-1]))
            i = int(preds[h - w - 1][i])
            h -= 1
        walks[v] = S.seqs[w - 1][i].tolist() + tailpart[::-1]
    return best, walks


def _first_min(vals, starts, mins):
    """Index (into ``vals``) of the first minimum of each segment starting at ``starts``."""
    hit = np.flatnonzero(vals == np.repeat(mins, np.diff(np.r_[starts, vals.size])))
    seg = np.searchsorted(starts, hit, side="right") - 1
    first = np.r_[True, seg[1:] != seg[:-1]]
    out = np.zeros(starts.size, dtype=np.int64)  # segments all inf: any index (label stays inf)
    out[seg[first]] = hit[first]
    return out


def _settle(best, arg, lab, last_head, layer):
    fin = np.isfinite(lab)
    if not fin.any():
        return
    idx = np.flatnonzero(fin)
    v = last_head[idx]
    c = lab[idx]
    o = np.lexsort((c, v))
    v, c, idx = v[o], c[o], idx[o]
    first = np.r_[True, v[1:] != v[:-1]]
    for node, val, i in zip(v[first].tolist(), c[first].tolist(), idx[first].tolist()):
        if val < best[node]:
            best[node] = val
            arg[node] = (layer, i)
