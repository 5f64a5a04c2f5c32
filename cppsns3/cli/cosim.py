"""``cppsns3 cosim``: grid and ns-3 network through a day of sampling steps."""

from __future__ import annotations

import json
import sys

import typer

from cppsns3.model.names import algorithm_help, broadcast_help


def register(app: typer.Typer) -> None:
    @app.command("cosim")
    def cosim_cmd(
        scenario: str = typer.Argument(..., help="Scenario TOML file."),
        out: str = typer.Option(..., "--out", help="Output directory (created)."),
        steps: int = typer.Option(96, "--steps", help="Sampling steps (96 x 900 s: a day)."),
        step_s: float = typer.Option(900.0, "--step-s", help="Length of a step, seconds."),
        algorithm: str = typer.Option(None, "--algorithm", help=algorithm_help("qtdr", all_=False)),
        seed: int = typer.Option(None, "--seed", help="RNG seed (default: the scenario's)."),
        data_scale: float = typer.Option(1.0, "--data-scale", help="Factor on the block volumes."),
        tolerance_s: float = typer.Option(1.0, "--tolerance-s", help="Contract tolerance Δt: later blocks are missing."),
        broadcast: str = typer.Option(None, "--broadcast", help=broadcast_help()),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ) -> None:
        """Co-simulate: per step a power flow, signed blocks, an ns-3 round, state estimation; one chain."""
        from pathlib import Path

        from cppsns3.cosim.engine import cosim
        from cppsns3.errors import ScenarioError

        if not Path(scenario).is_file():
            raise ScenarioError(f"SCENARIO: no such file {scenario!r}")
        res = cosim(scenario, out, steps=steps, step_s=step_s, algorithm=algorithm, seed=seed,
                    data_scale=data_scale, tolerance_s=tolerance_s, broadcast=broadcast)
        if as_json:
            sys.stdout.write(json.dumps(res.summary) + "\n")
            return
        s, df = res.summary, res.steps
        print(f"{s['scenario']} ({s['grid']}), {s['algorithm']}, {s['steps']} steps of {s['step_s']:g} s, "
              f"generator bus {s['generator_bus']}")
        print(f"chain height {s['chain']['height']}; deliveries late or missing {s['blocks_late_total']}; "
              f"rounds overrunning their step {s['steps_overrun']}; "
              f"state estimation failed in {len(s['se_failures'])} steps")
        print(f"median generation time {df.generation_time_s.median() * 1e3:.3f} ms; "
              f"max SE error {df.se_max_vm_error_pu.max():.5f} p.u.")
        print(f"wrote {out}/steps.csv, summary.json, chain.cpchain")
