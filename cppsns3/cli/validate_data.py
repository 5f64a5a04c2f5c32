"""``cppsns3 validate-data``: the feature-value data check (Eq. 5-8) on injected false data."""

from __future__ import annotations

import json
import math
import sys

import typer

from cppsns3.errors import ScenarioError

#: Days of power-flow series by default: one week of lags, six training days,
#: one held-out day.
DEFAULT_DAYS = 14
#: Held-out days at the end of the series.
HOLDOUT_DAYS = 1


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _clean_json(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    return obj


def _scenario_grid_seed_tolerance(path: str):
    """(grid, seed, tolerance) of a scenario file."""
    from cppsns3.model.scenario import load_scenario

    sc = load_scenario(path)
    dc = getattr(sc, "datacheck", None)
    tol = getattr(dc, "tolerance", None)
    return sc.grid, int(sc.seed), tol


def run_validate_data(scenario: str, days: int = DEFAULT_DAYS, seed: int | None = None) -> dict:
    """Build the series, train, attack the held-out day, measure; the JSON object.

    Parameters
    ----------
    scenario : str
        Scenario TOML path (``grid``, ``seed``, ``[datacheck] tolerance``).
    days : int
        Days of 15-minute power-flow series (>= 3); the last one is held out.
    seed : int, optional
        Overrides the scenario's seed (series noise, subsampling, attacks).

    Returns
    -------
    dict
        The ``validate-data`` JSON object (docs/datacheck.md).

    Raises
    ------
    ScenarioError
        If the scenario is invalid or ``days``/``seed`` is out of range.
    """
    if days < 3:
        raise ScenarioError(f"--days: must be >= 3 (lags, training and a held-out day), got {days}")
    if seed is not None and seed < 0:
        raise ScenarioError(f"--seed: must be >= 0, got {seed}")
    grid, sc_seed, tol = _scenario_grid_seed_tolerance(scenario)
    seed = sc_seed if seed is None else int(seed)
    from cppsns3.chain.measurements import power_flow_series
    from cppsns3.datacheck.evaluate import evaluate
    from cppsns3.datacheck.forecast import DEFAULT_TOLERANCE

    tol = DEFAULT_TOLERANCE if tol is None else float(tol)
    _progress(f"datacheck: power flows of {grid} over {days} day(s)")
    frame = power_flow_series(grid, days=days, seed=seed)
    result = evaluate(frame, seed=seed, grid=grid, holdout_days=HOLDOUT_DAYS, tolerance=tol,
                      progress=_progress)
    result.pop("model", None)
    return _clean_json(result)


def _table(r: dict) -> str:
    out = [
        f"data check on {r['grid']} (seed {r['seed']}), default tolerance {r['default_tolerance']:g}",
        f"clean held-out blocks: {r['clean']['blocks']}, false-alarm rate "
        f"{r['clean']['false_alarm_rate']:.4f}",
        "factors: " + "; ".join(f"{q}: {', '.join(n)}" for q, n in r["factors"].items()),
        f"{'attack':<8}{'magnitude':>10}{'tolerance':>10}{'detection':>11}{'false_alarm':>12}{'blocks':>8}",
    ]
    for x in r["results"]:
        det = "-" if x["detection_rate"] is None else f"{x['detection_rate']:.3f}"
        fa = "-" if x["false_alarm_rate"] is None else f"{x['false_alarm_rate']:.3f}"
        out.append(f"{x['attack']:<8}{x['magnitude']:>10g}{x['tolerance']:>10g}{det:>11}{fa:>12}"
                   f"{x['blocks']:>8d}")
    tf, ts = r["time_per_block_feature_check_s"], r["time_per_block_signature_merkle_s"]
    out.append(f"time per block: feature check {tf * 1e3:.3f} ms" if tf is not None
               else "time per block: feature check n/a")
    out.append(f"time per block: signature + Merkle {ts * 1e3:.3f} ms" if ts is not None
               else "time per block: signature + Merkle n/a")
    return "\n".join(out)


def validate_data_command(
    scenario: str = typer.Argument(..., help="Scenario TOML file."),
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="Days of 15-min power-flow series (last one held out)."),
    seed: int = typer.Option(None, "--seed", help="Seed (default: the scenario's)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Train the Eq. 5-8 data check, inject bias/scale/replay/noise, report rates and timing."""
    result = run_validate_data(scenario, days=days, seed=seed)
    if json_out:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print(_table(result))


def register(app: typer.Typer) -> None:
    """Add the ``validate-data`` command to the app."""
    app.command("validate-data")(validate_data_command)
