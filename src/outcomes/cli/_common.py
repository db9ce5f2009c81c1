"""What every command shares: opening the store, printing tables or JSON, exit codes."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from outcomes.errors import OutcomesError, StoreCorruptError, StoreError, ValidationError
from outcomes.store import Store, open_store

EXIT_OK = 0
EXIT_PROBLEMS = 1
"""A check ran and found problems (``ledger verify``, ``doctor``)."""
EXIT_USAGE = 2
"""Bad arguments or unreadable input."""
EXIT_STORE = 3
"""The store could not be opened or used (unreachable, corrupt, failed migration)."""

console = Console()
err_console = Console(stderr=True)

DbOption = typer.Option(
    None, "--db", help="Store URL (default: OUTCOMES_DB_URL, else SQLite in OUTCOMES_HOME)."
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def opened_store(url: str | None, *, create: bool = True, migrate: bool = True) -> Iterator[Store]:
    """Open the store for one command, turning store errors into clean exits.

    ``create=False`` refuses to create a missing database; ``migrate=False`` leaves the
    schema as it is (read-only checks).
    """
    try:
        store = open_store(url, create=create, auto_migrate=migrate)
    except StoreCorruptError as exc:
        raise fail(str(exc), EXIT_STORE) from exc
    except StoreError as exc:
        raise fail(str(exc), EXIT_STORE) from exc
    try:
        yield store
    except ValidationError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except OutcomesError as exc:
        raise fail(str(exc), EXIT_STORE) from exc
    finally:
        store.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (NaN/inf become null, never invalid JSON)."""
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
