"""`cppsns3 run`: the packet-level round or validation run of a scenario."""

from __future__ import annotations

import json
import sys

import typer

from cppsns3.model.names import algorithm_help, broadcast_help


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        scenario: str = typer.Argument(..., help="Scenario TOML file."),
        out: str = typer.Option(..., "--out", help="Output directory (created)."),
        mode: str = typer.Option("round", "--mode", help="round (block generation) or validate (Eq. 1-2)."),
        algorithm: str = typer.Option(None, "--algorithm", help=algorithm_help("the scenario's algorithms")),
        seed: int = typer.Option(None, "--seed", help="RNG seed (default: the scenario's)."),
        replications: int = typer.Option(None, "--replications", help="Independent replications (default 3 validate, 1 round)."),
        data_scale: float = typer.Option(1.0, "--data-scale", help="Factor on the block volumes (round mode)."),
        load: float = typer.Option(0.5, "--load", help="Utilisation of the busiest port (validate mode)."),
        duration_s: float = typer.Option(None, "--duration-s", help="Simulated seconds per replication (validate mode)."),
        max_memory_gb: float = typer.Option(
            None, "--max-memory-gb",
            help="Memory the run may use (GB), instead of what the machine has available; the run is "
                 "refused when its estimate exceeds it."),
        broadcast: str = typer.Option(None, "--broadcast", help=broadcast_help()),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ) -> None:
        """Run a scenario in ns-3 on the planned paths; write summary.json and CSVs to --out."""
        from pathlib import Path

        import cppsns3
        from cppsns3.errors import ScenarioError

        if not Path(scenario).is_file():
            raise ScenarioError(f"SCENARIO: no such file {scenario!r}")
        summary = cppsns3.run(cppsns3.Scenario.load(scenario), out, mode=mode, algorithm=algorithm, seed=seed,
                              replications=replications, data_scale=data_scale, load=load,
                              duration_s=duration_s, max_memory_gb=max_memory_gb, broadcast=broadcast)
        if as_json:
            sys.stdout.write(json.dumps(summary) + "\n")
            return
        print(f"{summary['scenario']} ({summary['grid']}), mode {summary['mode']}, seed {summary['seed']}, "
              f"analytic generator bus {summary['generator_bus']}")
        if summary["mode"] == "round":
            print(f"{'algorithm':<10}{'Load_B':>12}{'gen. time (s)':>16}{'appended':>10}{'rejected':>10}{'measured gen.':>15}")
            for a, e in summary["algorithms"].items():
                gt = e["generation_time_s"]
                gts = "n/a" if gt is None else f"{gt:.6f}"
                print(f"{a:<10}{e['load_balance']:>12.2f}{gts:>16}{e['nodes_appended']:>6}/{e['nodes_total']:<3}"
                      f"{e['blocks_rejected']:>10}{str(e['measured_generator_bus']):>15}")
        else:
            print(f"{'algorithm':<10}{'max rho':>9}{'worst |Eq.2/measured - 1|':>28}")
            for a, e in summary["algorithms"].items():
                dev = max((abs(f["analytic_delay_s"] / f["measured_delay_s"] - 1)
                           for f in e["flows"] if f["measured_delay_s"]), default=float("nan"))
                print(f"{a:<10}{e['max_port_rho']:>9.3f}{dev:>28.2%}")
        print(f"wrote {out}/summary.json, flows.csv, ports.csv, links.csv, flowmon-*.xml")
