"""The time-stepped co-simulation: grid and ns-3 network through a day of sampling steps.

For every step ``k`` (``time_s = k * step_s``, default 96 steps of 900 s):

1. **Grid.**  The pandapower power flow of the step's loads (the synthetic
   daily profile of :mod:`cppsns3.chain.measurements`, seeded), solved on a
   working copy of the scenario's net without the lines a ``line_trip``
   fault has taken out (``at_s <= time_s < until_s``).  Buses left without
   supply are reported (``islanded_buses``); a de-energised bus reads 0.
2. **Blocks.**  Every demand terminal signs a data block of that power flow
   (its bus's quantities), pointing at the chain's tip.
3. **Network.**  A packet-level generation round in ns-3 (the round mode of
   ``cppsns3 run``, one forked child per step) on the planned paths; the
   communication link along a tripped line (fibre on the line) is down from
   the trip's instant, the pairs re-routed as ``link_down`` does.  The step's
   round starts at its measuring time: its ns-3 clock runs from ``time_s``;
   a round still running at the next step's start is reported (``overrun``).
4. **Consumer.**  A data block that reaches a node later than the contract's
   tolerance Δt (``tolerance_s``) after the step's start, or not at all, is
   missing for that node in that step (``blocks_late`` counts those
   deliveries).  At the generator, pandapower's state estimation runs over
   the measurements of the blocks that arrived in time (plus the generator's
   own bus), against the step's true power flow: ``se_max_vm_error_pu``.
5. **Chain.**  The generator's block of the round points at the previous
   one; it and the data blocks it lists are appended to ``chain.cpchain``,
   which ``cppsns3 verify-chain`` checks end to end.

Outputs in ``DIR``: ``steps.csv`` (one row per step; same seed, same bytes),
``summary.json``, ``chain.cpchain``, ``timing.json`` (wall clock per step,
peak memory: varies), ``grid.json``; ``cppsns3 report DIR`` draws the day.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cppsns3.errors import ScenarioError

__all__ = ["CosimResult", "cosim", "STEPS_COLUMNS", "DEFAULT_STEPS", "DEFAULT_STEP_S", "DEFAULT_TOLERANCE_S"]

DEFAULT_STEPS = 96
DEFAULT_STEP_S = 900.0
#: Δt of the data-acquisition contract (cppsns3.chain.contracts default).
DEFAULT_TOLERANCE_S = 1.0

STEPS_COLUMNS = [
    "step", "time_s", "generation_time_s", "nodes_appended", "nodes_total", "blocks_late", "blocks_rejected",
    "cut_off_buses", "se_max_vm_error_pu", "se_mean_vm_error_pu", "se_measurements", "blocks_in_time_at_generator",
    "chain_height", "tripped_lines", "tripped_line_max_abs_p_mw", "islanded_buses", "down_links",
    "routes_on_down_links", "round_end_s", "overrun", "events",
]


@dataclass
class CosimResult:
    """What :func:`cosim` produced.

    Attributes
    ----------
    steps : pandas.DataFrame
        One row per step (the columns of ``steps.csv``).
    summary : dict
        The ``summary.json`` object.
    chain_path : Path
    out_dir : Path
    """

    steps: object
    summary: dict
    chain_path: Path
    out_dir: Path


def _check(steps, step_s, data_scale, tolerance_s):
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 100000:
        raise ScenarioError(f"--steps must be an integer in [1, 100000], got {steps!r}")
    if not (isinstance(step_s, (int, float)) and math.isfinite(step_s) and 1.0 <= step_s <= 86400.0):
        raise ScenarioError(f"--step-s must be in [1, 86400] seconds, got {step_s!r}")
    if not (isinstance(data_scale, (int, float)) and math.isfinite(data_scale) and 0 < data_scale <= 100):
        raise ScenarioError(f"--data-scale must be in (0, 100], got {data_scale!r}")
    if not (isinstance(tolerance_s, (int, float)) and math.isfinite(tolerance_s) and 0 < tolerance_s <= step_s):
        raise ScenarioError(f"--tolerance-s must be in (0, step_s], got {tolerance_s!r}")


class _Trips:
    """Line trips: which lines are out at a time, and which links go down in a step."""

    def __init__(self, scenario):
        from cppsns3.model.grid import bus_labels, fault_lines

        net, network = scenario.net, scenario.network
        labels = bus_labels(net)
        self.trips = []  # (at_s, until_s, lines, link or None)
        for f in scenario.faults:
            if f.kind != "line_trip":
                continue
            lines = fault_lines(net, f)
            link = None
            i = int(lines[0])
            a = network.site_of(labels[int(net.line.at[i, "from_bus"])])
            b = network.site_of(labels[int(net.line.at[i, "to_bus"])])
            if a != b:
                ia, ib = network.index[a], network.index[b]
                link = network.link_id(ia, ib)
            self.trips.append((float(f.at_s), f.until_s, tuple(lines), link))
        # Lines per link, so a link stays up while another circuit of it is in service.
        self.link_lines = {}
        for i, fb, tb, ok in zip(net.line.index, net.line.from_bus, net.line.to_bus, net.line.in_service):
            if not ok:
                continue
            a, b = network.site_of(labels[int(fb)]), network.site_of(labels[int(tb)])
            if a != b:
                self.link_lines.setdefault(network.link_id(network.index[a], network.index[b]), set()).add(int(i))

    def lines_out(self, t: float) -> set:
        out = set()
        for at_s, until_s, lines, _ in self.trips:
            if at_s <= t and (until_s is None or t < until_s):
                out.update(lines)
        return out

    def link_down(self, t0: float, t1: float) -> tuple:
        """``(local at_s, link)`` of links down during [t0, t1): all their circuits tripped."""
        events = {}
        for at_s, until_s, lines, link in self.trips:
            if link is None or at_s >= t1 or (until_s is not None and until_s <= t0):
                continue
            out_then = self.lines_out(max(at_s, t0))
            if self.link_lines.get(link, set()) <= out_then:
                local = max(0.0, at_s - t0)
                events[link] = min(events.get(link, local), local)
        return tuple(sorted((t, e) for e, t in events.items()))

    def instants(self) -> list:
        out = []
        for at_s, until_s, *_ in self.trips:
            out.append(at_s)
            if until_s is not None:
                out.append(until_s)
        return sorted(out)


def cosim(scenario, out_dir, *, steps: int = DEFAULT_STEPS, step_s: float = DEFAULT_STEP_S,
          algorithm: str | None = None, seed: int | None = None, data_scale: float = 1.0,
          tolerance_s: float = DEFAULT_TOLERANCE_S, progress: bool = True,
          broadcast: str | None = None) -> CosimResult:
    """Run the co-simulation of a scenario (see the module docstring).

    Parameters
    ----------
    scenario : Scenario or path
    out_dir : path
    steps, step_s : int, float
        Number and length of the sampling steps (default 96 x 900 s: a day).
    algorithm : str, optional
        Routing (default: ``qtdr`` if the scenario lists it, else its first).
    seed : int, optional
        Default the scenario's.
    data_scale : float
        Factor on the terminals' block volumes.
    tolerance_s : float
        The contract's Δt: a block later than this after its step's start is missing.
    progress : bool
        One line per step on stderr.
    broadcast : {"unicast", "relay"}, optional
        How each step's blocks reach every node; default the scenario's.

    Returns
    -------
    CosimResult

    Raises
    ------
    ScenarioError
        On a bad option or scenario (nothing is written then).
    """
    import pandas as pd

    import cppsns3
    from cppsns3.chain import ChainFileWriter, GeneratorBlock
    from cppsns3.chain.measurements import DEFAULT_START_TIME_S, PowerFlowError, PowerFlowStepper
    from cppsns3.cosim.estimation import estimate, measurement_table
    from cppsns3.model.scenario import ALGORITHMS, Scenario, check_seed
    from cppsns3.sim.netbuild import execute
    from cppsns3.sim.pipeline import RunOptions, link_outages, outage_events, prepare, relay_faults
    from cppsns3.atomic import AtomicBatch, interruptible
    from cppsns3.sim.result import clean_json
    from cppsns3.model.grid import bus_labels
    from cppsns3.sim.round import prepare_round, round_bodies, round_keys
    from cppsns3.sim.runner import start_child
    from cppsns3.sim.spec import RoundInputs
    from cppsns3.sim.warmup import warm_up

    t_all = time.perf_counter()
    _check(steps, step_s, data_scale, tolerance_s)
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    if broadcast is not None:
        scenario = scenario.replace(broadcast=broadcast)
    sc = scenario
    if algorithm is None:
        algorithm = "qtdr" if "qtdr" in sc.algorithms else sc.algorithms[0]
    if algorithm not in ALGORITHMS:
        raise ScenarioError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    seed = sc.seed if seed is None else check_seed(seed, "--seed")
    network = sc.network
    labels = network.nodes
    trips = _Trips(sc)
    outages = link_outages(sc, network)  # link_down, link_flap, node_down: times in run time
    relays = relay_faults(sc, network)
    pl = cppsns3.plan(sc, [algorithm])
    gen_bus = pl.algorithms[algorithm].generator_bus
    gen = network.index[gen_bus]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    stepper = PowerFlowStepper(sc.net, steps, step_s, seed, DEFAULT_START_TIME_S)
    opts = RunOptions(mode="round", algorithm=algorithm, seed=seed, data_scale=data_scale)
    keys, _ = round_keys(sc, network, seed)
    warm_up()
    rows, timing_steps, se_failures = [], [], {}
    chain_path = out / "chain.cpchain"
    st = _State()
    rss_at = {}

    def grid_side(k):
        """Step k's power flow, its row's grid columns, a copy of the solved net, the blocks' bodies."""
        w0 = time.perf_counter()
        t0 = k * step_s
        out_lines = trips.lines_out(t0)
        net = stepper.net
        want = net.line.index.isin(sorted(out_lines))
        base = sc.net.line.in_service.to_numpy(dtype=bool)
        new_state = base & ~want
        if not np.array_equal(net.line.in_service.to_numpy(dtype=bool), new_state):
            net.line["in_service"] = new_state
            stepper.topology_changed()
        g = _GridStep(k=k, row={"step": k, "time_s": t0})
        try:
            values = stepper.solve(k)
        except PowerFlowError as exc:
            g.reason = str(exc)
            values = None
        tripped = sorted(out_lines)
        g.row["tripped_lines"] = " ".join(map(str, tripped))
        if values is not None and tripped:
            pw = net.res_line.loc[tripped, "p_from_mw"].to_numpy(dtype=float)
            g.row["tripped_line_max_abs_p_mw"] = float(np.nanmax(np.abs(np.nan_to_num(pw)))) if pw.size else 0.0
        else:
            g.row["tripped_line_max_abs_p_mw"] = 0.0 if values is not None else float("nan")
        if values is None:
            g.row["islanded_buses"] = ""
            g.timing = {"step": k, "pf_wall_s": time.perf_counter() - w0}
            return g
        lab = bus_labels(net)
        iso = net.res_bus.index[~np.isfinite(net.res_bus.vm_pu.to_numpy(dtype=float))]
        g.row["islanded_buses"] = " ".join(str(lab[int(i)]) for i in iso)
        g.frame = stepper.frame([np.nan_to_num(values, nan=0.0)], [k])
        g.ts = float(stepper.times[k])
        g.net = copy.deepcopy(net)  # the step's truth for its estimation, which runs after the next power flow
        w_pf = time.perf_counter()
        g.bodies = round_bodies(sc, network, keys, g.frame, seed=seed, data_scale=data_scale, period_s=step_s)
        g.timing = {"step": k, "pf_wall_s": w_pf - w0, "bodies_wall_s": time.perf_counter() - w_pf}
        return g

    def start_round(g):
        """Seal step g.k's blocks on the chain's tip and start its ns-3 round in a child."""
        w0 = time.perf_counter()
        t0 = g.k * step_s
        prep = prepare_round(sc, network, seed=seed, data_scale=data_scale, frame=g.frame, prev_hash=st.tip,
                             timestamp_s=g.ts, period_s=step_s, bodies=g.bodies)
        if st.writer is None:
            st.writer = ChainFileWriter(chain_path, prep.registry, step_s)
        if st.pa is None:
            st.pa = prepare(sc, pl, opts, prep=prep)[0]
        fault_down, fault_up = outage_events(outages, t0, t0 + step_s)
        down = tuple(sorted(set(trips.link_down(t0, t0 + step_s)) | set(fault_down)))
        ri = RoundInputs(prep=prep, generator=gen, link_down=down, link_up=fault_up, relay_faults=relays,
                         broadcast=sc.broadcast, timestamp_s=g.ts, prev_hash=st.tip, height=st.height)
        spec = dataclasses.replace(st.pa, round_inputs=ri).spec(0)
        g.prep, g.down = prep, down
        g.timing["seal_wall_s"] = time.perf_counter() - w0
        g.t_start = time.perf_counter()
        return start_child(execute, spec, label=f"cosim {sc.name} algorithm {algorithm} seed {seed} step {g.k}")

    def finish_round(g, child):
        """Wait for step g.k's round; move the chain's tip to its generator block."""
        g.raw = raw = child.wait()
        g.timing["network_wall_s"] = time.perf_counter() - g.t_start
        g.timing["child_build_wall_s"] = float(raw.get("build_wall_s", 0.0))
        g.timing["child_sim_wall_s"] = float(raw.get("sim_wall_s", 0.0))
        st.events += raw["events"]
        gen_raw = raw.get("generator_block")
        if gen_raw is not None:
            g.gblk = GeneratorBlock.from_bytes(gen_raw)
            st.tip = g.gblk.hash()
            st.height += 1
        g.height = st.height

    def consume(g):
        """Step g.k's consumer side: deliveries in time, estimation, chain file, its steps.csv row."""
        w0 = time.perf_counter()
        raw, prep, down, row = g.raw, g.prep, g.down, g.row
        # Deliveries: late (after tolerance) or missing, per (origin, node).
        late = 0
        late_at = [0] * len(labels)
        in_time_at_gen = []
        for o in sorted(prep.payloads):
            for node in range(len(labels)):
                if node == o:
                    continue
                t_arr = raw["arrival_s"].get((o, node))
                ok = t_arr is not None and t_arr <= tolerance_s
                late += 0 if ok else 1
                late_at[node] += 0 if ok else 1
                if node == gen and ok:
                    in_time_at_gen.append(o)
        _add_outcomes(st, raw, labels, late_at)
        terms = {network.index[network.site_of(t.bus)]: t.bus for t in sc.terminals}
        arrived_buses = sorted({terms[o] for o in in_time_at_gen} | ({terms[gen]} if gen in terms else set()),
                               key=str)
        table = measurement_table(g.net, arrived_buses, seed=seed, step=g.k)
        se = estimate(g.net, table, local_bus=gen_bus)
        w_se = time.perf_counter()
        if not se.ok:
            se_failures[g.k] = se.reason
        # Chain: the generator block and the data blocks it lists (the senders' own objects).
        if g.gblk is not None:
            st.writer.append(g.gblk, [prep.blocks[h] for h in g.gblk.block_hashes])
        routes_down = 0
        if down:
            dl = {e for _, e in down}
            for path in raw["routes"].values():
                if any(network.link_id(u, v) in dl for u, v in zip(path[:-1], path[1:])):
                    routes_down += 1
        row.update({
            "generation_time_s": raw["generation_time_s"],
            "nodes_appended": raw["nodes_appended"],
            "nodes_total": raw["nodes_total"],
            "blocks_late": late,
            "blocks_rejected": raw["blocks_rejected"],
            "cut_off_buses": " ".join(str(labels[i]) for i in raw["cut_off"]),
            "se_max_vm_error_pu": se.max_vm_error_pu if se.ok else float("nan"),
            "se_mean_vm_error_pu": se.mean_vm_error_pu if se.ok else float("nan"),
            "se_measurements": se.n_measurements,
            "blocks_in_time_at_generator": len(in_time_at_gen),
            "chain_height": g.height,
            "down_links": " ".join(f"{labels[network.edge_a[e]]}-{labels[network.edge_b[e]]}" for _, e in down),
            "routes_on_down_links": routes_down,
            "round_end_s": raw["end_s"],
            "overrun": bool(raw["end_s"] > step_s),
            "events": raw["events"],
        })
        g.timing.update({"se_wall_s": w_se - w0, "chain_wall_s": time.perf_counter() - w_se})
        done(g, se)

    def done(g, se):
        rows.append(g.row)
        timing_steps.append(g.timing)
        if g.k + 1 in (10, steps):
            rss_at[g.k + 1] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        _progress(progress, g.k, steps, g.row, se)

    # Pipelined: while step k's round runs in its ns-3 child, the parent does
    # step k-1's consumer side and step k+1's power flow and block bodies
    # (neither depends on round k); only sealing the blocks on the tip waits.
    child, prev = None, None
    complete = False
    signals = interruptible()  # SIGTERM unwinds like Ctrl-C: the child is stopped, the chain file aborted
    signals.__enter__()
    try:
        g = grid_side(0)
        for k in range(steps):
            child = start_round(g) if g.frame is not None else None
            if prev is not None:
                consume(prev)
                prev = None
            if g.frame is None:
                se_failures[k] = f"power flow: {g.reason}"
                _empty_row(g.row, len(labels), st.height)
                done(g, None)
            nxt = grid_side(k + 1) if k + 1 < steps else None
            if child is not None:
                finish_round(g, child)
                child, prev = None, g
            g = nxt
        if prev is not None:
            consume(prev)
        complete = True
    finally:
        try:
            if child is not None:
                child.cancel()
            if st.writer is not None:
                # An interrupted or failed co-simulation leaves no chain file under its name.
                st.writer.close() if complete else st.writer.abort()
        finally:
            signals.__exit__(None, None, None)
    tip, height, events_total = st.tip, st.height, st.events

    # The run's files are renamed into place together (cppsns3.atomic.AtomicBatch).
    with AtomicBatch() as batch:
        steps_df = pd.DataFrame(rows, columns=STEPS_COLUMNS)
        batch.write(out / "steps.csv", steps_df.to_csv(index=False, float_format="%.9g", lineterminator="\n"))
        summary = {
            "scenario": sc.name,
            "grid": sc.grid,
            "profiles": stepper.profile_source,
            "seed": seed,
            "algorithm": algorithm,
            "steps": steps,
            "step_s": step_s,
            "tolerance_s": tolerance_s,
            "data_scale": data_scale,
            "generator_bus": gen_bus,
            "load_balance": pl.algorithms[algorithm].load_balance,
            "broadcast": sc.broadcast,
            "faults": [f.to_dict() for f in sc.faults],
            "fault_instants_s": trips.instants(),
            "chain": {"file": chain_path.name, "height": height, "tip": tip.hex()},
            "se_failures": {str(k): v for k, v in se_failures.items()},
            "steps_overrun": int(steps_df.overrun.fillna(False).astype(bool).sum()),
            "blocks_late_total": int(steps_df.blocks_late.fillna(0).sum()),
            "nodes_total": len(labels),
            "nodes": st.nodes,
            "reject_reasons": dict(sorted(st.reject_reasons.items())),
            "packets": st.packets,
        }
        batch.write(out / "summary.json", json.dumps(clean_json(summary), indent=2) + "\n")
        import pandapower as pp

        batch.write(out / "grid.json", pp.to_json(sc.net))
        timing = {"total_wall_s": time.perf_counter() - t_all, "events": events_total,
                  "peak_rss_mb_at_step": rss_at,
                  "peak_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "steps": timing_steps}
        batch.write(out / "timing.json", json.dumps(clean_json(timing), indent=2) + "\n")
    return CosimResult(steps=steps_df, summary=summary, chain_path=chain_path, out_dir=out)


def _add_outcomes(st, raw, labels, late_at) -> None:
    """Add one step's per-node outcomes (round mode's ``nodes``) to the run's totals.

    ``late`` counts the blocks a node got after the tolerance (or never) in
    that step; ``cut_off`` and ``appended`` count steps.
    """
    for v, rec in enumerate(raw["nodes"]):
        tot = st.nodes.setdefault(str(labels[v]), {"accepted": 0, "rejected": 0, "reject_reasons": {}, "resent": 0,
                                                   "late": 0, "cut_off": 0, "appended": 0})
        for k in ("accepted", "rejected", "resent"):
            tot[k] += int(rec[k])
        tot["late"] += int(late_at[v])
        tot["cut_off"] += int(bool(rec["cut_off"]))
        tot["appended"] += int(bool(rec["appended"]))
        for r, c in rec["reject_reasons"].items():
            tot["reject_reasons"][r] = tot["reject_reasons"].get(r, 0) + c
    for r, c in raw["reject_reasons"].items():
        st.reject_reasons[r] = st.reject_reasons.get(r, 0) + c
    for k, c in raw["packets"].items():
        if isinstance(c, dict):
            d = st.packets.setdefault(k, {})
            for r, x in c.items():
                d[r] = d.get(r, 0) + x
        else:
            st.packets[k] = st.packets.get(k, 0) + c


@dataclass
class _State:
    """What the steps hand on: the chain's tip and height, its file, the prepared algorithm, events."""

    tip: bytes = bytes(32)
    height: int = 0
    writer: object = None
    pa: object = None
    events: int = 0
    nodes: dict = field(default_factory=dict)  # bus label -> outcomes summed over the steps
    reject_reasons: dict = field(default_factory=dict)
    packets: dict = field(default_factory=dict)


@dataclass
class _GridStep:
    """One step on its way through the pipeline (grid side, round, consumer side)."""

    k: int
    row: dict
    reason: str | None = None
    frame: object = None
    ts: float | None = None
    net: object = None
    bodies: dict | None = None
    timing: dict | None = None
    prep: object = None
    down: tuple = ()
    t_start: float = 0.0
    raw: dict | None = None
    gblk: object = None
    height: int = 0


def _empty_row(row, n_nodes, height):
    row.update({"generation_time_s": None, "nodes_appended": 0, "nodes_total": n_nodes, "blocks_late": None,
                "blocks_rejected": None, "cut_off_buses": "", "se_max_vm_error_pu": None,
                "se_mean_vm_error_pu": None, "se_measurements": 0, "blocks_in_time_at_generator": 0,
                "chain_height": height, "down_links": "", "routes_on_down_links": None, "round_end_s": None,
                "overrun": None, "events": 0})
    return row


def _progress(on, k, steps, row, se):
    if not on:
        return
    gt = row.get("generation_time_s")
    gts = "n/a" if gt is None else f"{gt * 1e3:.2f} ms"
    err = row.get("se_max_vm_error_pu")
    errs = "n/a" if err is None or (isinstance(err, float) and math.isnan(err)) else f"{err:.4f} pu"
    print(f"cppsns3 cosim: step {k + 1}/{steps} t={row['time_s']:.0f}s generation {gts}, "
          f"appended {row.get('nodes_appended')}/{row.get('nodes_total')}, late {row.get('blocks_late')}, "
          f"SE error {errs}", file=sys.stderr, flush=True)
