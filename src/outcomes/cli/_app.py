"""The root ``outcomes`` command and the registration of every command group."""

from __future__ import annotations

import typer

from outcomes import __version__

app = typer.Typer(
    name="outcomes",
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


def _register() -> None:
    # Each command group lives in its own module; adding a group is one line here.
    from outcomes.cli import _db, _demo, _ledger

    app.add_typer(_db.app, name="db")
    app.add_typer(_ledger.app, name="ledger")
    from outcomes.cli import _components

    app.add_typer(_components.app, name="components")
    from outcomes.cli import _trajectory

    app.add_typer(_trajectory.app, name="trajectory")
    from outcomes.cli import _models

    _models.register(app)
    from outcomes.cli import _shadow

    app.add_typer(_shadow.app, name="shadow")
    from outcomes.cli import _signals

    _signals.register(app)
    _db.register_top_level(app)
    from outcomes.cli import _route

    _route.register(app)
    _demo.register(app)


_register()
