"""The inference wing's named queries (run by every store; see ``outcomes.store.Query``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from outcomes._table import Table
from outcomes.inference._profiles import FOLD_FIELDS, fold_values_of
from outcomes.records import Receipt
from outcomes.store import (
    ROLLUP_CELLS,
    ROLLUP_EMA,
    ROLLUP_HOURLY,
    MemoryTables,
    Query,
    Row,
    register_query,
)


def _fold_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    kind, after_seq = params
    for seq, r in tables.rows(Receipt.__table__):
        if seq > after_seq and r.kind == kind:
            yield (*fold_values_of(r), seq)


FOLD_ROWS = register_query(
    Query(
        "inference.fold_rows",
        f"SELECT {', '.join(FOLD_FIELDS)}, seq FROM receipts "
        "WHERE kind = ? AND seq > ? ORDER BY seq",
        _fold_rows,
    )
)
"""Params ``(kind, after_seq)``: the receipts of ``kind`` inserted after ``after_seq``, as
the values :meth:`ProfileState.fold_values` takes (``FOLD_FIELDS``) followed by ``seq``,
in insertion order. Booleans may read back as 0/1 (the fold only tests their truth)."""


def _rollup_rows(table: Table[Any]) -> Callable[[MemoryTables, Row], Iterator[Row]]:
    def rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
        for _, r in tables.rows(table):
            yield tuple(r)

    return rows


ROLLUP_CELL_ROWS = register_query(
    Query(
        "inference.rollup_cells",
        f"SELECT {', '.join(ROLLUP_CELLS.column_names)} FROM rollup_cells",
        _rollup_rows(ROLLUP_CELLS),
        ordered=False,
    )
)
"""Every rollup cell: ``model_id, task, project_key`` then the stat columns
(``outcomes.store.STAT_COLUMNS``); what profiles are built from."""

ROLLUP_EMA_ROWS = register_query(
    Query(
        "inference.rollup_ema",
        "SELECT model_id, task, value FROM rollup_ema",
        _rollup_rows(ROLLUP_EMA),
        ordered=False,
    )
)
"""``ema_quality`` per model (task ``''``) and per (model, task)."""


def _hour_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until = params
    rows = [tuple(r) for _, r in tables.rows(ROLLUP_HOURLY) if since <= r[3] < until]
    rows.sort(key=lambda r: (r[3], r[0], r[1], r[2]))
    return iter(rows)


ROLLUP_HOUR_ROWS = register_query(
    Query(
        "inference.rollup_hours",
        f"SELECT {', '.join(ROLLUP_HOURLY.column_names)} FROM rollup_hourly "
        "WHERE hour >= ? AND hour < ? ORDER BY hour, model_id, task, project_key",
        _hour_rows,
    )
)
"""Params ``(since, until)`` (hour starts, epoch seconds): the hourly rollup rows in that
range, ``model_id, task, project_key, hour`` then the stat columns, by hour."""
