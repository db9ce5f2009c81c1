"""What every command shares: opening the store, printing tables or JSON, exit codes."""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from outcomes.cli import _json
from outcomes.cli._framework import App, Exit, Option
from outcomes.errors import ConfigError, OutcomesError, ValidationError

if TYPE_CHECKING:
    from rich.console import Console

    from outcomes.store import Store

EXIT_OK = 0
EXIT_PROBLEMS = 1
"""A check ran and found problems (``ledger verify``, ``doctor``)."""
EXIT_USAGE = 2
"""Bad arguments or unreadable input."""
EXIT_STORE = 3
"""The store could not be opened or used (unreachable, corrupt, failed migration)."""
EXIT_INTERNAL = 70
"""An unexpected error: a bug in ``outcomes`` (``OUTCOMES_DEBUG=1`` shows the traceback)."""


class _LazyConsole:
    """A rich ``Console`` made on first use: ``--json`` output never imports rich."""

    __slots__ = ("_console", "_stderr")

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return getattr(self._console, name)


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))

DbOption = Option(
    None, "--db", help="Store URL (default: OUTCOMES_DB_URL, else SQLite in OUTCOMES_HOME)."
)
JsonOption = Option(False, "--json", help="Print machine-readable JSON.")


def new_app(
    *, help: str = "", invoke_without_command: bool = False, no_args_is_help: bool = False
) -> App:
    """The ``app`` of one command module (see :mod:`outcomes.cli._app`)."""
    return App(
        help=help, invoke_without_command=invoke_without_command, no_args_is_help=no_args_is_help
    )


def fail(message: str, code: int) -> Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    from rich.markup import escape

    # soft_wrap: one line whatever the terminal's width, so scripts can grep it.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return Exit(code)


def exit_code_of(exc: OutcomesError) -> int:
    """Bad input or settings are the caller's to fix (2); anything else is the store's (3)."""
    return EXIT_USAGE if isinstance(exc, ValidationError | ConfigError) else EXIT_STORE


def os_error_text(exc: OSError) -> str:
    """``cannot use PATH: reason`` for an error from the file system, without a traceback.

    For a path under a regular file (``OUTCOMES_HOME`` set to a file, say) the reason
    names that file, which is what the user has to change.
    """
    reason = exc.strerror or type(exc).__name__
    if not exc.filename:
        return reason
    path = Path(os.fsdecode(exc.filename))
    if isinstance(exc, NotADirectoryError | FileNotFoundError):
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
    return f"cannot use {path}: {reason}"


@contextmanager
def opened_store(url: str | None, *, create: bool = True, migrate: bool = True) -> Iterator[Store]:
    """Open the store for one command, turning store errors into clean exits.

    ``create=False`` refuses to create a missing database; ``migrate=False`` leaves the
    schema as it is (read-only checks).
    """
    from outcomes.store import open_store

    try:
        store = open_store(url, create=create, auto_migrate=migrate)
    except OutcomesError as exc:
        raise fail(str(exc), EXIT_STORE) from exc
    except OSError as exc:
        raise fail(os_error_text(exc), EXIT_STORE) from exc
    try:
        yield store
    except OutcomesError as exc:
        raise fail(str(exc), exit_code_of(exc)) from exc
    finally:
        store.close()


def num(value: float | None, fmt: str = ".2f", missing: str = "-") -> str:
    """``value`` in ``fmt`` for a table cell, or ``missing`` when there is none."""
    return missing if value is None else format(value, fmt)


print_json = _json.print_json


def json_shape(keys: str, **derived: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    """How a command prints one stored record as JSON, declared once: ``keys`` (space
    separated, in output order) are attributes of the record, except those given in
    ``derived`` as a function of the record (a renamed or computed value)."""
    names = tuple(keys.split())
    unknown = set(derived) - set(names)
    if unknown:
        raise ValueError(f"json_shape: derived keys not among the keys: {sorted(unknown)}")
    getters = tuple(derived.get(n) or operator.attrgetter(n) for n in names)

    def to_json(record: Any) -> dict[str, Any]:
        return {n: get(record) for n, get in zip(names, getters, strict=True)}

    return to_json


T = TypeVar("T")


def show_list(
    items: list[T],
    as_json: bool,
    *,
    to_json: Callable[[T], Any],
    empty: str,
    table: Callable[[list[T]], Any],
) -> None:
    """Print a listing command's ``items``: as a JSON array with ``--json``, else the
    ``empty`` note when there are none, else their rich ``table``."""
    if as_json:
        print_json([to_json(item) for item in items])
    elif not items:
        console.print(empty)
    else:
        console.print(table(items))
