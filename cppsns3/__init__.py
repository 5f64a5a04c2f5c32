"""cppsns3: packet-accurate ns-3 experiments of the CPPS blockchain protocol.

Layers
------
- :mod:`cppsns3.model`  pure model: queueing (Eq. 1-2), grid to network, routing, scenarios
- :mod:`cppsns3.chain`  blocks, Merkle trees, keys, contracts, measurements
- :mod:`cppsns3.ns3`    the only door to ns-3 (loader, topology helpers, C++ sources)
- :mod:`cppsns3.sim`    simulation runs (mm1k, round, validate) and the child-process runner
- :mod:`cppsns3.traces` one reader per ns-3 trace format
"""

from cppsns3.errors import CppsError

__version__ = "0.1.0"
__all__ = ["CppsError", "__version__"]
