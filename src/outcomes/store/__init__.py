"""Storage: one interface, three implementations, named migrations, a background writer.

>>> from outcomes.store import open_store
>>> store = open_store("memory://")
>>> store.kind
'memory'
"""

from __future__ import annotations

import typing as _typing

from outcomes import config
from outcomes._lazy import attach as _attach
from outcomes._table import Column, Table
from outcomes.errors import StoreUnavailableError
from outcomes.store._base import (
    Condition,
    Migration,
    MigrationStatus,
    Store,
    StoreKind,
)
from outcomes.store._query import (
    MemoryImpl,
    MemoryTables,
    Query,
    Row,
    register_query,
    registered_queries,
)
from outcomes.store._rollups import (
    BUCKET_S,
    ROLLUP_CELLS,
    ROLLUP_DAILY,
    ROLLUP_EMA,
    ROLLUP_HALF_LIFE_S,
    ROLLUP_HOURLY,
    STAT_COLUMNS,
    project_of,
    stats_of,
)
from outcomes.store._schema import CORE_MIGRATIONS
from outcomes.store._sql import SqlStore
from outcomes.store._sqlite import SQLiteStore, path_from_url

# The memory and PostgreSQL stores and the background writer load when first used: a
# command that reads a SQLite file (``outcomes models --json``) pays for none of them.
if _typing.TYPE_CHECKING:
    from outcomes.store._memory import MemoryStore
    from outcomes.store._postgres import PostgresStore
    from outcomes.store._writer import BackgroundWriter, FlushResult, WriterStats
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.store._memory": ("MemoryStore",),
            "outcomes.store._postgres": ("PostgresStore",),
            "outcomes.store._writer": ("BackgroundWriter", "FlushResult", "WriterStats"),
        },
    )


def open_store(
    url: str | None = None,
    *,
    durable: bool | None = None,
    auto_migrate: bool = True,
    create: bool = True,
) -> Store:
    """Open the store named by ``url`` (explicit > ``OUTCOMES_DB_URL`` > SQLite default).

    ``sqlite:///path`` opens (or creates) a SQLite file, ``postgresql://...`` a PostgreSQL
    database, ``memory://`` a fresh in-memory store. ``durable`` defaults to
    ``OUTCOMES_WRITER_DURABLE``. Raises :class:`~outcomes.errors.StoreUnavailableError`
    for an unknown scheme or an unreachable server and
    :class:`~outcomes.errors.StoreCorruptError` for a damaged file (left untouched). The
    default SQLite file under ``$OUTCOMES_HOME`` must not be a symlink nor resolve outside
    that folder (:class:`~outcomes.errors.StoreUnavailableError` otherwise); a URL given
    explicitly or in ``OUTCOMES_DB_URL`` is opened as named.
    """
    resolved, managed = config.db_target(url)
    if durable is None:
        durable = config.WriterSettings.from_env().durable
    if resolved.startswith("memory:"):
        from outcomes.store._memory import MemoryStore

        return MemoryStore()
    if resolved.startswith("sqlite:"):
        return SQLiteStore(
            path_from_url(resolved),
            durable=durable,
            auto_migrate=auto_migrate,
            create=create,
            managed_root=managed,
        )
    if resolved.startswith(("postgresql:", "postgres:")):
        from outcomes.store._postgres import PostgresStore

        return PostgresStore(resolved, durable=durable, auto_migrate=auto_migrate)
    raise StoreUnavailableError(
        f"unknown store URL {resolved!r}: use sqlite:///path, postgresql://... or memory://"
    )


def rebuild_rollups(store: Store) -> int:
    """Refold every stored inference receipt into ``store``'s rollups (what
    ``outcomes profiles rebuild`` runs after a repair or a restore); returns how many
    receipts were folded. Raises ``TypeError`` for a store without rollups."""
    from outcomes.store._memory import MemoryStore

    if isinstance(store, SqlStore | MemoryStore):
        return store.rebuild_rollups()
    raise TypeError(f"{type(store).__name__} keeps no rollups")


__all__ = [
    "BUCKET_S",
    "CORE_MIGRATIONS",
    "ROLLUP_CELLS",
    "ROLLUP_DAILY",
    "ROLLUP_EMA",
    "ROLLUP_HALF_LIFE_S",
    "ROLLUP_HOURLY",
    "STAT_COLUMNS",
    "BackgroundWriter",
    "Column",
    "Condition",
    "FlushResult",
    "MemoryImpl",
    "MemoryStore",
    "MemoryTables",
    "Migration",
    "MigrationStatus",
    "PostgresStore",
    "Query",
    "Row",
    "SQLiteStore",
    "SqlStore",
    "Store",
    "StoreKind",
    "Table",
    "WriterStats",
    "open_store",
    "path_from_url",
    "project_of",
    "rebuild_rollups",
    "register_query",
    "registered_queries",
    "stats_of",
]
