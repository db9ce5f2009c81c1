"""The inference wing's named queries (run by every store; see ``outcomes.store.Query``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from outcomes._table import Table
from outcomes.inference._feedback_schema import TraceTag
from outcomes.inference._profiles import FOLD_FIELDS, fold_values_of
from outcomes.records import Receipt
from outcomes.store import (
    ROLLUP_CELLS,
    ROLLUP_DAILY,
    ROLLUP_EMA,
    ROLLUP_HOURLY,
    MemoryTables,
    Query,
    Row,
    id_stored,
    id_text,
    register_query,
)
from outcomes.store._pg_compact import TRACE_INDEX_WHERE
from outcomes.store._rollup_rows import CELL_SELECT, EMA_SELECT, STAT_NAMES
from outcomes.store._rollups import DAY_S


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
        CELL_SELECT,
        _rollup_rows(ROLLUP_CELLS),
        ordered=False,
    )
)
"""Every rollup cell: ``model_id, task, project_key`` then the stat columns
(``outcomes.store.STAT_COLUMNS``); what profiles are built from."""

ROLLUP_EMA_ROWS = register_query(
    Query(
        "inference.rollup_ema",
        EMA_SELECT,
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
_SELECT = f"SELECT {', '.join(FOLD_FIELDS)}, seq FROM receipts WHERE kind = ?"
_SINCE = (
    " AND trace_id IN (SELECT trace_id FROM receipts"
    " WHERE kind = ? AND supersedes IS NULL AND timestamp >= ?)"
)
_TAG = " AND trace_id IN (SELECT trace_id FROM trace_tags WHERE tag = ?)"
# SQLite stores UUID-shaped receipt trace ids as 16 bytes (store/_ids.py); trace_tags
# keeps text, so the receipt's side is compared as text there.
_TAG_SQLITE = f" AND {id_text('trace_id')} IN (SELECT trace_id FROM trace_tags WHERE tag = ?)"


def _pg_by_traces(traces: str) -> str:
    """PostgreSQL: the fold rows (``_SELECT``'s, kind the first parameter) of the
    receipts whose trace is among ``traces`` (SQL giving stored trace ids, its
    parameters next), in ``seq`` order. Its trace index leaves out the receipts whose id
    is their trace (store/_pg_compact.py), so ``trace_id IN (...)`` would read every
    receipt: the first receipts are asked for by id, the others through the index."""
    rows = f"SELECT {', '.join(FOLD_FIELDS)}, seq FROM receipts WHERE kind = (SELECT k FROM q) AND "
    return (
        f"WITH q AS (SELECT ?::text AS k), t AS ({traces}) "
        f"SELECT * FROM ({rows}trace_id = receipt_id AND receipt_id IN (SELECT id FROM t) "
        f"UNION ALL {rows}{TRACE_INDEX_WHERE} AND trace_id IN (SELECT id FROM t)) AS found "
        "ORDER BY seq"
    )


# PostgreSQL stores every receipt id as bytea (pg.0002): the tags' side is encoded.
_PG_TAGGED = f"SELECT {id_stored('trace_id')} AS id FROM trace_tags WHERE tag = ?"
_PG_TAGGED_SINCE = (
    "SELECT trace_id AS id FROM receipts WHERE kind = ? AND supersedes IS NULL "
    f"AND timestamp >= ? AND trace_id IN ({_PG_TAGGED})"
)


def _started_since(tables: MemoryTables, kind: str, since: float) -> set[str]:
    return {
        r.trace_id
        for _, r in tables.rows(Receipt.__table__)
        if r.kind == kind and r.supersedes is None and r.timestamp >= since
    }


def _tagged(tables: MemoryTables, tag: str) -> set[str]:
    return {t.trace_id for _, t in tables.rows(TraceTag.__table__) if t.tag == tag}


def _rows_of(tables: MemoryTables, kind: str, traces: set[str]) -> Iterator[Row]:
    for seq, r in tables.rows(Receipt.__table__):
        if r.kind == kind and r.trace_id in traces:
            yield (*fold_values_of(r), seq)


def _since_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    kind, kind2, since = params
    return _rows_of(tables, kind, _started_since(tables, kind2, since))


def _tag_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    kind, tag = params
    return _rows_of(tables, kind, _tagged(tables, tag))


def _tag_since_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    kind, kind2, since, tag = params
    return _rows_of(tables, kind, _started_since(tables, kind2, since) & _tagged(tables, tag))


FOLD_ROWS_SINCE = register_query(
    Query("inference.fold_rows_since", _SELECT + _SINCE + " ORDER BY seq", _since_rows)
)
"""Params ``(kind, kind, since)``: fold rows (``FOLD_FIELDS`` + ``seq``) of the calls
first recorded at or after ``since``."""

FOLD_ROWS_TAGGED = register_query(
    Query(
        "inference.fold_rows_tagged",
        _SELECT + _TAG + " ORDER BY seq",
        _tag_rows,
        dialects={
            "sqlite": _SELECT + _TAG_SQLITE + " ORDER BY seq",
            "postgresql": _pg_by_traces(_PG_TAGGED),
        },
    )
)
"""Params ``(kind, tag)``: fold rows of the calls carrying ``tag``."""

FOLD_ROWS_TAGGED_SINCE = register_query(
    Query(
        "inference.fold_rows_tagged_since",
        _SELECT + _SINCE + _TAG + " ORDER BY seq",
        _tag_since_rows,
        dialects={
            "sqlite": _SELECT + _SINCE + _TAG_SQLITE + " ORDER BY seq",
            "postgresql": _pg_by_traces(_PG_TAGGED_SINCE),
        },
    )
)
"""Params ``(kind, kind, since, tag)``: both filters."""


_RANGE_NAMES = ("model_id", "task", "project_key", "at", *STAT_NAMES)


def _range_sql() -> str:
    cols = ", ".join(STAT_NAMES)
    hours = f"SELECT model_id, task, project_key, hour AS at, {cols} FROM rollup_hourly "
    return (
        f"{hours}WHERE hour >= ? AND hour < ? UNION ALL {hours}WHERE hour >= ? AND hour < ? "
        f"UNION ALL SELECT model_id, task, project_key, day AS at, {cols} FROM rollup_daily "
        "WHERE day >= ? AND day < ?"
    )


RANGE_SQL = _range_sql()
"""The rollup rows of a range of whole hours (params :func:`range_params`): the whole UTC
days inside it from ``rollup_daily``, the hours of the partial days at its two ends from
``rollup_hourly``; ``at`` is the row's start. A month is about 30 rows per cell, not 720.
Other wings' queries select from it as a subquery."""


def range_params(low: int, high: int, *, days: bool = True) -> Row:
    """Params of :data:`RANGE_SQL` for hours ``[low, high)``; ``days=False`` reads hours
    only (a bucket finer than a day cannot use a day's row)."""
    first = -(-low // DAY_S) * DAY_S
    last = high // DAY_S * DAY_S
    if not days or first >= last:
        return (low, high, 0, 0, 0, 0)
    return (low, first, last, high, first, last)


def range_rows(tables: MemoryTables, params: Row) -> Iterator[dict[str, Any]]:
    """:data:`RANGE_SQL` on the memory store, each row as a dict by column name."""
    h1, h2, h3, h4, d1, d2 = params
    for table, spans in ((ROLLUP_HOURLY, ((h1, h2), (h3, h4))), (ROLLUP_DAILY, ((d1, d2),))):
        for _, r in tables.rows(table):
            if any(lo <= r[3] < hi for lo, hi in spans):
                yield dict(zip(_RANGE_NAMES, r, strict=True))


def _range_sorted(tables: MemoryTables, params: Row) -> Iterator[Row]:
    rows = [tuple(r.values()) for r in range_rows(tables, params)]
    rows.sort(key=lambda r: (r[3], r[0], r[1], r[2]))
    return iter(rows)


ROLLUP_RANGE_ROWS = register_query(
    Query(
        "inference.rollup_range",
        f"SELECT * FROM ({RANGE_SQL}) AS r ORDER BY at, model_id, task, project_key",
        _range_sorted,
    )
)
"""Params :func:`range_params`: :data:`RANGE_SQL`'s rows, ``model_id, task,
project_key, at`` then the stat columns, by start (``at``)."""
