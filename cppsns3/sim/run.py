"""`cppsns3 run`: packet-level runs of a scenario, in child processes.

The parent plans (pure Python), prepares the blocks (round mode), warms up
the ns-3 wrappers once, then forks one child per (algorithm, replication);
an ns-3 abort in a child becomes a :class:`SimulationError` naming the
scenario, algorithm, seed and replication, with ns-3's last output lines.
All algorithms of a run carry the same traffic (same flows, rates, RNG seed
and streams; in round mode the same signed block bytes).

Outputs in ``DIR`` (each written to a temporary name, then renamed):
``summary.json`` (deterministic: same seed, same bytes), ``flows.csv``,
``ports.csv``, ``links.csv``, ``flowmon-ALGORITHM.xml`` (first replication)
and ``timing.json`` (wall clock, events, memory: varies run to run).
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cppsns3.errors import ScenarioError
from cppsns3.model.stats import binomial_half_width, t_half_width

__all__ = ["RunOptions", "run_scenario", "write_atomic"]

MODES = ("round", "validate")
DEFAULT_VALIDATE_DURATION_S = 0.05
WARMUP_FRACTION = 0.1


@dataclass(frozen=True)
class RunOptions:
    """Options of one ``cppsns3 run`` (None: the scenario's or the mode's default)."""

    mode: str = "round"
    algorithm: str = "all"
    seed: int | None = None
    replications: int | None = None
    data_scale: float = 1.0
    load: float = 0.5
    duration_s: float | None = None

    def validated(self) -> "RunOptions":
        """Check every option; raise ScenarioError naming the option and value."""
        if self.mode not in MODES:
            raise ScenarioError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.algorithm not in ("all", "qtdr", "qos-r", "ra-dbmm"):
            raise ScenarioError(f"--algorithm must be qtdr, qos-r, ra-dbmm or all, got {self.algorithm!r}")
        if self.seed is not None and not (isinstance(self.seed, int) and 1 <= self.seed < 2**31):
            raise ScenarioError(f"--seed must be an integer in [1, 2**31), got {self.seed!r}")
        if self.replications is not None and not (isinstance(self.replications, int) and 1 <= self.replications <= 1000):
            raise ScenarioError(f"--replications must be an integer in [1, 1000], got {self.replications!r}")
        if not (isinstance(self.data_scale, (int, float)) and math.isfinite(self.data_scale) and 0 < self.data_scale <= 100):
            raise ScenarioError(f"--data-scale must be in (0, 100], got {self.data_scale!r}")
        if not (isinstance(self.load, (int, float)) and 0 < self.load <= 1.5):
            raise ScenarioError(f"--load must be in (0, 1.5], got {self.load!r}")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and 1e-4 <= self.duration_s <= 100):
            raise ScenarioError(f"--duration-s must be in [0.0001, 100], got {self.duration_s!r}")
        return self


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so a crash never leaves a half-written file under its name."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format="%.9g", lineterminator="\n")


def _clean(x):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


class _Progress:
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, total: int, label: str):
        self._bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)
        else:
            print(f"cppsns3: {label}: {total} steps", file=sys.stderr)
        self._n, self._total = 0, total

    def step(self, what: str) -> None:
        self._n += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=what)
        else:
            print(f"cppsns3: [{self._n}/{self._total}] {what}", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _fault_edges(scenario, network):
    out = []
    for f in scenario.faults:
        if f.kind != "link_down":
            continue
        a, b = network.index[network.site_of(f.a_bus)], network.index[network.site_of(f.b_bus)]
        try:
            e = network.link_id(a, b)
        except KeyError:
            raise ScenarioError(
                f"faults: link_down a_bus={f.a_bus!r} b_bus={f.b_bus!r} is not a link of the network"
            ) from None
        out.append((float(f.at_s or 0.0), int(e)))
    return out


def run_scenario(scenario_path, out_dir, options: RunOptions) -> dict:
    """Run a scenario; write the output files; return the summary dict.

    Raises
    ------
    ScenarioError
        Bad scenario or option (nothing is written then).
    NoFeasiblePath
        If planning fails.
    SimulationError
        If a child run fails (the message names scenario, algorithm, seed).
    """
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import load_scenario
    from cppsns3.sim.runner import run_in_child
    from cppsns3.sim.spec import (
        analytic_flow_delays,
        build_spec,
        complete_routes,
        planned_flows,
        traffic_scale,
    )

    opts = options.validated()
    t_start = time.perf_counter()
    scenario = load_scenario(scenario_path)
    seed = scenario.seed if opts.seed is None else opts.seed
    reps = opts.replications or (3 if opts.mode == "validate" else 1)
    algos = ["qtdr", "qos-r", "ra-dbmm"] if opts.algorithm == "all" else [opts.algorithm]
    network = scenario.network
    pl = plan(scenario, algos)
    link_down = _fault_edges(scenario, network)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(scenario_path).name

    from cppsns3.sim.warmup import warm_up

    prep = None
    progress = _Progress(len(algos) * reps + (len(scenario.terminals) if opts.mode == "round" else 0) + 1,
                         f"{name} {opts.mode}")
    try:
        warm_up()
        progress.step("ns-3 loaded")
        if opts.mode == "round":
            from cppsns3.sim.round import prepare_round

            prep = prepare_round(scenario, network, seed=seed, data_scale=opts.data_scale,
                                 progress=lambda: progress.step("signed data blocks"))
            scale = 1.0
        else:
            scale = traffic_scale(list(pl.algorithms.values()), opts.load)
        duration = opts.duration_s or DEFAULT_VALIDATE_DURATION_S
        results = {}
        for a in algos:
            ap = pl.algorithms[a]
            flows = planned_flows(network, ap, scale, scenario.mean_packet_bytes)
            gen = network.index[ap.generator_bus]
            routes = complete_routes(network, {(f.src, f.dst): f.path for f in flows},
                                     extra_sources=[gen] if opts.mode == "round" else ())
            runs = []
            for r in range(reps):
                extra = {}
                if opts.mode == "round":
                    extra = {"prep": prep, "generator": gen, "link_down": link_down}
                spec = build_spec(
                    scenario, network, ap, mode=opts.mode, seed=seed, replication=r, flows=flows,
                    routes=routes, duration_s=duration, warmup_s=WARMUP_FRACTION * duration, extra=extra,
                    flowmon_xml=str(out / f"flowmon-{a}.xml") if r == 0 else None,
                )
                label = f"scenario {name} algorithm {a} seed {seed} replication {r}"
                if opts.mode == "round":
                    from cppsns3.sim.round import run_round

                    runs.append(run_in_child(run_round, spec, label=label))
                else:
                    from cppsns3.sim.validate import run_validate

                    runs.append(run_in_child(run_validate, spec, label=label))
                progress.step(f"{a} replication {r + 1}/{reps}")
            analytic, ports_an = analytic_flow_delays(network, flows, scenario.queue_capacity,
                                                      scenario.mean_packet_bytes, scenario.t_wait_s)
            results[a] = (ap, flows, runs, analytic, ports_an)
    finally:
        progress.close()

    summary, flows_df, ports_df, links_df, timing = _assemble(
        scenario, network, pl, results, opts, seed, reps, scale, name)
    timing["total_wall_s"] = time.perf_counter() - t_start
    timing["peak_child_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    timing["parent_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_atomic(out / "flows.csv", _csv(flows_df))
    write_atomic(out / "ports.csv", _csv(ports_df))
    write_atomic(out / "links.csv", _csv(links_df))
    write_atomic(out / "timing.json", json.dumps(_clean(timing), indent=2) + "\n")
    write_atomic(out / "summary.json", json.dumps(_clean(summary), indent=2) + "\n")
    return summary


def _mean_ci(values):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), (t_half_width(v) if v.size >= 2 else float("nan"))


def _assemble(scenario, network, pl, results, opts, seed, reps, scale, name):
    labels = network.nodes
    summary = {
        "scenario": name,
        "grid": scenario.grid,
        "seed": seed,
        "mode": opts.mode,
        "replications": reps,
        "generator_bus": pl.generator_bus,
        "data_scale": opts.data_scale if opts.mode == "round" else None,
        "load": opts.load if opts.mode == "validate" else None,
        "traffic_scale": scale,
        "duration_s": (opts.duration_s or DEFAULT_VALIDATE_DURATION_S) if opts.mode == "validate" else None,
        "queue_capacity": scenario.queue_capacity,
        "mean_packet_bytes": scenario.mean_packet_bytes,
        "t_wait_s": scenario.t_wait_s,
        "faults": [f.__dict__ for f in scenario.faults],
        "algorithms": {},
    }
    timing = {"algorithms": {}}
    flow_rows, port_rows, link_rows = [], [], []
    for a, (ap, flows, runs, analytic, ports_an) in results.items():
        events = sum(r["events"] for r in runs)
        sim_wall = sum(r["sim_wall_s"] for r in runs)
        timing["algorithms"][a] = {
            "events": events,
            "sim_wall_s": sim_wall,
            "build_wall_s": sum(r["build_wall_s"] for r in runs),
            "events_per_s": events / sim_wall if sim_wall > 0 else None,
        }
        flow_recs = []
        for k, f in enumerate(flows):
            per = [r["flows"][k] for r in runs]
            sent = sum(p["sent_packets"] for p in per)
            recv = sum(p["received_packets"] for p in per)
            if opts.mode == "validate":
                dropped = sum(p["abandoned_packets"] for p in per)
                if reps >= 2:
                    mean, hw = _mean_ci([p["measured_delay_s"] for p in per])
                else:
                    mean, hw = per[0]["measured_delay_s"], per[0]["measured_delay_ci95_s"]
            else:
                dropped = sum(p["dropped_packets"] for p in per)
                mean, hw = _mean_ci([p["measured_delay_s"] for p in per])
            rec = {
                "src_bus": f.src_bus,
                "dst_bus": f.dst_bus,
                "hops": len(f.path) - 1,
                "buses": [labels[i] for i in f.path],
                "analytic_delay_s": analytic[k][0],
                "analytic_delay_relay_only_s": analytic[k][1],
                "measured_delay_s": mean,
                "measured_delay_ci95_s": hw,
                "loss_ratio": dropped / sent if sent else float("nan"),
            }
            if opts.mode == "round":
                arr = [p["block_arrival_s"] for p in per]
                rec["block_arrival_s"], rec["block_arrival_ci95_s"] = _mean_ci(arr)
            flow_recs.append(rec)
            row = {"algorithm": a, **{k2: v for k2, v in rec.items() if k2 != "buses"},
                   "buses": " ".join(str(b) for b in rec["buses"]),
                   "sent_packets": sent, "received_packets": recv, "dropped_packets": dropped}
            if opts.mode == "validate":
                row["queue_drops"] = sum(p["queue_drops"] for p in per)
                row["flowmon_tx_packets"] = sum(p["flowmon"].get("tx_packets", 0) for p in per)
                row["flowmon_rx_packets"] = sum(p["flowmon"].get("rx_packets", 0) for p in per)
                row["flowmon_dropped_packets"] = sum(p["flowmon"].get("dropped_packets", 0) for p in per)
            flow_rows.append(row)
        # ports: measured in both modes (round mode: TCP segments, which Eq. 1
        # does not model); CIs over replications, loss floored by the exact
        # binomial interval.
        link_meas = np.zeros(network.n_links)
        for e in range(network.n_links):
            u0, v0 = int(network.edge_a[e]), int(network.edge_b[e])
            for side, (u, v) in enumerate(((u0, v0), (v0, u0))):
                p = 2 * e + side
                per = [r["ports"][f"{u},{v}"] for r in runs]
                off = sum(q["offered_packets"] for q in per)
                drp = sum(q["dropped_packets"] for q in per)
                busy = float(np.mean([q["busy_s"] / q["window_s"] for q in per if q["window_s"] > 0]))
                link_meas[e] += busy  # both directions, as the planned utilisation
                row = {
                    "algorithm": a, "bus": labels[u], "peer_bus": labels[v],
                    "rho": float(ports_an["rho"][p]),
                    "capacity": scenario.queue_capacity,
                    "analytic_loss_probability": float(ports_an["loss_probability"][p]),
                    "analytic_mean_time_in_system_s": float(ports_an["mean_time_in_system_s"][p]),
                }
                loss, loss_hw = _mean_ci([q["dropped_packets"] / q["offered_packets"]
                                          if q["offered_packets"] else float("nan") for q in per])
                if off:
                    floor = binomial_half_width(drp, off)
                    loss_hw = max(loss_hw, floor) if np.isfinite(loss_hw) else floor
                w, w_hw = _mean_ci([q["mean_time_in_system_s"] for q in per])
                row.update({
                    "measured_loss_probability": loss,
                    "measured_loss_probability_ci95": loss_hw,
                    "measured_mean_time_in_system_s": w,
                    "measured_mean_time_in_system_ci95_s": w_hw,
                    "measured_rho": busy,
                    "offered_packets": off,
                    "dropped_packets": drp,
                })
                port_rows.append(row)
        for e, lk in enumerate(ap.links):
            row = {"algorithm": a, "a_bus": lk.a_bus, "b_bus": lk.b_bus, "bandwidth_mbps": lk.bandwidth_mbps,
                   "length_km": lk.length_km, "delay_s": lk.delay_s, "residual_mbps": lk.residual_mbps,
                   "utilisation": lk.utilisation}
            if opts.mode == "validate":
                row["offered_utilisation"] = lk.utilisation * scale
            # Both directions' busy fractions added (validate: the measured
            # window; round: the whole round).
            row["measured_utilisation"] = link_meas[network.link_id(network.index[lk.a_bus], network.index[lk.b_bus])]
            link_rows.append(row)
        entry = {
            "load_balance": ap.load_balance,
            "generator_bus": ap.generator_bus,
            "nodes_total": len(labels),
            "flows": flow_recs,
        }
        if opts.mode == "round":
            gts = [r["generation_time_s"] for r in runs]
            gt, gt_hw = _mean_ci(gts)
            first = runs[0]
            # Measured min-max: node whose slowest data-block arrival is earliest.
            worst = {}
            for key, t in first["arrival_s"].items():
                s, d = (int(x) for x in key.split(","))
                worst[d] = max(worst.get(d, 0.0), t)
            for t_node in {f.src for f in flows}:
                worst.setdefault(t_node, 0.0)
            complete = {d: w for d, w in worst.items()
                        if sum(1 for k in first["arrival_s"] if k.endswith(f",{d}")) >= len({f.src for f in flows} - {d})}
            measured_gen = labels[min(complete, key=lambda d: (complete[d], d))] if complete else None
            entry.update({
                "generation_time_s": gt if all(g is not None for g in gts) else None,
                "generation_time_ci95_s": gt_hw if all(g is not None for g in gts) else None,
                "generation_times_s": gts,
                "nodes_appended": min(r["nodes_appended"] for r in runs),
                "blocks_rejected": first["blocks_rejected"],
                "blocks_flagged": first["blocks_flagged"] if scenario.datacheck.enabled else None,
                "reject_reasons": first["reject_reasons"],
                "append_errors": first["append_errors"],
                "cut_off_buses": [labels[i] for i in first["cut_off"]],
                "replanned_pairs": first["replanned_pairs"],
                "retried_transfers": first["retried_transfers"],
                "measured_generator_bus": measured_gen,
                "generator_block_built_s": first["generator_built_s"],
                "round_end_s": first["end_s"],
            })
        else:
            entry.update({
                "nodes_appended": None,
                "blocks_rejected": 0,
                "max_port_rho": float(np.max(ports_an["rho"])),
            })
        summary["algorithms"][a] = entry
    return (summary, pd.DataFrame(flow_rows), pd.DataFrame(port_rows), pd.DataFrame(link_rows), timing)
