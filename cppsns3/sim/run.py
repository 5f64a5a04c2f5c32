"""`cppsns3 run`: packet-level runs of a scenario, in child processes.

The parent plans (pure Python), prepares the flows and blocks
(:mod:`cppsns3.sim.pipeline`), warms up the ns-3 wrappers once, then forks
one child per (algorithm, replication), each building and running its spec
(:func:`cppsns3.sim.netbuild.execute`); an ns-3 abort in a child becomes a
:class:`SimulationError` naming the scenario, algorithm, seed and
replication, with ns-3's last output lines.  All algorithms of a run carry
the same traffic (same flows, rates, RNG seed and streams; in round mode the
same signed block bytes).

Before any child starts, the resource guard (:mod:`cppsns3.sim.guard`)
estimates the run's peak memory and refuses a run that does not fit with
:class:`~cppsns3.errors.InsufficientMemory` (nothing written).

Outputs in ``DIR`` (:func:`cppsns3.sim.result.write_run`): ``summary.json``
(deterministic: same seed, same bytes), ``flows.csv``, ``ports.csv``,
``links.csv``, ``flowmon-ALGORITHM.xml`` (first replication), ``grid.json``
and ``timing.json`` (wall clock, events, memory: varies run to run).  They
are staged under temporary names (the children write the FlowMonitor XML
there too) and renamed into place together when the run is complete
(:class:`cppsns3.atomic.AtomicBatch`); Ctrl-C or SIGTERM during a run stops
the child, removes the temporaries and leaves the previous files (or
nothing) under the final names.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from cppsns3.sim.pipeline import DEFAULT_VALIDATE_DURATION_S, MODES, WARMUP_FRACTION, RunOptions
from cppsns3.atomic import AtomicBatch, interruptible, write_atomic

__all__ = ["RunOptions", "run", "run_scenario", "write_atomic", "MODES", "DEFAULT_VALIDATE_DURATION_S",
           "WARMUP_FRACTION"]


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


def run(scenario, out_dir, *, mode: str = "round", algorithm: str | None = None, seed: int | None = None,
        replications: int | None = None, data_scale: float = 1.0, load: float = 0.5,
        duration_s: float | None = None, plan=None, max_memory_gb: float | None = None,
        broadcast: str | None = None) -> dict:
    """What ``cppsns3 run`` does: plan, run every (algorithm, replication) in a child, write ``out_dir``.

    Parameters
    ----------
    scenario : Scenario or path
        A :class:`cppsns3.Scenario` (e.g. from ``Scenario.from_net``) or a TOML path.
    out_dir : path
        Created; receives the run-directory files (docs/run.md).
    mode : {"round", "validate"}
    algorithm : str, optional
        ``qtdr``, ``qos-r``, ``ra-dbmm`` or ``all``; default the scenario's ``algorithms``.
    seed, replications, data_scale, load, duration_s
        As the CLI options of the same names (None: the scenario's or the mode's default).
    plan : Plan, optional
        A plan of the scenario already made (else planned here).
    max_memory_gb : float, optional
        Memory the run may use, instead of what the machine has available
        (``--max-memory-gb``); the guard refuses a run whose estimate exceeds it.
    broadcast : {"unicast", "relay"}, optional
        Round mode: how blocks reach every node (``--broadcast``); default the
        scenario's ``broadcast``.

    Returns
    -------
    dict
        The ``summary.json`` object.

    Raises
    ------
    ScenarioError
        Bad scenario or option (nothing is written then).
    InsufficientMemory
        If the run's memory estimate exceeds the memory available (or
        ``max_memory_gb``); carries both figures; nothing is written.
    Interrupted
        On SIGTERM during the run (Ctrl-C: KeyboardInterrupt); the child is
        stopped and no file is left half-written or temporary.
    NoFeasiblePath
        If planning fails.
    SimulationError
        If a child run fails (the message names scenario, algorithm, seed).

    Examples
    --------
    >>> import cppsns3, tempfile
    >>> sc = cppsns3.Scenario.load("scenarios/ieee14.toml")
    >>> s = cppsns3.run(sc, tempfile.mkdtemp(), mode="round", algorithm="qtdr", data_scale=0.01)  # doctest: +SKIP
    """
    from cppsns3.model.routing import plan as make_plan
    from cppsns3.model.scenario import Scenario
    from cppsns3.model.memory import max_memory_bytes
    from cppsns3.sim.guard import check_run_memory

    opts = RunOptions(mode=mode, algorithm=algorithm, seed=seed, replications=replications,
                      data_scale=data_scale, load=load, duration_s=duration_s).validated()
    if max_memory_gb is not None:
        max_memory_bytes(max_memory_gb)  # bad input refused before planning
    t_start = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    if broadcast is not None:
        scenario = scenario.replace(broadcast=broadcast)
    algos = opts.algorithms(scenario)
    pl = plan if plan is not None else make_plan(scenario, algos)
    estimate = check_run_memory(scenario, pl, opts, max_memory_gb)
    out = Path(out_dir)
    created = not out.exists()
    with interruptible():
        try:
            summary_path = _run_children(scenario, pl, opts, algos, out, estimate, t_start)
        except BaseException:
            if created:
                try:
                    out.rmdir()  # only if nothing else was put there meanwhile
                except OSError:
                    pass
            raise
    import json

    return json.loads(summary_path.read_text())


def _run_children(scenario, pl, opts, algos, out, estimate, t_start):
    from cppsns3.sim.netbuild import execute
    from cppsns3.sim.pipeline import assemble, prepare, run_header
    from cppsns3.sim.result import write_run
    from cppsns3.sim.runner import run_in_child
    from cppsns3.sim.warmup import warm_up

    reps = opts.replications_for()
    out.mkdir(parents=True, exist_ok=True)
    name = scenario.name
    progress = _Progress(len(algos) * reps + (len(scenario.terminals) if opts.mode == "round" else 0) + 1,
                         f"{name} {opts.mode}")
    results = []
    batch = AtomicBatch()
    try:
        warm_up()
        progress.step("ns-3 loaded")
        prepared = prepare(scenario, pl, opts, progress=lambda: progress.step("signed data blocks"))
        header = run_header(scenario, pl, opts, prepared[0].seed, prepared[0].scale)
        for pa in prepared:
            runs = []
            # The child writes the FlowMonitor XML under a temporary name of the run's batch.
            xml = batch.stage(out / f"flowmon-{pa.name}.xml")
            for r in range(reps):
                spec = pa.spec(r, flowmon_xml=str(xml) if r == 0 else None)
                label = f"scenario {name} algorithm {pa.name} seed {pa.seed} replication {r}"
                runs.append(run_in_child(execute, spec, label=label))
                progress.step(f"{pa.name} replication {r + 1}/{reps}")
            results.append(assemble(pa, runs, header, flowmon_path=xml))
        timing = {
            "total_wall_s": time.perf_counter() - t_start,
            "peak_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "parent_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "memory_estimate": estimate.to_dict(),
        }
        return write_run(out, results, timing_extra=timing, batch=batch)
    finally:
        batch.discard()  # a no-op after the commit; else removes every temporary
        progress.close()


def run_scenario(scenario_path, out_dir, options: RunOptions, max_memory_gb: float | None = None) -> dict:
    """:func:`run` with its options as one :class:`RunOptions` (the CLI's shape)."""
    o = options
    return run(scenario_path, out_dir, mode=o.mode, algorithm=o.algorithm, seed=o.seed,
               replications=o.replications, data_scale=o.data_scale, load=o.load, duration_s=o.duration_s,
               max_memory_gb=max_memory_gb)
