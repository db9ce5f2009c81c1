"""The root ``outcomes`` command: which commands exist and where each one lives.

One way to add a command: a module ``outcomes.cli._<name>`` (hyphens become underscores)
whose ``app`` is made by :func:`~outcomes.cli._common.new_app`. A single command registers
itself there with ``@app.command("<name>")``; a group registers its subcommands with
``@app.command("sub")`` (and, when the bare group does something, an ``@app.callback()``
with ``invoke_without_command=True``). Then one line in :data:`COMMANDS` makes it appear.

A command's module is imported only when that command runs (or when ``--help`` lists
them all), so ``outcomes models --json`` does not pay for routing, numpy or git.
"""

from __future__ import annotations

import importlib
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from outcomes import __version__, config
from outcomes.cli._common import EXIT_INTERNAL, EXIT_STORE, exit_code_of, fail, os_error_text
from outcomes.errors import OutcomesError

COMMANDS: tuple[str, ...] = (
    # In the order `outcomes --help` lists them: first use, daily use, then groups.
    "init",
    "doctor",
    "demo",
    "models",
    "route",
    "ingest",
    "serve",
    "import-legacy",
    "signals",
    "db",
    "ledger",
    "profiles",
    "components",
    "trajectory",
    "shadow",
    "code",
    "bench",
)


def module_of(name: str) -> str:
    """The module that defines command ``name``."""
    return f"outcomes.cli._{name.replace('-', '_')}"


class _LazyGroup(TyperGroup):
    """Loads a command's module when the command is used, and ends every failure cleanly."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            command = _command_of(cmd_name, importlib.import_module(module_of(cmd_name)).app)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def invoke(self, ctx: Any) -> Any:
        # Every failure is one line on stderr and a documented exit code (docs/cli.md):
        # commands turn the errors they expect into codes themselves; what gets here is
        # an error from the file system, one of ours that a command did not expect, or a bug.
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is_framework_flow(exc):
                raise
            raise _clean_exit(exc) from exc


def _command_of(name: str, app: typer.Typer) -> Any:
    """A module whose one command bears the module's own name is that command; any other
    module is a group (even of one subcommand, like ``bench router``)."""
    commands = app.registered_commands
    if len(commands) == 1 and commands[0].name == name and app.registered_callback is None:
        command = typer.main.get_command(app)
    else:
        command = typer.main.get_group(app)
    command.name = name
    return command


def _is_framework_flow(exc: Exception) -> bool:
    """Exit, abort and usage errors of typer (or the click it wraps), and a closed pipe
    (``outcomes ... | head``): typer ends those itself."""
    return isinstance(exc, BrokenPipeError) or type(exc).__module__.split(".")[0] in {
        "typer",
        "click",
    }


def _clean_exit(exc: Exception) -> typer.Exit:
    """The one-line error and exit code for an exception no command handled."""
    if isinstance(exc, OutcomesError):
        return fail(str(exc), exit_code_of(exc))
    if isinstance(exc, OSError):
        return fail(os_error_text(exc), EXIT_STORE)
    if config.env_flag(config.ENV_DEBUG):
        traceback.print_exception(exc)
    return fail(
        f"internal error ({type(exc).__name__}: {exc}); this is a bug, please report it "
        f"(set {config.ENV_DEBUG}=1 to see where it happened)",
        EXIT_INTERNAL,
    )


app = typer.Typer(
    name="outcomes",
    cls=_LazyGroup,
    help="Learn from what actually happened after your AI application acted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"outcomes {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Learn from what actually happened after your AI application acted."""
