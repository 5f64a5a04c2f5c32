#!/usr/bin/env python
"""Reproduce the paper's figures end to end (Yang et al. 2018, Figs. 9-12, Table 3).

Runs the planner (Table 3) and ``cppsns3 run`` for every experiment, one after
the other (ns-3 runs are single-threaded; the machine has 2 cores), then draws
the figures and writes ``OUT/README.md`` listing each figure with one line.

    python scripts/reproduce_paper.py --out results            # full Table 2 volumes
    python scripts/reproduce_paper.py --out results --quick    # small data scale, fewer runs

Runs go to ``OUT/runs/NAME`` (each with its own ``plots/`` from ``cppsns3
report``) and their logs to ``OUT/logs/NAME.log``.  A run whose directory
already holds a ``summary.json`` is reused unless ``--fresh`` is given, so an
interrupted reproduction resumes where it stopped.  A failed step is reported
in the README and the exit status is 1; the other steps still run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"

#: Grid label -> scenario file (Table 2 demand terminals and volumes).
GRIDS = {
    "14-bus": "ieee14.toml",
    "30-bus": "ieee30.toml",
    "39-bus": "ieee39.toml",
    "57-bus": "ieee57.toml",
    "118-bus": "ieee118.toml",
}
FEASIBILITY = "ieee39_feasibility.toml"

#: What each output file shows (one line each in the README).
FIGURES = {
    "fig09_generation_time_ieee39_feasibility.png":
        "Fig. 9 analogue: block generation time of QT-DR, QoS-R and RA-DBMM on the 39-bus feasibility case "
        "(terminals 1, 13, 17, 5, 8, 15).",
    "fig10_link_utilisation_ieee39_feasibility.png":
        "Fig. 10 analogue: utilisation of every link under each algorithm on the 39-bus feasibility case "
        "(planned flows over bandwidth; measured bars where the run reports them).",
    "fig11_generation_time_by_grid.png":
        "Fig. 11 analogue: block generation time per algorithm on the {grids} grids (Table 2 terminals).",
    "fig12_link_utilisation_ieee118.png":
        "Fig. 12 analogue: utilisation of every link under each algorithm on the 118-bus grid.",
    "table3_load_balance.csv":
        "Table 3 analogue: Load_B (Eq. 3, Mbit/s) per grid and algorithm from the planner, beside the paper's "
        "values, with QT-DR's relative reductions.",
    "table3_load_balance.png":
        "Table 3 analogue as a plot: our Load_B, the paper's Load_B, and QT-DR's reduction against each baseline.",
    "delay_scatter_eq2.png":
        "Measured mean one-way delay per flow against Eq. 2 (validation mode), identity line and 95 % CIs.",
    "ports_eq1_over_rho.png":
        "Measured loss probability and mean time in system W per port against Eq. 1 (M/M/1/K), over rho, "
        "from validation runs at several loads.",
}


@dataclass
class Step:
    name: str
    kind: str  # "table3", "run", "figure"
    args: dict = field(default_factory=dict)
    status: str = "pending"
    detail: str = ""
    wall_s: float = 0.0


def _fmt(x: float) -> str:
    return f"{x:g}"


def run_arguments(scenario: str, mode: str, opts, load: float | None = None) -> dict:
    """Keyword arguments of :func:`cppsns3.run` for one experiment."""
    kw = {"mode": mode, "algorithm": "all", "seed": opts.seed, "replications": opts.replications}
    if mode == "round":
        kw["data_scale"] = opts.data_scale
    else:
        kw["load"] = load
        kw["duration_s"] = opts.duration_s
    return kw


def cli_equivalent(scenario: str, kw: dict) -> str:
    """The ``cppsns3 run`` command line that does what ``cppsns3.run(**kw)`` does."""
    parts = ["cppsns3", "run", f"scenarios/{scenario}", "--out", "DIR"]
    for k, v in kw.items():
        if v is not None:
            parts += ["--" + k.replace("_", "-"), _fmt(v) if isinstance(v, float) else str(v)]
    return " ".join(parts)


def plan_steps(opts) -> list[Step]:
    """Every step of the reproduction, in order."""
    steps = [Step("table3", "table3")]
    steps.append(Step("round-ieee39_feasibility", "run", {"scenario": FEASIBILITY, "mode": "round"}))
    grids = opts.grids
    for label in grids:
        steps.append(Step(f"round-{GRIDS[label][:-5]}", "run", {"scenario": GRIDS[label], "mode": "round"}))
    for rho in opts.loads:
        steps.append(Step(f"validate-{opts.validate_grid[:-5]}-rho{_fmt(rho)}", "run",
                          {"scenario": opts.validate_grid, "mode": "validate", "load": rho}))
    steps.append(Step("figures", "figure"))
    return steps


def do_run(step: Step, opts, runs: Path, logs: Path) -> None:
    out = (runs / step.name).resolve()
    if (out / "summary.json").is_file() and not opts.fresh:
        step.status, step.detail = "reused", "existing summary.json"
        return
    if out.exists():
        shutil.rmtree(out)
    import contextlib

    import cppsns3

    kw = run_arguments(step.args["scenario"], step.args["mode"], opts, step.args.get("load"))
    log = logs / f"{step.name}.log"
    with open(log, "w") as fh, contextlib.redirect_stderr(fh), contextlib.redirect_stdout(fh):
        fh.write("$ " + cli_equivalent(step.args["scenario"], kw) + "  (same as cppsns3.run)\n")
        fh.flush()
        try:
            cppsns3.run(cppsns3.Scenario.load(SCENARIOS / step.args["scenario"]), out, **kw)
        except cppsns3.CppsError as exc:
            raise RuntimeError(f"cppsns3.run failed: {exc}") from None
    from cppsns3.report import report_run

    report_run(out)
    step.status = "done"


def do_figures(opts, runs: Path, steps: list[Step]) -> list[str]:
    """Draw the cross-run figures; return the names of those that could not be drawn, with why."""
    from cppsns3.report import load_run, plots
    from cppsns3.report.paper import generation_times_by_grid, merged_table

    ok = {s.name for s in steps if s.kind == "run" and s.status in ("done", "reused")}
    missing = []
    out = opts.out

    def need(name, fig):
        if name not in ok:
            missing.append(f"{fig}: run {name} did not complete")
            return False
        return True

    if need("round-ieee39_feasibility", "fig09/fig10"):
        run = load_run(runs / "round-ieee39_feasibility")
        t = run.generation_times()
        if t.empty:
            missing.append("fig09: the feasibility run has no generation_time_s")
        else:
            plots.plot_generation_time(t, out / "fig09_generation_time_ieee39_feasibility.png",
                                       title="Fig. 9 analogue: generation time, 39-bus feasibility case")
        if run.links is not None:
            plots.plot_link_utilisation(run.links, out / "fig10_link_utilisation_ieee39_feasibility.png",
                                        title="Fig. 10 analogue: link utilisation, 39-bus feasibility case")
        else:
            missing.append("fig10: the feasibility run has no links.csv")
    done_grids = {label: runs / f"round-{GRIDS[label][:-5]}" for label in opts.grids
                  if f"round-{GRIDS[label][:-5]}" in ok}
    if done_grids:
        t = generation_times_by_grid(done_grids)
        if not t.empty:
            plots.plot_generation_time_by_grid(t, out / "fig11_generation_time_by_grid.png",
                                               title="Fig. 11 analogue: generation time across grids")
            t.to_csv(out / "fig11_generation_time_by_grid.csv", index=False, float_format="%.6g")
    lost = [label for label in opts.grids if label not in done_grids]
    if lost:
        missing.append(f"fig11: no round run for {', '.join(lost)}")
    if "118-bus" not in opts.grids:
        missing.append("fig12: the 118-bus grid is not in --grids")
    elif need("round-ieee118", "fig12"):
        run = load_run(runs / "round-ieee118")
        if run.links is not None:
            plots.plot_link_utilisation(run.links, out / "fig12_link_utilisation_ieee118.png",
                                        title="Fig. 12 analogue: link utilisation, 118-bus grid")
    vnames = {rho: f"validate-{opts.validate_grid[:-5]}-rho{_fmt(rho)}" for rho in opts.loads}
    vdone = {f"load {_fmt(rho)}": runs / n for rho, n in vnames.items() if n in ok}
    if vdone:
        ports = merged_table(vdone, "ports", label="load")
        plots.plot_ports_eq1(ports, out / "ports_eq1_over_rho.png",
                             title=f"Ports vs Eq. 1 over ρ, {opts.validate_grid[:-5]}, "
                                   f"loads {', '.join(_fmt(r) for r in opts.loads)}")
        mid = min(opts.loads, key=lambda r: abs(r - 0.5))
        key = f"load {_fmt(mid)}"
        if key in vdone:
            flows = load_run(vdone[key]).flows
            plots.plot_delay_scatter(flows, out / "delay_scatter_eq2.png",
                                     title=f"Per-flow delay vs Eq. 2, {opts.validate_grid[:-5]}, load ρ = {_fmt(mid)}")
    else:
        missing.append("delay_scatter_eq2/ports_eq1_over_rho: no validation run completed")
    return missing


def write_readme(opts, steps: list[Step], missing: list[str], argv: list[str]) -> Path:
    out = opts.out
    lines = ["# Reproduction of Yang et al. 2018 (CPPS blockchain) with cppsns3", "",
             f"Command: `python scripts/reproduce_paper.py {' '.join(argv)}`", "",
             f"Mode: {'quick' if opts.quick else 'full'}; data scale {_fmt(opts.data_scale)} of the Table 2 "
             f"volumes; seed {opts.seed}; validation loads {', '.join(_fmt(r) for r in opts.loads)} "
             f"on {opts.validate_grid}.", "", "## Figures", ""]
    grids = [g.removesuffix("-bus") for g in opts.grids]
    grid_text = (", ".join(f"{g}-" for g in grids[:-1]) + " and " if len(grids) > 1 else "") + f"{grids[-1]}-bus"
    for name, what in FIGURES.items():
        if (out / name).is_file():
            lines.append(f"- [{name}]({name}): {what.format(grids=grid_text)}")
    if (out / "fig11_generation_time_by_grid.csv").is_file():
        lines.append("- [fig11_generation_time_by_grid.csv](fig11_generation_time_by_grid.csv): the numbers "
                     "behind Fig. 11.")
    lines.append("- `runs/NAME/plots/*.png`: each run's own figures from `cppsns3 report` (delay vs Eq. 2, "
                 "ports vs Eq. 1, link utilisation, generation time, FlowMonitor delay CDF).")
    if missing:
        lines += ["", "## Not produced", ""] + [f"- {m}" for m in missing]
    t3 = out / "table3_load_balance.csv"
    if t3.is_file():
        import pandas as pd

        t = pd.read_csv(t3)
        lines += ["", "## Table 3 analogue (Load_B; ours in Mbit/s, the paper's without units)", "",
                  "| grid | QoS-R | RA-DBMM | QT-DR | paper QoS-R | paper RA-DBMM | paper QT-DR "
                  "| QT-DR vs QoS-R | paper | QT-DR vs RA-DBMM | paper |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for _, r in t.iterrows():
            lines.append(
                f"| {r['grid']} | {r['qos_r_load_balance_mbps']:.1f} | {r['ra_dbmm_load_balance_mbps']:.1f} | "
                f"{r['qtdr_load_balance_mbps']:.1f} | {r['paper_qos_r_load_balance']:.2f} | "
                f"{r['paper_ra_dbmm_load_balance']:.2f} | {r['paper_qtdr_load_balance']:.2f} | "
                f"{100 * r['qtdr_vs_qos_r_reduction_ratio']:.1f} % | "
                f"{100 * r['paper_qtdr_vs_qos_r_reduction_ratio']:.1f} % | "
                f"{100 * r['qtdr_vs_ra_dbmm_reduction_ratio']:.1f} % | "
                f"{100 * r['paper_qtdr_vs_ra_dbmm_reduction_ratio']:.1f} % |")
    lines += ["", "## Steps", "", "| step | status | wall s | detail |", "|---|---|---|---|"]
    for s in steps:
        lines.append(f"| {s.name} | {s.status} | {s.wall_s:.1f} | {s.detail.replace('|', '/')} |")
    path = out / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results", help="results folder (default: results)")
    ap.add_argument("--quick", action="store_true",
                    help="small data scale, 14/39-bus grids only, two validation loads")
    ap.add_argument("--data-scale", type=float, default=None,
                    help="fraction of the Table 2 volumes (default 1, or 0.02 with --quick)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--replications", type=int, default=None, help="passed to cppsns3 run")
    ap.add_argument("--duration-s", type=float, default=None,
                    help="simulated seconds per validation replication (default: cppsns3 run's)")
    ap.add_argument("--grids", default=None,
                    help="comma-separated grid labels for Fig. 11 (default 14,30,39,57,118; quick: 14,39)")
    ap.add_argument("--loads", default=None, help="validation loads rho (default 0.3,0.5,0.7,0.9; quick: 0.3,0.7)")
    ap.add_argument("--validate-grid", default=None, help="scenario of the validation runs (default ieee14.toml)")
    ap.add_argument("--fresh", action="store_true", help="rerun experiments whose output already exists")
    opts = ap.parse_args(argv)
    opts.out = Path(opts.out)
    if opts.data_scale is None:
        opts.data_scale = 0.02 if opts.quick else 1.0
    if not opts.data_scale > 0:
        ap.error(f"--data-scale must be > 0, got {opts.data_scale}")
    grids = opts.grids or ("14,39" if opts.quick else "14,30,39,57,118")
    opts.grids = []
    for g in grids.split(","):
        label = g.strip().removesuffix("-bus") + "-bus"
        if label not in GRIDS:
            ap.error(f"--grids: unknown grid {g!r} (choose from 14, 30, 39, 57, 118)")
        opts.grids.append(label)
    loads = opts.loads or ("0.3,0.7" if opts.quick else "0.3,0.5,0.7,0.9")
    try:
        opts.loads = [float(x) for x in loads.split(",")]
    except ValueError:
        ap.error(f"--loads: not a list of numbers: {loads!r}")
    if any(not 0 < r for r in opts.loads):
        ap.error(f"--loads: every load must be > 0, got {loads!r}")
    opts.validate_grid = opts.validate_grid or "ieee14.toml"
    if not (SCENARIOS / opts.validate_grid).is_file():
        ap.error(f"--validate-grid: no scenario {opts.validate_grid!r} in scenarios/")
    return opts


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    out = opts.out
    runs, logs = out / "runs", out / "logs"
    for d in (out, runs, logs):
        d.mkdir(parents=True, exist_ok=True)
    steps = plan_steps(opts)
    missing: list[str] = []
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("reproduce", total=len(steps))
        for s in steps:
            bar.update(task, description=s.name)
            t0 = time.perf_counter()
            try:
                if s.kind == "table3":
                    from cppsns3.report.paper import table3

                    table3({g: SCENARIOS / f for g, f in GRIDS.items()}, out / "table3_load_balance.csv",
                           out / "table3_load_balance.png")
                    s.status = "done"
                elif s.kind == "run":
                    do_run(s, opts, runs, logs)
                else:
                    missing = do_figures(opts, runs, steps)
                    s.status = "done"
            except Exception as exc:  # noqa: BLE001 - report and go on with the other steps
                s.status, s.detail = "failed", " ".join(str(exc).split())[:300]
                console.print(f"[red]{s.name} failed:[/red] {s.detail}")
            s.wall_s = time.perf_counter() - t0
            bar.advance(task)
    readme = write_readme(opts, steps, missing, argv)
    for name in FIGURES:
        if (out / name).is_file():
            print(out / name)
    print(readme)
    failed = [s.name for s in steps if s.status == "failed"]
    if failed:
        print(f"error: {len(failed)} step(s) failed: {', '.join(failed)} (see {readme})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
