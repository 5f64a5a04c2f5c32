"""Readers for ns-3 traces into pandas, for any ns-3 program, and analyses on them.

- :func:`read_flowmon` / :func:`iter_flowmon`: FlowMonitor XML
  (:mod:`cppsns3.traces.flowmon`);
- :func:`read_ascii` / :func:`iter_ascii`: ASCII traces from
  ``AsciiTraceHelper`` (:mod:`cppsns3.traces.ascii`);
- :func:`read_pcap` / :func:`iter_pcap`: pcap files from ``PcapHelper``
  (:mod:`cppsns3.traces.pcap`);
- :mod:`cppsns3.traces.analysis`: per-flow delays and CIs, queue occupancy
  against Eq. 1, link utilisation over time, loss by cause.

Every reader raises :class:`~cppsns3.errors.TraceFormatError` (re-exported
here) naming the file and the line or byte offset of a malformed or truncated
file.  None of this imports ns-3.
"""

from cppsns3.errors import TraceFormatError
from cppsns3.traces.ascii import iter_ascii, read_ascii
from cppsns3.traces.flowmon import iter_flowmon, read_flowmon
from cppsns3.traces.pcap import iter_pcap, read_pcap

__all__ = [
    "TraceFormatError",
    "iter_ascii",
    "iter_flowmon",
    "iter_pcap",
    "read_ascii",
    "read_flowmon",
    "read_pcap",
]
