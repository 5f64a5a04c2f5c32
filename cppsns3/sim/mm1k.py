"""Single-link M/M/1/K experiment (issue 3): one Poisson source, one port.

Node 0 sends Poisson packets with exponential sizes over one point-to-point
link to node 1.  The port at node 0 is the queue under test; time in system W
of a packet is its one-way delay minus the propagation delay (queueing plus
sending).  Loss and W are estimated by batch means over the packets in arrival
order after a warm-up, and compared with the exact M/M/1/K values of Eq. 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from cppsns3.model.delay import MAX_MEAN_PACKET_BYTES
from cppsns3.model.queueing import mm1k
from cppsns3.model.stats import batch_means, binomial_half_width

__all__ = ["MM1KConfig", "run_mm1k", "simulate_single_link", "validate_config"]


@dataclass(frozen=True)
class MM1KConfig:
    """Parameters of one single-link run (see :func:`run_mm1k`)."""

    rho: float
    capacity: int
    packets: int
    seed: int = 1
    rate_bps: float = 1e9
    mean_packet_bytes: float = 5000.0
    delay_s: float = 1e-3
    warmup_fraction: float = 0.02
    batches: int = 20


def validate_config(cfg: MM1KConfig) -> None:
    """Check every field; raise ValueError naming the field and value."""

    def bad(field, why):
        raise ValueError(f"{field} {why}, got {getattr(cfg, field)!r}")

    if not (isinstance(cfg.rho, (int, float)) and math.isfinite(cfg.rho) and cfg.rho > 0):
        bad("rho", "must be a finite number > 0")
    if isinstance(cfg.capacity, bool) or not isinstance(cfg.capacity, int) or cfg.capacity < 1:
        bad("capacity", "must be an integer >= 1")
    if isinstance(cfg.packets, bool) or not isinstance(cfg.packets, int) or cfg.packets < 1000:
        bad("packets", "must be an integer >= 1000")
    if cfg.packets > 2**32 - 1:
        bad("packets", "must be below 2**32")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or not 1 <= cfg.seed < 2**32:
        bad("seed", "must be an integer in [1, 2**32)")
    if not (math.isfinite(cfg.rate_bps) and cfg.rate_bps >= 1e3):
        bad("rate_bps", "must be >= 1000")
    if not (math.isfinite(cfg.mean_packet_bytes) and 100 <= cfg.mean_packet_bytes <= MAX_MEAN_PACKET_BYTES):
        bad("mean_packet_bytes", f"must be in [100, {MAX_MEAN_PACKET_BYTES:g}] (exponential sizes under the 65000 B MTU)")
    if not (math.isfinite(cfg.delay_s) and cfg.delay_s >= 0):
        bad("delay_s", "must be >= 0")
    if not 0 <= cfg.warmup_fraction < 0.5:
        bad("warmup_fraction", "must be in [0, 0.5)")
    if not 2 <= cfg.batches <= 1000:
        bad("batches", "must be in [2, 1000]")


def run_mm1k(cfg: MM1KConfig) -> dict:
    """Run the experiment in this process and return the result record.

    The record has the keys of the ``cppsns3 mm1k --json`` contract, plus
    ``counts`` (sent, received, dropped) and ``config``.

    Raises
    ------
    ValueError
        If a parameter is invalid.
    SimulationError
        If the run breaks an invariant (sent != received + dropped).
    """
    validate_config(cfg)
    from cppsns3.errors import SimulationError

    service_rate = cfg.rate_bps / (8.0 * cfg.mean_packet_bytes)
    arrival_rate = cfg.rho * service_rate
    r, seqs, delays, native_lib = simulate_single_link(cfg, arrival_rate)
    sent = int(r["sent"])
    n = int(r["received"])
    dropped = int(r["dropped_in_warmup"]) + int(r["dropped_after_warmup"])
    mean_number = float(r["mean_number_in_system"])
    busy_s = float(r["busy_time_s"])
    elapsed_s = float(r["observed_time_s"])

    if sent != n + dropped:
        raise SimulationError(f"invariant broken: sent {sent} != received {n} + dropped {dropped}")

    # Per arrival (in send order): 1 if lost, else its time in system.
    lost = np.ones(sent, dtype=bool)
    lost[seqs] = False
    time_in_system = np.full(sent, np.nan)
    time_in_system[seqs] = delays - cfg.delay_s
    start = int(cfg.warmup_fraction * sent)
    lost, time_in_system = lost[start:], time_in_system[start:]

    loss, loss_hw = batch_means(lost.astype(float), cfg.batches)
    loss_hw = max(loss_hw, binomial_half_width(int(lost.sum()), lost.size))
    # Batch means of W over arrival-order batches of the accepted packets.
    w_values = time_in_system[~lost]
    w_mean, w_hw = batch_means(w_values, cfg.batches)

    theory = mm1k(arrival_rate, service_rate, cfg.capacity)
    return {
        "rho": cfg.rho,
        "capacity": cfg.capacity,
        "packets": cfg.packets,
        "seed": cfg.seed,
        "arrival_rate_per_s": arrival_rate,
        "service_rate_per_s": service_rate,
        "analytic": theory.as_dict(),
        "measured": {
            "loss_probability": loss,
            "loss_probability_ci95": loss_hw,
            "mean_time_in_system_s": w_mean,
            "mean_time_in_system_ci95_s": w_hw,
            "mean_number_in_system": mean_number,
            "utilisation": busy_s / elapsed_s if elapsed_s > 0 else float("nan"),
        },
        "counts": {"sent": sent, "received": n, "dropped": dropped, "warmup_packets": start},
        "config": asdict(cfg),
        "timing": {"build_wall_s": float(r["build_wall_s"]), "sim_wall_s": float(r["sim_wall_s"]),
                   "sim_cpu_s": float(r["sim_cpu_s"]), "events": int(r["events"]),
                   "native_library": native_lib},
    }


def simulate_single_link(cfg: MM1KConfig, arrival_rate: float):
    """The ns-3 part of :func:`run_mm1k`: one C++ call, no per-packet Python.

    Builds node 0 -> one point-to-point link with an M/M/1/K port (see
    :mod:`cppsns3.ns3.links` for the mapping of K) -> node 1, a Poisson
    source with exponential sizes, a delay sink and a port monitor, runs the
    warm-up (after which the monitor restarts) and the rest, and returns what
    they measured.  The built library runs it through ctypes (no cppyy
    start-up); without one, cppyy JIT-compiles the same C++ and runs it.

    Returns
    -------
    (dict, numpy.ndarray, numpy.ndarray, bool)
        See :func:`cppsns3.ns3.capi.run_single_link`.
    """
    from cppsns3.ns3 import capi
    from cppsns3.ns3.links import DEFAULT_MTU_BYTES, HEADER_BYTES, MAX_PAYLOAD_BYTES

    # Rounded here, as the Python helpers round them (cppsns3.ns3.links).
    config = {
        "seed": cfg.seed,
        "run": 1,
        "rate_bps": int(round(cfg.rate_bps)),
        "delay_ns": int(round(cfg.delay_s * 1e9)),
        "capacity": cfg.capacity,
        "mtu_bytes": DEFAULT_MTU_BYTES,
        "arrival_rate_per_s": arrival_rate,
        "mean_packet_bytes": cfg.mean_packet_bytes,
        "header_bytes": HEADER_BYTES,
        "max_payload_bytes": MAX_PAYLOAD_BYTES,
        "packets": cfg.packets,
        # Warm-up: the port's time average starts where the packet statistics do.
        "warmup_s": int(cfg.warmup_fraction * cfg.packets) / arrival_rate,
        "port": 9,
    }
    return capi.run_single_link(config)
