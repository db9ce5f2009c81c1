"""Storage: one interface, three implementations, named migrations, a background writer.

>>> from outcomes.store import open_store
>>> store = open_store("memory://")
>>> store.kind
'memory'
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

# Every name loads with the module that defines it, when first used: a read-only command
# that needs only the rollup rows (``outcomes models --json``, ``store._sqlite_read``)
# pays neither for the receipt declaration nor for the SQL stores.
if _typing.TYPE_CHECKING:
    from outcomes._table import Column, Table
    from outcomes.store._aggregates import (
        Aggregate,
        Expr,
        register_aggregate,
        registered_aggregates,
    )
    from outcomes.store._base import Condition, Migration, MigrationStatus, Store, StoreKind
    from outcomes.store._ids import id_stored, id_text
    from outcomes.store._memory import MemoryStore
    from outcomes.store._open import open_store, rebuild_aggregates, rebuild_rollups
    from outcomes.store._postgres import PostgresStore
    from outcomes.store._query import (
        MemoryImpl,
        MemoryTables,
        Query,
        Row,
        register_query,
        registered_queries,
    )
    from outcomes.store._rollup_rows import (
        ROLLUP_HALF_LIFE_S,
        STAT_COLUMNS,
        project_of,
        stats_of,
    )
    from outcomes.store._rollups import (
        BUCKET_S,
        ROLLUP_CELLS,
        ROLLUP_DAILY,
        ROLLUP_EMA,
        ROLLUP_HOURLY,
    )
    from outcomes.store._schema import CORE_MIGRATIONS
    from outcomes.store._sql import SqlStore
    from outcomes.store._sqlite import SQLiteStore
    from outcomes.store._sqlite_read import path_from_url
    from outcomes.store._writer import BackgroundWriter, FlushResult, WriterStats
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes._table": ("Column", "Table"),
            "outcomes.store._aggregates": (
                "Aggregate",
                "Expr",
                "register_aggregate",
                "registered_aggregates",
            ),
            "outcomes.store._base": (
                "Condition",
                "Migration",
                "MigrationStatus",
                "Store",
                "StoreKind",
            ),
            "outcomes.store._ids": ("id_stored", "id_text"),
            "outcomes.store._memory": ("MemoryStore",),
            "outcomes.store._open": ("open_store", "rebuild_aggregates", "rebuild_rollups"),
            "outcomes.store._postgres": ("PostgresStore",),
            "outcomes.store._query": (
                "MemoryImpl",
                "MemoryTables",
                "Query",
                "Row",
                "register_query",
                "registered_queries",
            ),
            "outcomes.store._rollup_rows": (
                "ROLLUP_HALF_LIFE_S",
                "STAT_COLUMNS",
                "project_of",
                "stats_of",
            ),
            "outcomes.store._rollups": (
                "BUCKET_S",
                "ROLLUP_CELLS",
                "ROLLUP_DAILY",
                "ROLLUP_EMA",
                "ROLLUP_HOURLY",
            ),
            "outcomes.store._schema": ("CORE_MIGRATIONS",),
            "outcomes.store._sql": ("SqlStore",),
            "outcomes.store._sqlite": ("SQLiteStore",),
            "outcomes.store._sqlite_read": ("path_from_url",),
            "outcomes.store._writer": ("BackgroundWriter", "FlushResult", "WriterStats"),
        },
    )

__all__ = [
    "BUCKET_S",
    "CORE_MIGRATIONS",
    "ROLLUP_CELLS",
    "ROLLUP_DAILY",
    "ROLLUP_EMA",
    "ROLLUP_HALF_LIFE_S",
    "ROLLUP_HOURLY",
    "STAT_COLUMNS",
    "Aggregate",
    "BackgroundWriter",
    "Column",
    "Condition",
    "Expr",
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
    "id_stored",
    "id_text",
    "open_store",
    "path_from_url",
    "project_of",
    "rebuild_aggregates",
    "rebuild_rollups",
    "register_aggregate",
    "register_query",
    "registered_aggregates",
    "registered_queries",
    "stats_of",
]
