"""Command-line interface: a thin layer over the package.

Error contract: an error prints exactly one line on stderr starting with
``error: `` (no traceback, no panel); exit 2 for bad input (a run refused by
the memory guard included), 1 for a failed run; Ctrl-C or SIGTERM: one line,
exit 130 or 143 (128 + the signal), children stopped, no temporaries left.
"""

from __future__ import annotations

import importlib
import sys

import typer

try:  # typer >= 0.20 vendors click as typer._click
    from typer._click import exceptions as _click_exc
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as _click_exc

from cppsns3.errors import CppsError, NoFeasiblePath, ScenarioError

app = typer.Typer(
    name="cppsns3",
    help="Packet-accurate ns-3 experiments of the CPPS blockchain protocol.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)



@app.callback()
def _root() -> None:
    """Packet-accurate ns-3 experiments of the CPPS blockchain protocol."""


# Each module registers its commands on `app` through a `register(app)` function.
_COMMAND_MODULES = (
    "cppsns3.cli.mm1k",
    "cppsns3.cli.run",
    "cppsns3.cli.plan",
    "cppsns3.cli.report",
    "cppsns3.cli.sweep",
    "cppsns3.cli.validate_data",
    "cppsns3.cli.verify_chain",
    "cppsns3.cli.cosim",
)


_registered: set[str] = set()


def _register(names) -> None:
    for name in names:
        if name not in _registered:
            importlib.import_module(name).register(app)
            _registered.add(name)


def _register_all() -> None:
    _register(_COMMAND_MODULES)


def _register_for(argv: list[str] | None) -> None:
    """Register only the command being run, so a command pays only its own imports.

    The command's module is ``cppsns3.cli.<command, - as _>``; for help, no
    command or an unknown one, every module is registered.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in args if not a.startswith("-")), None)
    module = f"cppsns3.cli.{first.replace('-', '_')}" if first else None
    if module in _COMMAND_MODULES:
        _register([module])
    else:
        _register_all()


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def _invoke(command, argv):
    """Run the click command without click's own handling of Ctrl-C (which would
    print a blank line and turn it into an Abort with exit code 1)."""
    args = sys.argv[1:] if argv is None else list(argv)
    with command.make_context("cppsns3", args) as ctx:
        return command.invoke(ctx)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    import signal

    from cppsns3.atomic import interruptible, remove_temporaries

    _register_for(argv)
    command = typer.main.get_command(app)
    try:
        with interruptible(sigint=True):
            rv = _invoke(command, argv)
        if isinstance(rv, int) and not isinstance(rv, bool):
            return rv
    except _click_exc.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if getattr(exc, "ctx", None) is not None else "", file=sys.stdout)
        return 0
    except _click_exc.UsageError as exc:
        param = getattr(exc, "param", None)
        msg = exc.format_message()
        if param is not None and param.opts and param.opts[0] not in msg:
            msg = f"{param.opts[0]}: {msg}"
        print(f"error: {_one_line(msg)}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return getattr(exc, "exit_code", 0)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Interrupted (SIGTERM, SIGINT) or Python's own Ctrl-C
        remove_temporaries()
        signum = getattr(exc, "signum", int(signal.SIGINT))
        name = getattr(exc, "signal_name", "SIGINT")
        print(f"error: interrupted by {name}: the run was stopped, no output left half-written",
              file=sys.stderr)
        return 128 + signum
    except (ScenarioError, NoFeasiblePath, ValueError) as exc:  # bad input, an infeasible scenario included
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except _click_exc.ClickException as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        return 2
    except CppsError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
