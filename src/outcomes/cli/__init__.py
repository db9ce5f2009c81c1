"""The ``outcomes`` command line."""

from __future__ import annotations


def main() -> None:
    from outcomes.cli._app import app

    app()
