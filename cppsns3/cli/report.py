"""``cppsns3 report DIR``: the figures of a run output directory."""

from __future__ import annotations

import json
import sys

import typer


def report_command(
    run_dir: str = typer.Argument(..., help="Output directory of `cppsns3 run` (holds summary.json)."),
    out: str = typer.Option(None, "--out", help="Where to write the PNGs (default: DIR/plots)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Plot a run: delay vs Eq. 2, ports vs Eq. 1, link utilisation, generation time; print the PNG paths."""
    from pathlib import Path

    if (Path(run_dir) / "steps.csv").is_file():  # a `cppsns3 cosim` directory
        from cppsns3.report.cosim_plots import report_cosim

        written, skipped = report_cosim(run_dir, out), {}
    else:
        from cppsns3.report import report_run

        written, skipped = report_run(run_dir, out)
    for name, why in skipped.items():
        print(f"cppsns3: skipped {name}: {why}", file=sys.stderr)
    if json_out:
        sys.stdout.write(json.dumps({"plots": [str(p) for p in written], "skipped": skipped}) + "\n")
    else:
        for p in written:
            print(p)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the app."""
    app.command("report")(report_command)
