"""Pure model layer: queueing formulas, grid to network, routing, scenarios.

Nothing under :mod:`cppsns3.model` imports ns-3.
"""
