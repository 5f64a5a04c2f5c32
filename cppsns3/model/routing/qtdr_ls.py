"""QT-DR-LS (``qtdr-ls``): QT-DR's constraints, a richer candidate set and an improvement phase.

Concern: one integral routing (one path per flow) of low Load_B under the
constraints of Eq. 4, started from the fractional optimum of the relaxation
(:mod:`~cppsns3.model.routing.relax`).  Flows, rates and the order of the
terminals are those of QT-DR (:mod:`~cppsns3.model.routing.routers`).

Candidates per flow (all simple, within the hop bound)
    * the relaxation's columns that are simple paths (its fractional optimum
      puts weight on them);
    * the ``yen_k`` delay-shortest loopless paths (QT-DR's candidates);
    * the widest path (max-min residual bandwidth) on the residuals of the
      fractional optimum, ties to lower delay;
    * paths priced during the improvement phase (below).

Rounding
    Flows are taken in QT-DR's order (terminals by volume, destinations in node
    order); each gets, among its candidates that meet the constraints, the one
    of largest fractional weight (the delay-shortest path where the
    relaxation gave it none).

Improvement (local search)
    Sweeps over all flows: every flow's candidates are evaluated at once (the
    exact change of the residuals' variance when the flow leaves its path for
    the candidate, :func:`_variance_after`); the improving moves are then made
    in order of gain, each checked again at the loads of the moment.  Once a
    sweep lowers Load_B by less than :data:`SWEEP_STOP_RATIO`, every terminal
    prices one new candidate per destination: the cheapest walk within the
    hop bound under the linearised change of the variance (link cost
    ``-(2/m)(RB_e - mean RB)``), without short cycles as in the relaxation
    (:func:`~cppsns3.model.routing.pricing.min_cost_cycle_free_walks`), kept
    if it is a simple path.  The phase ends when pricing adds no candidate, after
    :data:`MAX_PRICING` pricing passes or :data:`MAX_SWEEPS` sweeps.  Load_B
    never rises, so the result is never worse than the rounding.

Constraints during the search
    Hop bound: every candidate is within it.  Bandwidth: ``RB_e - r > 0`` on
    the links a move adds.  Delay: a path whose load-independent upper bound
    (``L/v + K/mu + t_wait/(K+1)`` per hop) is within ``delay_bound_ms`` can
    never break it; a move onto a path that is not, or onto ports used by a
    flow whose path is not, is checked with the exact Eq. 2 delays at the new
    loads and refused if any of them breaks the bound.
"""

from __future__ import annotations

import numpy as np

from cppsns3.model.delay import path_delay_s, port_hop_cost_s
from cppsns3.model.routing.paths import hop_bounded_paths, k_shortest_simple_paths_from
from cppsns3.model.routing.pricing import cycle_free_window, min_cost_cycle_free_walks
from cppsns3.model.routing.state import RoutingState

__all__ = ["route_qtdr_ls", "MAX_SWEEPS", "MAX_PRICING", "SWEEP_STOP_RATIO"]

#: Most local-search sweeps.
MAX_SWEEPS = 60
#: Sweeps stop (and pricing starts) once a sweep lowers Load_B by less than this share.
SWEEP_STOP_RATIO = 1e-3
#: Most pricing passes (each after the sweeps stopped moving flows).
MAX_PRICING = 4
#: A move must lower the variance of the residuals by more than this share.
MIN_GAIN_RATIO = 1e-9


def _nodes_of(ports, tail, head):
    return [int(tail[ports[0]])] + [int(head[p]) for p in ports]


def _variance_after(s1, s2, m, r, hp, hq, xp, xq, inter):
    """Variance of the residuals once a flow of rate ``r`` moves from path P to Q.

    ``s1``, ``s2``: sums of ``x = RB - c`` and ``x^2`` over the ``m`` links
    now; ``hp``, ``hq``: links of P and Q; ``xp``, ``xq``: sums of ``x`` over
    them; ``inter``: links they share.  ``x`` becomes ``x + r (p - q)``.
    Scalars or arrays (one entry per candidate Q).
    """
    t1 = s1 + r * (hp - hq)
    t2 = s2 + 2.0 * r * (xp - xq) + r * r * (hp + hq - 2 * inter)
    return t2 / m - (t1 / m) ** 2


class _Search:
    """Flows, their candidates (grouped by flow) and moves between them."""

    def __init__(self, st: RoutingState, flows):
        self.st = st
        self.flows = flows                      # [(s, d, rate)]
        self.rate = np.array([f[2] for f in flows], dtype=float)
        self.m = st.E
        self.cands = [[] for _ in flows]        # per flow: list of port tuples
        self.seen = [set() for _ in flows]
        self.cur = [None] * len(flows)          # index into cands[k]
        self.ub = np.asarray(st.ub_list)        # per-port delay upper bound terms
        self._built = None

    def add(self, k, ports) -> bool:
        key = tuple(int(p) for p in ports)
        if not key or key in self.seen[k] or len(key) > self.st.hop_bound:
            return False
        nodes = _nodes_of(key, self.st.tail, self.st.head)
        if len(set(nodes)) != len(nodes) or nodes[-1] != self.flows[k][1]:
            return False
        self.seen[k].add(key)
        self.cands[k].append(key)
        self._built = None
        return True

    def place(self, k, j):
        st = self.st
        s, d, rate = self.flows[k]
        ports = list(self.cands[k][j])
        # the search's own state keeps no node paths (the final state is rebuilt)
        if self.cur[k] is not None:
            st.commit(s, d, None, list(self.cands[k][self.cur[k]]), -rate)
        st.commit(s, d, None, ports, rate)
        self.cur[k] = j

    def _build(self):
        if self._built is None:
            n_c = np.fromiter((len(c) for c in self.cands), dtype=np.int64, count=len(self.cands))
            lens = np.fromiter((len(p) for c in self.cands for p in c), dtype=np.int64, count=int(n_c.sum()))
            ports = np.fromiter((x for c in self.cands for p in c for x in p), dtype=np.int64,
                                count=int(lens.sum()))
            offs = np.r_[0, np.cumsum(lens)[:-1]]
            first = np.r_[0, np.cumsum(n_c)[:-1]]
            c_flow = np.repeat(np.arange(len(self.cands)), n_c)
            self._built = (ports, ports >> 1, offs, lens, first, c_flow,
                           np.repeat(c_flow, lens), np.add.reduceat(self.ub[ports], offs))
        return self._built

    def sweep(self) -> int:
        """Evaluate every flow's moves at once, then make the improving ones in
        order of gain, each checked again at the loads of the moment."""
        st = self.st
        ports, links, offs, lens, first, c_flow, e_flow, ubs = self._build()
        m = self.m
        cur = first + np.asarray(self.cur)
        rb = st.rb
        x = rb - rb.mean()
        var0 = float(np.mean(x * x))
        cur_keys = np.sort(np.repeat(np.arange(len(self.flows)), lens[cur]) * m +
                           np.concatenate([links[offs[c]:offs[c] + lens[c]] for c in cur]))
        ekey = e_flow * m + links
        pos = np.minimum(np.searchsorted(cur_keys, ekey), cur_keys.size - 1)
        onp = cur_keys[pos] == ekey
        xs = np.add.reduceat(x[links], offs)
        inter = np.add.reduceat(onp.astype(np.int64), offs)
        r = self.rate[c_flow]
        cc = cur[c_flow]
        var = _variance_after(0.0, var0 * m, m, r, lens[cc], lens, xs[cc], xs, inter)
        bad = np.add.reduceat(((rb[links] - self.rate[e_flow]) <= 0) & ~onp, offs) > 0
        var[bad] = np.inf
        var[cur] = np.inf
        best = np.minimum.reduceat(var, first)
        gain = var0 - best
        todo = np.flatnonzero(gain > MIN_GAIN_RATIO * var0)
        moved = 0
        for k in todo[np.argsort(-gain[todo], kind="stable")].tolist():
            lo = first[k]
            js = np.flatnonzero(var[lo:lo + len(self.cands[k])] == best[k])
            j = int(js[0])
            if self._still_better(k, j) and (ubs[lo + j] <= st.bound_s or self._delay_ok(k, j)):
                self.place(k, j)
                moved += 1
        return moved

    def _still_better(self, k, j):
        st = self.st
        r = self.flows[k][2]
        old = [p >> 1 for p in self.cands[k][self.cur[k]]]
        new = [p >> 1 for p in self.cands[k][j]]
        rbl = st.rb_list
        if min([rbl[e] for e in set(new) - set(old)], default=np.inf) - r <= 0:
            return False
        tr = st.tracker
        c = tr.shift
        xp = sum([rbl[e] for e in old]) - c * len(old)
        xq = sum([rbl[e] for e in new]) - c * len(new)
        var0 = tr.s2 / tr.n - (tr.s1 / tr.n) ** 2
        after = _variance_after(tr.s1, tr.s2, tr.n, r, len(old), len(new), xp, xq, len(set(old) & set(new)))
        return after < var0 - MIN_GAIN_RATIO * abs(var0)

    def _delay_ok(self, k, j):
        """Exact Eq. 2 check of candidate j of flow k at the loads after the move."""
        st = self.st
        s, d, r = self.flows[k]
        new = list(self.cands[k][j])
        old = list(self.cands[k][self.cur[k]])
        load = st.port_flow.copy()
        load[old] -= r
        load[new] += r
        if np.any(load >= st.port_bw):
            return False
        cost = port_hop_cost_s(load, st.port_bw, st.mean_pkt, st.K, st.t_wait)
        if path_delay_s(new, st.prop, cost) > st.bound_s:
            return False
        touched = set(new) - set(old)
        for kk in range(len(self.flows)):
            if kk == k:
                continue
            p = self.cands[kk][self.cur[kk]]
            if touched.isdisjoint(p):
                continue
            if self.ub[list(p)].sum() > st.bound_s and path_delay_s(list(p), st.prop, cost) > st.bound_s:
                return False
        return True


def route_qtdr_ls(network, scenario, relaxation=None) -> RoutingState:
    """QT-DR-LS (see the module docstring).

    Parameters
    ----------
    network : CppsNetwork
    scenario : Scenario
    relaxation : Relaxation, optional
        :func:`~cppsns3.model.routing.relax.solve_relaxation` of the same
        network and scenario (computed here if not given and
        :func:`~cppsns3.model.routing.relax.bound_affordable`; without one the
        candidates are QT-DR's, the shortest-delay and the widest paths, and
        pricing).

    Returns
    -------
    RoutingState

    Raises
    ------
    NoFeasiblePath
        If a pair has no candidate that meets the constraints.
    """
    from cppsns3.model.routing.relax import (
        PRICING_MAX_STATES, bound_affordable, demand_flows, solve_relaxation,
    )
    from cppsns3.model.routing.routers import _sources

    if relaxation is None and bound_affordable(network, scenario):
        relaxation = solve_relaxation(network, scenario)
    st = RoutingState(network, scenario)
    flows = list(relaxation.flows) if relaxation is not None else demand_flows(network, scenario)
    fidx = {(s, d): k for k, (s, d, _) in enumerate(flows)}
    srch = _Search(st, flows)
    weight = [dict() for _ in flows]
    # 1. candidates: the relaxation's simple columns, by weight
    load = np.zeros(st.E)
    for k, cols in enumerate(relaxation.columns if relaxation is not None else ()):
        r = flows[k][2]
        for edges, w in sorted(cols, key=lambda c: -c[1]):
            load[np.asarray(edges, dtype=np.int64) >> 1] += w * r
            if srch.add(k, edges):
                weight[k][tuple(edges)] = w
    rb_frac = np.repeat(st.bw - load, 2)
    srcs = _sources(scenario, network)
    for s, rate in srcs:
        ksp = k_shortest_simple_paths_from(st.n, st.tail, st.head, st.zero_load_cost, s,
                                           st.hop_bound, scenario.yen_k, max_k=scenario.yen_k)
        tree = hop_bounded_paths(st.n, st.tail, st.head, st.zero_load_cost, s, st.hop_bound)[1]
        wide = hop_bounded_paths(st.n, st.tail, st.head, rb_frac, s, st.hop_bound, mode="widest",
                                 tie=st.zero_load_cost)[1]
        for d in range(st.n):
            if d == s:
                continue
            k = fidx[(s, d)]
            for nodes in [tree[d]] + list(ksp[d]) + [wide[d]]:
                if nodes is not None and len(nodes) > 1:
                    srch.add(k, st.ports_of(nodes))
    # 2. rounding: largest weight first, among the candidates that meet the constraints
    for k, (s, d, rate) in enumerate(flows):
        cands = srch.cands[k]
        order = sorted(range(len(cands)), key=lambda j: (-weight[k].get(cands[j], 0.0), j))
        reasons = []
        for j in order:
            nodes = _nodes_of(cands[j], st.tail, st.head)
            why = st.violation(nodes, list(cands[j]), rate)
            if why is None:
                srch.place(k, j)
                break
            reasons.append(why)
        else:
            if not cands:
                raise st.no_path(s, d, st.diagnose(s, d, rate))
            raise st.no_path(s, d, max(set(reasons), key=reasons.count))
    # 3. improvement: sweeps of single-flow moves; pricing once they stop moving
    pricing = 0
    window = cycle_free_window(st.n, st.tail, st.head, st.hop_bound, PRICING_MAX_STATES)
    for _ in range(MAX_SWEEPS):
        before = st.tracker.value
        if srch.sweep() and st.tracker.value < before * (1.0 - SWEEP_STOP_RATIO):
            continue
        if pricing == MAX_PRICING:
            break
        pricing += 1
        dev = st.rb - st.rb.mean()
        edge_cost = np.repeat(-(2.0 / st.E) * dev, 2)
        added = 0
        for s, _ in srcs:
            _, walks = min_cost_cycle_free_walks(st.n, st.tail, st.head, edge_cost, s, st.hop_bound,
                                                 window)
            for d in range(st.n):
                if d != s and walks[d]:
                    added += srch.add(fidx[(s, d)], walks[d])
        if not added:
            break
    # a clean state: the final paths committed on fresh residuals
    out = RoutingState(network, scenario)
    for k, (s, d, rate) in enumerate(flows):
        ports = list(srch.cands[k][srch.cur[k]])
        out.commit(s, d, _nodes_of(ports, st.tail, st.head), ports, rate)
    return out


#: :func:`~cppsns3.model.routing.plans.plan` passes its relaxation (computed once per plan).
route_qtdr_ls.uses_relaxation = True
