"""The ``outcomes`` command line."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``outcomes`` command with ``sys.argv``."""
    # Answered before typer and any command module is imported, so that checking the
    # installed version costs about as much as starting Python.
    if sys.argv[1:] == ["--version"]:
        from outcomes import __version__

        sys.stdout.write(f"outcomes {__version__}\n")
        return
    from outcomes.cli import _fast

    if _fast.run(sys.argv[1:]):
        return
    from outcomes.cli._app import app

    app()
