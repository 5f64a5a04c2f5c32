"""Routing of the CPPS flows: Load_B (Eq. 3), the constraints of Eq. 4, QT-DR and two baselines.

Every demand terminal ``s`` sends its block (``data_mb``) to every other node
once per sampling period: one unicast flow per (s, d) of rate
``data_mb * 8 / sampling_period_s`` Mbit/s, routed on one path.

Modules, one concern each (everything public is re-exported here):

* :mod:`~cppsns3.model.routing.paths`: hop-bounded path algorithms
  (Bellman-Ford, K shortest loopless paths);
* :mod:`~cppsns3.model.routing.state`: residual bandwidth, Load_B and the
  constraints (:class:`RoutingState`);
* :mod:`~cppsns3.model.routing.routers`: QT-DR, QoS-R, RA-DBMM and
  :data:`ROUTERS`;
* :mod:`~cppsns3.model.routing.relax`: the convex relaxation of Eq. 4 and its
  certified lower bound of Load_B (in every plan);
* :mod:`~cppsns3.model.routing.qtdr_ls`: QT-DR-LS (``qtdr-ls``), rounding of
  the relaxation and local search;
* :mod:`~cppsns3.model.routing.plans`: :func:`plan` and its result records.
"""

from __future__ import annotations

from cppsns3.model.routing.paths import hop_bounded_paths, k_shortest_simple_paths_from
from cppsns3.model.routing.plans import AlgorithmPlan, LinkPlan, PathPlan, Plan, PortPlan, plan
from cppsns3.model.routing.qtdr_ls import route_qtdr_ls
from cppsns3.model.routing.relax import Relaxation, lower_bound_candidates, solve_relaxation
from cppsns3.model.routing.routers import ROUTERS, route_qos_r, route_qtdr, route_ra_dbmm
from cppsns3.model.routing.state import LoadBalanceTracker, RoutingState, load_balance

__all__ = [
    "load_balance",
    "LoadBalanceTracker",
    "hop_bounded_paths",
    "k_shortest_simple_paths_from",
    "RoutingState",
    "route_qtdr",
    "route_qos_r",
    "route_ra_dbmm",
    "route_qtdr_ls",
    "solve_relaxation",
    "Relaxation",
    "lower_bound_candidates",
    "ROUTERS",
    "PathPlan",
    "LinkPlan",
    "PortPlan",
    "AlgorithmPlan",
    "Plan",
    "plan",
]
