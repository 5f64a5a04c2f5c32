"""``cppsns3 sweep``: parameter sweeps and replications (issue 8)."""

from __future__ import annotations

import json
import math
import sys

import typer


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    return obj


def sweep_command(
    file: str = typer.Argument(..., help="Sweep TOML file (scenario, replications, seed, [fixed], [vary])."),
    out: str = typer.Option(..., "--out", help="Output folder: runs.csv, aggregate.csv, runs.jsonl, sweep.json."),
    workers: int = typer.Option(None, "--workers", help="Local concurrent runs (default: the usable cores)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
    max_runs: int = typer.Option(None, "--max-runs", help="Run at most N of the pending runs now."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run again the runs recorded as failed."),
    cold: bool = typer.Option(False, "--cold", help="Load ns-3 in every run's child (no warm run servers)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar on stderr."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Run a parameter sweep: one ns-3 run per point and replication, resumable.

    Exit code 1 when a run failed (its row is in runs.csv with status failed).
    """
    from cppsns3.errors import ScenarioError
    from cppsns3.sweep import load_sweep, run_sweep

    if workers is not None and workers < 1:
        raise ScenarioError(f"--workers: must be an integer >= 1, got {workers}")
    if max_runs is not None and max_runs < 0:
        raise ScenarioError(f"--max-runs: must be an integer >= 0, got {max_runs}")
    spec = load_sweep(file)
    try:
        result = run_sweep(spec, out, workers=workers, scheduler=scheduler, max_runs=max_runs,
                           retry_failed=retry_failed, progress=not no_progress, warm=not cold)
    except KeyboardInterrupt:
        # typer turns Ctrl-C into a silent Exit(130) that the CLI's main would
        # report as success; say what happened and exit 130 ourselves.
        print(f"error: interrupted; every finished run is saved in {out}, run the same command to resume",
              file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    if as_json:
        sys.stdout.write(json.dumps(_clean(result.to_json_dict())) + "\n")
    else:
        print(f"sweep {file}: {result.total} run(s); ran {result.ran} ({result.ok} ok, {result.failed} failed), "
              f"skipped {result.skipped}, remaining {result.remaining}; {result.wall_s:.1f} s on {result.executor}")
        print(f"runs:      {result.paths['runs']}")
        print(f"aggregate: {result.paths['aggregate']}")
    if result.failed:
        from cppsns3.errors import SimulationError

        failed = result.runs[result.runs["status"] != "ok"]
        first = failed.iloc[0]["error"] if len(failed) else ""
        # The CLI prints it as one `error:` line and exits 1.
        raise SimulationError(f"{result.failed} run(s) failed (rows with status failed in "
                              f"{result.paths['runs']}); first: {first}")


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to the app."""
    app.command("sweep")(sweep_command)
