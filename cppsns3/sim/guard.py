"""The resource guard: refuse a run whose memory estimate does not fit, before any ns-3 child starts.

:func:`estimate_run_memory` turns a scenario, its plan and the run's options
into the counts of :mod:`cppsns3.model.memory` (round mode: the blocks'
sizes, nodes, ports; validate mode: the packets the planned, load-scaled
flows send) without making blocks or loading ns-3; :func:`check_run_memory`
compares the estimate with the memory available (or ``--max-memory-gb``)
and raises :class:`cppsns3.errors.InsufficientMemory` naming both.
"""

from __future__ import annotations

from cppsns3.model.memory import (
    MemoryEstimate,
    available_memory,
    check_fits,
    estimate_round_memory,
    estimate_validate_memory,
)

__all__ = ["estimate_run_memory", "check_run_memory", "MemoryEstimate", "available_memory"]


def estimate_run_memory(scenario, plan, opts, *, concurrent: int = 1) -> MemoryEstimate:
    """The peak-memory estimate of a run of ``scenario`` with options ``opts``.

    Parameters
    ----------
    scenario : cppsns3.Scenario
    plan : cppsns3.model.routing.Plan
        Holds every algorithm of ``opts``.
    opts : cppsns3.sim.pipeline.RunOptions
        Validated options (mode, data scale, load, duration).
    concurrent : int
        Children running at once (a run starts one at a time).

    Returns
    -------
    MemoryEstimate
        Validate mode: the largest over the algorithms (they differ in paths,
        so in packets per port only through the planned rates).

    Raises
    ------
    ScenarioError
        If the plan puts no traffic on any port (validate mode).
    """
    from cppsns3.sim.spec import planned_flows, traffic_scale

    network = scenario.network
    n_ports = 2 * int(network.n_links)
    if opts.mode == "round":
        from cppsns3.sim.round import TCP_BUFFER_BYTES

        sizes = [t.data_mb * 1e6 * opts.data_scale for t in scenario.terminals]
        return estimate_round_memory(sizes, int(network.n_nodes), n_ports, TCP_BUFFER_BYTES,
                                     concurrent=concurrent)
    aps = [plan.algorithms[a] for a in opts.algorithms(scenario) if a in plan.algorithms]
    scale = traffic_scale(list(plan.algorithms.values()), opts.load)
    best = estimate_validate_memory(0.0, 0, n_ports, concurrent=concurrent)
    for ap in aps:
        flows = planned_flows(network, ap, scale, scenario.mean_packet_bytes)
        packets = sum(f.rate_per_s for f in flows) * opts.duration
        est = estimate_validate_memory(packets, len(flows), n_ports, concurrent=concurrent)
        if est.total_bytes > best.total_bytes:
            best = est
    return best


def check_run_memory(scenario, plan, opts, max_memory_gb: float | None = None, *, concurrent: int = 1,
                     available=None) -> MemoryEstimate:
    """Estimate a run's memory and refuse it if it does not fit.

    Parameters
    ----------
    scenario, plan, opts, concurrent
        As :func:`estimate_run_memory`.
    max_memory_gb : float, optional
        ``--max-memory-gb``: replaces the machine's available memory.
    available : (float, str), optional
        Bytes and their source, instead of asking the machine (tests).

    Returns
    -------
    MemoryEstimate
        The estimate (the run fits).

    Raises
    ------
    ScenarioError
        If ``max_memory_gb`` is not a number > 0.
    InsufficientMemory
        If the estimate exceeds the memory available; the message names the
        estimate and the available figure, and the exception carries both.
    """
    est = estimate_run_memory(scenario, plan, opts, concurrent=concurrent)
    check_fits(est, max_memory_gb, available=available)
    return est
