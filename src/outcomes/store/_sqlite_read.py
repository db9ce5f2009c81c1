"""A read of a SQLite store that loads no more than ``_sqlite3``: for read-only commands.

``outcomes models --json`` and ``ledger stats --json`` answer from the rollup tables. Opening a
:class:`~outcomes.store.SQLiteStore` for that loads the receipt declaration, ``msgspec``
and the write side, and checks each core migration in a write transaction; a command a
person or a script runs many times pays that on every run. :func:`read_current` instead
opens the file, checks in one read that the schema is the one this version writes
(every core migration applied, WAL mode), and returns the rows. Anything else (no file,
a migration pending, an unknown schema, a busy or damaged file) returns ``None``: the
caller then opens the store the ordinary way, which migrates, creates or reports the
error as it always has. So this path never skips a migration; it only declines.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from outcomes.errors import StoreUnavailableError

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

MIGRATIONS_TABLE = "outcomes_migrations"
CORE_MIGRATION_NAMES = (
    "core.0001_receipts",
    "core.0002_rollups",
    "core.0003_receipts_ttft",
    "core.0004_rollup_daily",
    "core.0005_receipts_failures",
    "core.0006_receipts_signals",
    "core.0007_rollup_counts_half_life",
)
"""The names of ``CORE_MIGRATIONS`` in order (``store/_schema.py`` refuses to load if the
two differ, so a new core migration is named here too, and a store without it declines)."""

Rows = list[tuple[Any, ...]]


def url_path(url: str) -> str:
    """The path of a ``sqlite:///path`` URL as written (``~`` not expanded)."""
    if not url.startswith("sqlite://"):
        raise StoreUnavailableError(f"not a SQLite URL: {url!r}")
    rest = url[len("sqlite://") :]
    if rest.startswith("/"):
        rest = rest[1:] if rest.startswith("//") else rest
    if not rest or rest == ":memory:":
        raise StoreUnavailableError("use memory:// for an in-memory store, not sqlite://:memory:")
    return rest


def path_from_url(url: str) -> Path:
    """Return the file path of a ``sqlite:///path`` URL."""
    from pathlib import Path  # here: see ``read_current``

    return Path(url_path(url)).expanduser()


def wing_current(applied: set[str], wing: tuple[str, ...]) -> bool:
    """Whether the migrations ``applied`` include exactly the names ``wing`` lists of
    each wing they name (``components.0001_events`` names ``components``): a wing's table
    not created yet, or migrated by a newer version, is the ordinary open's to handle."""
    prefixes = tuple({n.split(".", 1)[0] + "." for n in wing})
    return {n for n in applied if n.startswith(prefixes)} == set(wing) if wing else True


def _current(conn: sqlite3.Connection, wing: tuple[str, ...]) -> bool:
    """Whether the file is a store of this version's core schema, in WAL mode, with the
    migrations ``wing`` names (:func:`wing_current`)."""
    mode = conn.execute("PRAGMA journal_mode").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        return False
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
    ).fetchone():
        return False
    applied = {str(r[0]) for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
    # A core name this version does not know means a newer outcomes wrote the file: the
    # ordinary open decides what to say about it.
    core = {n for n in applied if n.startswith("core.")}
    return core == set(CORE_MIGRATION_NAMES) and wing_current(applied, wing)


def read_current(
    path: str | Path, busy_timeout: float, *selects: str, wing: tuple[str, ...] = ()
) -> list[Rows] | None:
    """The rows of each of ``selects`` on the SQLite store at ``path``, read in one
    transaction; ``None`` when the file is missing or not a current store (see above),
    with the migrations ``wing`` names when the statements read a wing's tables."""
    if not os.path.isfile(path):
        return None
    # Imported here: the PostgreSQL read path (``_pg_read``) shares only the names. The
    # C module itself, not the ``sqlite3`` package: the package's ``dbapi2`` loads
    # ``datetime`` for its date adapters (about 1 ms of a 40 ms command), which a read
    # without ``detect_types`` never uses. Same classes (``sqlite3.Error`` is
    # ``_sqlite3.Error``: the package re-exports this module and adds the adapters).
    import _sqlite3 as sqlite3

    try:
        # Read-write, as the store opens it: a read-only handle cannot recover a WAL
        # file whose last writer crashed. Nothing here writes.
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("BEGIN")
        if not _current(conn, wing):
            return None
        return [conn.execute(sql).fetchall() for sql in selects]
    except sqlite3.Error:
        return None
    finally:
        conn.close()
