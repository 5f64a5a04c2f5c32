"""Command-line interface: a thin layer over the package.

Error contract: an error prints exactly one line on stderr starting with
``error: `` (no traceback, no panel); exit 2 for bad input, 1 for a failed run.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer

from cppsns3.errors import CppsError, ScenarioError

app = typer.Typer(
    name="cppsns3",
    help="Packet-accurate ns-3 experiments of the CPPS blockchain protocol.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Each module registers its commands on `app` through a `register(app)` function.
_COMMAND_MODULES = (
    "cppsns3.cli.mm1k",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    _register_all()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="cppsns3", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:
        return 0
    except click.UsageError as exc:
        param = getattr(exc, "param", None)
        msg = exc.format_message()
        if param is not None and param.opts and param.opts[0] not in msg:
            msg = f"{param.opts[0]}: {msg}"
        print(f"error: {_one_line(msg)}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except (ScenarioError, ValueError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except CppsError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
