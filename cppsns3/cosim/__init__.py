"""The co-simulation: the grid's power flow, the ns-3 network's delays, and what the operator sees.

:mod:`cppsns3.cosim.estimation` turns the measurements that reached the
generator node in time into pandapower's state estimate of the grid.
"""

__all__ = []
