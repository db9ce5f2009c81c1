"""Opening a store by URL, and rebuilding a store's rollups and aggregates."""

from __future__ import annotations

from typing import Any

from outcomes import config
from outcomes._table import Table
from outcomes.errors import StoreUnavailableError
from outcomes.store._base import Store
from outcomes.store._sql import SqlStore
from outcomes.store._sqlite import SQLiteStore
from outcomes.store._sqlite_read import path_from_url


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


def rebuild_aggregates(store: Store, source: Table[Any] | None = None) -> int:
    """Rebuild every registered aggregate (``store/_aggregates.py``; of ``source`` only,
    when given) that ``store`` has from its source table, in one transaction; returns
    how many. Raises ``TypeError`` for a store that keeps none."""
    from outcomes.store._memory import MemoryStore

    if isinstance(store, SqlStore | MemoryStore):
        return store.rebuild_aggregates(source)
    raise TypeError(f"{type(store).__name__} keeps no aggregates")
