"""``cppsns3 plan``: route a scenario with QT-DR and the baselines."""

from __future__ import annotations

import json
import sys

import typer

from cppsns3.errors import ScenarioError
from cppsns3.model.names import algorithm_help


def _choices() -> tuple:
    """The ``--algorithm`` values: :data:`cppsns3.model.scenario.ALGORITHMS` and ``all``."""
    from cppsns3.model.scenario import ALGORITHMS  # lazy: keeps numpy/networkx out of CLI start-up

    return ALGORITHMS + ("all",)


def plan_command(
    scenario: str = typer.Argument(..., help="Scenario TOML file."),
    algorithm: str = typer.Option(
        None, "--algorithm", help=algorithm_help("the scenario's list")),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Plan the paths of a scenario; print Load_B beside its lower bound, max delay, max hops and the generator."""
    if algorithm is not None and algorithm not in _choices():
        raise ScenarioError(f"--algorithm: unknown value {algorithm!r} (choose from {', '.join(_choices())})")
    import cppsns3

    sc = cppsns3.Scenario.load(scenario)
    result = cppsns3.plan(sc, algorithm)
    if json_out:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    out = [f"grid {result.grid}: {len(sc.network.nodes)} terminals, {sc.network.n_links} links, "
           f"{len(sc.terminals)} demand terminals, delay bound {result.delay_bound_ms} ms, "
           f"hop bound {result.hop_bound}",
           f"{'algorithm':<10} {'Load_B_mbps':>12} {'max_delay_ms':>13} {'max_hops':>9} "
           f"{'max_util':>9} {'generator':>10} {'plan_s':>8}"]
    for name, ap in result.algorithms.items():
        util = max((x.utilisation for x in ap.links), default=0.0)
        out.append(f"{name:<10} {ap.load_balance:>12.2f} {ap.max_delay_s * 1e3:>13.3f} "
                   f"{ap.max_hops:>9d} {util:>9.3f} {str(ap.generator_bus):>10} {ap.plan_time_s:>8.3f}")
    out.append(f"load_balance_lower_bound {result.load_balance_lower_bound:.2f} Mbit/s "
               f"({result.lower_bound_time_s:.3f} s), over {result.lower_bound_candidates}")
    out.append(f"generator bus ({next(iter(result.algorithms))}): {result.generator_bus}; "
               f"plan time {result.plan_time_s:.3f} s")
    print("\n".join(out))


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to the app."""
    app.command("plan")(plan_command)
