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

from outcomes import __version__, config
from outcomes.cli import _common as cli
from outcomes.cli._framework import App, Exit, Option
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
    "mcp",
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


def load(name: str) -> App:
    """The ``app`` of command ``name``'s module, imported now."""
    app: App = importlib.import_module(module_of(name)).app
    return app


def clean_exit(exc: Exception) -> Exit:
    """The one-line error and exit code for an exception no command handled.

    Every failure is one line on stderr and a documented exit code (docs/cli.md):
    commands turn the errors they expect into codes themselves; what gets here is an
    error from the file system, one of ours that a command did not expect, or a bug.
    """
    if isinstance(exc, OutcomesError):
        return cli.fail(str(exc), cli.exit_code_of(exc))
    if isinstance(exc, OSError):
        return cli.fail(cli.os_error_text(exc), cli.EXIT_STORE)
    if config.env_flag(config.ENV_DEBUG):
        import traceback

        traceback.print_exception(exc)
    return cli.fail(
        f"internal error ({type(exc).__name__}: {exc}); this is a bug, please report it "
        f"(set {config.ENV_DEBUG}=1 to see where it happened)",
        cli.EXIT_INTERNAL,
    )


app = App(
    help="Learn from what actually happened after your AI application acted.",
    no_args_is_help=True,
    lazy=COMMANDS,
    load=load,
    on_error=clean_exit,
)


def _version(value: bool) -> None:
    if value:
        print(f"outcomes {__version__}")
        raise Exit()


@app.callback()
def _root(
    version: bool = Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Learn from what actually happened after your AI application acted."""
