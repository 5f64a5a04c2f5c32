"""``cppsns3 verify-chain``: decode a chain file and validate the whole chain."""

from __future__ import annotations

import json
import sys

import typer

from cppsns3.cli import _one_line


def verify_chain_command(
    file: str = typer.Argument(..., help="Chain file (.cpchain), e.g. the chain.cpchain of a cosim run."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Verify a chain file: print its height (exit 0), or name the first bad height (exit 1)."""
    from cppsns3.chain.chainfile import verify_chain_file

    try:
        report = verify_chain_file(file)
    except OSError as exc:
        print(f"error: FILE: cannot read {file!r}: {_one_line(exc.strerror or exc)}", file=sys.stderr)
        raise typer.Exit(2) from None
    if json_out:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    elif report.valid:
        print(report.height)
    if not report.valid:
        print(f"error: {file}: chain invalid at height {report.first_bad_height}: "
              f"{_one_line(report.reason)}", file=sys.stderr)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``verify-chain`` command to the app."""
    app.command("verify-chain")(verify_chain_command)
