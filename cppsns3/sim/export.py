"""Export a validation run as a small text description for the C++ reference program.

``tools/cppsns3-reference.cc`` (built by the CMake presets) reads the
description and runs the same validation scenario as
:func:`cppsns3.sim.validate.run_validate` with the same C++ classes, topology
construction, seeds and streams, entirely in C++: the speed reference of
``scripts/bench_native.py``.

The format is line-based, one record a line, fields separated by blanks,
floats written with :func:`repr` (they read back exactly with ``strtod``)::

    cppsns3-reference 1
    seed 5
    run 2
    capacity 10
    mean_packet_bytes 5000.0
    header_bytes 30
    max_payload_bytes 64972
    mtu_bytes 65000
    t_wait_s 0.001
    max_attempts 8
    duration_s 0.05
    warmup_s 0.005
    drain_s 0.0412
    record_seq_limit 5
    sink_port 9
    nodes 14
    link A B RATE_BPS DELAY_NS        (integers, as ns-3 gets them)
    flow INDEX SRC DST RATE_PER_S
    route SRC DST N NODE_1 ... NODE_N (every forwarding path, in install order)
    end

Node, link and flow numbers are the :class:`~cppsns3.sim.spec.RunSpec`
indices; links appear in spec order (their /30 subnets follow that order).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FORMAT_VERSION", "reference_description", "write_reference_description"]

FORMAT_VERSION = 1


def reference_description(spec) -> str:
    """The description of one validation run (see the module docstring).

    Parameters
    ----------
    spec : cppsns3.sim.spec.RunSpec
        A validation-mode spec (duration and warm-up set).

    Returns
    -------
    str
        The description text, ending with ``end`` and a newline.

    Raises
    ------
    ValueError
        If the spec has no duration, a warm-up outside [0, duration), or a
        route that does not run from its source to its destination.
    """
    from cppsns3.ns3.links import DEFAULT_MTU_BYTES, HEADER_BYTES, MAX_PAYLOAD_BYTES
    from cppsns3.sim.validate import SINK_PORT, drain_time_s

    if not spec.duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {spec.duration_s!r}")
    if not 0 <= spec.warmup_s < spec.duration_s:
        raise ValueError(f"warmup_s must be in [0, duration_s), got {spec.warmup_s!r}")
    lines = [
        f"cppsns3-reference {FORMAT_VERSION}",
        f"seed {int(spec.seed)}",
        f"run {int(spec.replication) + 1}",
        f"capacity {int(spec.capacity)}",
        f"mean_packet_bytes {float(spec.mean_packet_bytes)!r}",
        f"header_bytes {HEADER_BYTES}",
        f"max_payload_bytes {MAX_PAYLOAD_BYTES}",
        f"mtu_bytes {DEFAULT_MTU_BYTES}",
        f"t_wait_s {float(spec.t_wait_s)!r}",
        f"max_attempts {int(spec.max_attempts)}",
        f"duration_s {float(spec.duration_s)!r}",
        f"warmup_s {float(spec.warmup_s)!r}",
        f"drain_s {float(drain_time_s(spec))!r}",
        f"record_seq_limit {int(spec.record_seq_limit)}",
        f"sink_port {SINK_PORT}",
        f"nodes {len(spec.labels)}",
    ]
    for lk in spec.links:
        # Exactly what cppsns3.ns3.links.PortLinkHelper hands to ns-3.
        lines.append(f"link {int(lk.a)} {int(lk.b)} {int(round(lk.rate_bps))} {int(round(lk.delay_s * 1e9))}")
    for f in spec.flows:
        lines.append(f"flow {int(f.index)} {int(f.src)} {int(f.dst)} {float(f.rate_per_s)!r}")
    for (s, d), path in spec.routes.items():
        path = [int(n) for n in path]
        if path[0] != s or path[-1] != d:
            raise ValueError(f"route ({s}, {d}) runs {path[0]} -> {path[-1]}")
        lines.append(f"route {int(s)} {int(d)} {len(path)} " + " ".join(map(str, path)))
    lines.append("end")
    return "\n".join(lines) + "\n"


def write_reference_description(spec, path) -> Path:
    """Write :func:`reference_description` of ``spec`` to ``path``; return the path."""
    from cppsns3.atomic import write_atomic

    path = Path(path)
    write_atomic(path, reference_description(spec))
    return path
