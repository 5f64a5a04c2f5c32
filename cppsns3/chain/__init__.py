"""Signed CPPS data blocks (issue 5): measurements, Merkle trees, blocks, contracts, chain."""

from .measurements import (
    Measurement,
    PowerFlowError,
    measurements_for_terminal,
    power_flow_series,
)

__all__ = ["Measurement", "PowerFlowError", "measurements_for_terminal", "power_flow_series"]
