"""Point-to-point links whose ports behave as M/M/1/K queues.

Mapping of the port capacity K (most packets a port holds *including the one
being sent*) to ns-3, measured and tested by simulation (tests/test_mm1k.py):

- K >= 2: the stock ``DropTailQueue<Packet>`` device queue with MaxSize = K - 1
  packets (the packet on the wire has already left the queue, so K = q + 1);
- K = 1: MaxSize 0 would refuse every packet (the device enqueues before it
  dequeues), so a :cpp:class:`cppsns3::PortQueue` is installed instead, which
  counts the packet in service.

Flow control is disabled on the helper, so no traffic-control queue disc ever
holds packets: the device queue is the only queue and every drop shows on its
``TxQueue/Drop`` trace.  The MTU is raised to 65000 B so that exponential
packet sizes are never fragmented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["HEADER_BYTES", "DEFAULT_MTU_BYTES", "PortLinkHelper", "data_rate"]

#: Bytes every UDP packet adds on a PPP link: IPv4 20 + UDP 8 + PPP 2.
HEADER_BYTES = 30
#: Device MTU: large enough that no exponential-size packet is fragmented.
DEFAULT_MTU_BYTES = 65000
#: Largest UDP payload that fits the MTU (IPv4 20 + UDP 8 inside the MTU).
MAX_PAYLOAD_BYTES = DEFAULT_MTU_BYTES - 28


def data_rate(rate_bps: float):
    """An ``ns3::DataRate`` of ``rate_bps`` bit/s (rounded to whole bit/s)."""
    from cppsns3.ns3 import ns

    return ns.DataRate(int(round(rate_bps)))


@dataclass(frozen=True)
class PortLinkHelper:
    """Configure, then install, point-to-point links with M/M/1/K ports.

    Parameters
    ----------
    rate_bps : float
        Link DataRate in bit/s (> 0).
    delay_s : float
        Propagation delay in seconds (>= 0).
    capacity : int
        K, the most packets each port holds including the one being sent (>= 1).
    mtu_bytes : int
        Device MTU in bytes.

    Raises
    ------
    ValueError
        If a parameter is out of range; the message names it and its value.
    """

    rate_bps: float
    delay_s: float
    capacity: int
    mtu_bytes: int = DEFAULT_MTU_BYTES

    def __post_init__(self):
        if not (isinstance(self.rate_bps, (int, float)) and math.isfinite(self.rate_bps) and self.rate_bps >= 1):
            raise ValueError(f"rate_bps must be a finite number >= 1 bit/s, got {self.rate_bps!r}")
        if not (isinstance(self.delay_s, (int, float)) and math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"delay_s must be a finite number >= 0, got {self.delay_s!r}")
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or self.capacity < 1:
            raise ValueError(f"capacity (K) must be an integer >= 1, got {self.capacity!r}")
        if isinstance(self.mtu_bytes, bool) or not isinstance(self.mtu_bytes, int) or not 576 <= self.mtu_bytes <= 65535:
            raise ValueError(f"mtu_bytes must be an integer in [576, 65535], got {self.mtu_bytes!r}")

    def _helper(self):
        from cppsns3.ns3 import ns

        p2p = ns.PointToPointHelper()
        p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(data_rate(self.rate_bps)))
        p2p.SetDeviceAttribute("Mtu", ns.UintegerValue(self.mtu_bytes))
        p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.NanoSeconds(int(round(self.delay_s * 1e9)))))
        p2p.DisableFlowControl()
        return p2p

    def install(self, node_a, node_b):
        """Join two nodes; return the ``NetDeviceContainer`` (a's device first).

        Raises
        ------
        SimulationError
            If a port could not be configured.
        """
        from cppsns3.errors import SimulationError
        from cppsns3.ns3 import cpp

        devices = self._helper().Install(node_a, node_b)
        for i in range(devices.GetN()):
            if not cpp.ConfigurePort(devices.Get(i), self.capacity):
                raise SimulationError(f"could not set the device queue for capacity {self.capacity}")
        return devices
