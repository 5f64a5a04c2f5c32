"""The convex relaxation of Load_B and its certified lower bound.

Concern: how low Load_B (Eq. 3) can go at all under the hop bound; no
integral routing (that is :mod:`~cppsns3.model.routing.routers`).

Relaxation
    Every flow (s, d) of rate ``r_sd`` may be split over several walks with
    fractional weights summing to 1.  Link loads are then affine in the
    weights and Load_B^2 (the population variance of the residuals
    ``RB = bandwidth - load`` over all links) is a convex quadratic of them:
    over a fixed set of columns the restricted problem is a convex QP, solved
    by Clarabel (interior point).  Every integral routing that meets Eq. 4
    uses one simple path per flow within the hop bound, so it is a point of
    the relaxation and its Load_B is >= the relaxation's optimum.

Column generation and the certificate
    The gradient of the variance with respect to the load of link e is
    ``g_e = -(2/m) (RB_e - mean RB)``.  For any feasible weights ``w`` and any
    other feasible ``w*``, convexity gives ``f(w*) >= f(w) + grad . (w* - w)``;
    minimising the right-hand side over a set of walks that contains every
    simple path within the hop bound splits into one cheapest walk per flow
    with link costs ``g_e`` (a pricing step with costs of any sign).  Hence

        ``LB = f(w) + sum_sd r_sd (min_walk cost_sd - sum_p w_p cost_p)``

    is a lower bound of the variance over every walk of that set, whatever
    the accuracy of the QP solve: the weights are projected back onto the
    simplices first.  The cheapest walks join the columns and the QP is
    solved again until the gap ``f(w) - LB`` is below :data:`REL_GAP` of
    ``f(w)``.  The reported bound is ``sqrt(max(LB, 0))`` in Mbit/s, the best
    over the iterations.

The walk set (``lower_bound_candidates``)
    Pricing is :func:`~cppsns3.model.routing.pricing.min_cost_cycle_free_walks`:
    walks within the hop bound in which no node repeats within ``window + 1``
    consecutive nodes, ``window`` the largest value <= ``hop_bound`` whose
    state space fits :data:`PRICING_MAX_STATES` (the same rule on every
    grid).  ``window = hop_bound`` is exactly the simple paths; a smaller
    window still excludes every cycle of up to ``window + 1`` links.  The
    cycles matter: Load_B rewards load on idle links, so walks that loop
    through them give a weaker bound (ieee30: 303 Mbit/s over
    non-backtracking walks, 366 over simple paths).  The delay and bandwidth
    bounds are relaxed (dropping constraints keeps it a lower bound);
    :func:`lower_bound_candidates` says all this in one line.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cppsns3.model.routing.paths import hop_bounded_paths
from cppsns3.model.routing.pricing import cycle_free_window, min_cost_cycle_free_walks
from cppsns3.model.routing.state import RoutingState

__all__ = ["demand_flows", "bound_affordable", "MAX_BOUND_FLOWS", "lower_bound_candidates", "PRICING_MAX_STATES", "Relaxation", "solve_relaxation", "REL_GAP",
           "MAX_ITERATIONS"]

#: Largest plan (flows = demand terminals x (nodes - 1)) that computes the bound: the
#: QP grows with the flows (ieee118, 3159 flows: about 7 s; case300 with 15
#: terminals, 4485 flows: about 40 s); larger plans report NaN.
MAX_BOUND_FLOWS = 5000
#: Pricing states (link sequences of the cycle-free walks) a relaxation may build:
#: the window is the largest one <= hop_bound that fits (a rule for every grid).
PRICING_MAX_STATES = 5000


def lower_bound_candidates(window: int, hop_bound: int) -> str:
    """What ``lower_bound_candidates`` says: the path set the bound holds over."""
    tail = "delay and bandwidth bounds relaxed"
    if window + 2 >= hop_bound:  # a walk that never returns to its source has no longer cycle
        return f"simple paths within hop_bound ({tail})"
    return (f"walks within hop_bound without cycles of up to {window + 1} links (contain every simple "
            f"path within hop_bound; {tail})")


#: Column generation stops once (f(w) - LB) <= REL_GAP * f(w) (variance).
REL_GAP = 2e-3
#: ... or after this many QP solves.
MAX_ITERATIONS = 40


@dataclass(frozen=True)
class Relaxation:
    """Result of :func:`solve_relaxation`.

    Attributes
    ----------
    lower_bound_mbps : float
        Certified lower bound of Load_B over every routing within the hop bound.
    value_mbps : float
        Load_B of the best fractional routing found (>= ``lower_bound_mbps``).
    candidates : str
        :func:`lower_bound_candidates` of the pricing window.
    flows : tuple
        ``(s, d, rate_mbps)`` per flow (node indices).
    columns : tuple
        Per flow, a tuple of ``(directed edge ids, weight)`` (weights sum to 1).
    iterations : int
        QP solves.
    solve_time_s : float
    """

    lower_bound_mbps: float
    value_mbps: float
    candidates: str
    flows: tuple
    columns: tuple
    iterations: int
    solve_time_s: float


def _qp_weights(cols_flow, cols_links, cols_mult, rates, bw, n_flows):
    """Minimise the residuals' variance over the columns' weights (Clarabel)."""
    import clarabel

    J = len(cols_flow)
    m = bw.size
    scale = float(max(rates.max(), 1e-12))
    # x = [w (J), z (m), t]: z_e = RB_e - t, sum z = 0 (t = mean RB), objective sum z^2
    nnz_lens = np.fromiter((len(c) for c in cols_links), dtype=np.int64, count=J)
    col_idx = np.repeat(np.arange(J), nnz_lens)
    row_idx = np.concatenate(cols_links) if J else np.zeros(0, np.int64)
    vals = np.concatenate(cols_mult) * np.repeat(rates[cols_flow] / scale, nnz_lens)
    load_part = sp.csc_matrix((vals, (row_idx, col_idx)), shape=(m, J))
    conv = sp.csc_matrix((np.ones(J), (np.asarray(cols_flow), np.arange(J))), shape=(n_flows, J))
    I_m = sp.identity(m, format="csc")
    ones_m = sp.csc_matrix(np.ones((m, 1)))
    A_eq = sp.vstack([
        sp.hstack([load_part, I_m, ones_m]),
        sp.hstack([sp.csc_matrix((1, J)), sp.csc_matrix(np.ones((1, m))), sp.csc_matrix((1, 1))]),
        sp.hstack([conv, sp.csc_matrix((n_flows, m + 1))]),
    ])
    A_nn = sp.hstack([-sp.identity(J, format="csc"), sp.csc_matrix((J, m + 1))])
    A = sp.vstack([A_eq, A_nn]).tocsc()
    b = np.r_[bw / scale, 0.0, np.ones(n_flows), np.zeros(J)]
    nx = J + m + 1
    P = sp.csc_matrix((np.full(m, 2.0), (np.arange(J, J + m), np.arange(J, J + m))), shape=(nx, nx))
    q = np.zeros(nx)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    solver = clarabel.DefaultSolver(P, q, A, b, [clarabel.ZeroConeT(m + 1 + n_flows),
                                                  clarabel.NonnegativeConeT(J)], settings)
    sol = solver.solve()
    return np.asarray(sol.x[:J], dtype=float)


def demand_flows(network, scenario) -> list:
    """Every flow as ``(s, d, rate_mbps)`` (node indices): terminals in QT-DR's order
    (by volume, largest first), destinations in node order."""
    from cppsns3.model.routing.routers import _sources

    return [(s, d, rate) for s, rate in _sources(scenario, network)
            for d in range(network.n_nodes) if d != s]


def bound_affordable(network, scenario) -> bool:
    """Whether :func:`solve_relaxation` runs in a plan: at most :data:`MAX_BOUND_FLOWS` flows."""
    return len(scenario.terminals) * (network.n_nodes - 1) <= MAX_BOUND_FLOWS


def solve_relaxation(network, scenario, init_paths=None, *, rel_gap=REL_GAP,
                     max_iterations=MAX_ITERATIONS, max_states=PRICING_MAX_STATES) -> Relaxation:
    """Column generation on the fractional relaxation (see the module docstring).

    Parameters
    ----------
    network : CppsNetwork
    scenario : Scenario
    init_paths : mapping, optional
        ``(s, d) -> node-index path``: starting columns (for example QT-DR's
        routing); the hop-bounded shortest-delay tree is always added.
    rel_gap : float
    max_iterations : int

    Returns
    -------
    Relaxation

    Raises
    ------
    NoFeasiblePath
        If a pair has no path within the hop bound.
    """
    from cppsns3.model.routing.routers import _sources

    t0 = time.perf_counter()
    st = RoutingState(network, scenario)
    srcs = _sources(scenario, network)
    flows = demand_flows(network, scenario)
    fidx = {(s, d): k for k, (s, d, _) in enumerate(flows)}
    n_flows = len(flows)
    rates = np.array([f[2] for f in flows], dtype=float)
    cols_flow, cols_edges, cols_links, cols_mult = [], [], [], []
    seen = [set() for _ in range(n_flows)]

    def add(k, edges):
        key = tuple(edges)
        if key in seen[k]:
            return False
        seen[k].add(key)
        links, mult = np.unique(np.asarray(edges, dtype=np.int64) >> 1, return_counts=True)
        cols_flow.append(k)
        cols_edges.append(key)
        cols_links.append(links)
        cols_mult.append(mult.astype(float))
        return True

    for s, rate in srcs:
        tree = hop_bounded_paths(st.n, st.tail, st.head, st.zero_load_cost, s, st.hop_bound)[1]
        for d in range(st.n):
            if d == s:
                continue
            if tree[d] is None:
                raise st.no_path(s, d, st.diagnose(s, d, rate))
            add(fidx[(s, d)], st.ports_of(tree[d]))
    for (s, d), nodes in (init_paths or {}).items():
        if (s, d) in fidx:
            add(fidx[(s, d)], st.ports_of(nodes))
    window = cycle_free_window(st.n, st.tail, st.head, st.hop_bound, max_states)
    bw = st.bw
    m = bw.size
    best_lb = -math.inf
    w = None
    var = math.inf
    it = 0
    for it in range(1, max_iterations + 1):
        cf = np.asarray(cols_flow, dtype=np.int64)
        w = _qp_weights(cf, cols_links, cols_mult, rates, bw, n_flows)
        w = np.maximum(w, 0.0)
        tot = np.bincount(cf, weights=w, minlength=n_flows)
        bad = tot <= 0
        if bad.any():  # a flow the solver left empty: its first column
            first = np.full(n_flows, -1)
            first[cf[::-1]] = np.arange(cf.size)[::-1]
            w[first[bad]] = 1.0
            tot = np.bincount(cf, weights=w, minlength=n_flows)
        w = w / tot[cf]
        lens = np.fromiter((len(c) for c in cols_links), dtype=np.int64, count=cf.size)
        flat_links = np.concatenate(cols_links)
        flat_mult = np.concatenate(cols_mult)
        per_col = np.repeat(w * rates[cf], lens) * flat_mult
        load = np.bincount(flat_links, weights=per_col, minlength=m)
        rb = bw - load
        dev = rb - rb.mean()
        var = float(np.mean(dev * dev))
        g = -(2.0 / m) * dev
        col_cost = np.add.reduceat(g[flat_links] * flat_mult, np.r_[0, np.cumsum(lens)[:-1]])
        expect = np.bincount(cf, weights=w * col_cost, minlength=n_flows)
        colmin = np.full(n_flows, np.inf)
        np.minimum.at(colmin, cf, col_cost)
        edge_cost = g[np.arange(2 * m) >> 1]
        gap_sum = 0.0
        new = []
        for s, rate in srcs:
            lab, walks = min_cost_cycle_free_walks(st.n, st.tail, st.head, edge_cost, s, st.hop_bound, window)
            for d in range(st.n):
                if d == s:
                    continue
                k = fidx[(s, d)]
                gap_sum += rate * (lab[d] - expect[k])
                if lab[d] < colmin[k] - 1e-12 * (abs(colmin[k]) + 1e-30):
                    new.append((k, walks[d]))
        lb = var + gap_sum
        best_lb = max(best_lb, lb)
        if var - best_lb <= rel_gap * var or not new:
            break
        # keep the support (and one column per flow), then add the new walks
        keep = w > 1e-9 * float(w.max())
        for j in np.flatnonzero(~keep).tolist():
            seen[cols_flow[j]].discard(cols_edges[j])
        kept = np.flatnonzero(keep).tolist()
        cols_flow = [cols_flow[j] for j in kept]
        cols_edges = [cols_edges[j] for j in kept]
        cols_links = [cols_links[j] for j in kept]
        cols_mult = [cols_mult[j] for j in kept]
        w = w[keep]
        added = [add(k, e) for k, e in new]
        if not any(added):
            break
    columns = [[] for _ in range(n_flows)]
    for j, k in enumerate(cols_flow):
        if j < w.size and w[j] > 0:
            columns[k].append((cols_edges[j], float(w[j])))
    return Relaxation(lower_bound_mbps=math.sqrt(max(best_lb, 0.0)), value_mbps=math.sqrt(var),
                      candidates=lower_bound_candidates(window, st.hop_bound), flows=tuple(flows),
                      columns=tuple(tuple(c) for c in columns), iterations=it,
                      solve_time_s=time.perf_counter() - t0)
