"""The ledger's named queries: per (model, task) totals from the rollups, and the
receipts that rollups do not cover (kinds other than ``inference``)."""

from __future__ import annotations

from collections.abc import Iterator

from outcomes.records import Receipt
from outcomes.store import ROLLUP_CELLS, ROLLUP_HOURLY, MemoryTables, Query, Row, register_query
from outcomes.store._rollup_fold import booked_at
from outcomes.store._rollup_rows import (
    CELL_TOTALS_SELECT,
    OTHER_KIND_COLUMNS,
    OTHER_KINDS_SELECT,
    SUM_COLUMNS,
    TOTAL_COLUMNS,
)

_TOTALS, _SUMS = TOTAL_COLUMNS, SUM_COLUMNS
_IDX = {n: i for i, n in enumerate(ROLLUP_CELLS.column_names)}


def _cell_totals(tables: MemoryTables, params: Row) -> Iterator[Row]:
    acc: dict[tuple[str, str], list[float]] = {}
    for _, r in tables.rows(ROLLUP_CELLS):
        row = tuple(r)
        key = (row[0], row[1])
        values = acc.setdefault(key, [0] * (len(_TOTALS) + len(_SUMS)))
        for i, name in enumerate((*_TOTALS, *_SUMS)):
            values[i] += row[_IDX[name]]
    for key in sorted(acc):
        yield (*key, *acc[key])


CELL_TOTALS = register_query(
    Query(
        "ledger.cell_totals",
        CELL_TOTALS_SELECT,
        _cell_totals,
    )
)
"""Per (model, task), from the rollups: receipts, calls, successes, failures,
inconclusive, total latency (ms), total known cost."""

_COLUMNS = OTHER_KIND_COLUMNS


def _other_kinds(tables: MemoryTables, params: Row) -> Iterator[Row]:
    for _, r in tables.rows(Receipt.__table__):
        if r.kind != "inference":
            yield tuple(getattr(r, c) for c in _COLUMNS)


OTHER_KIND_ROWS = register_query(
    Query(
        "ledger.other_kind_rows",
        OTHER_KINDS_SELECT,
        _other_kinds,
        ordered=False,
    )
)
"""The receipts of kinds the rollups leave out (``kind <> 'inference'``, served by a
partial index): model, task, success, supersedes, superseded_success, latency, cost."""


_RECEIPT_COLUMNS = Receipt.__table__.column_names


def _export_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until = params
    for _, r in tables.rows(Receipt.__table__):
        if since <= r.timestamp < until:
            yield tuple(getattr(r, c) for c in _RECEIPT_COLUMNS)


EXPORT_ROWS = register_query(
    Query(
        "ledger.export_rows",
        f"SELECT {', '.join(_RECEIPT_COLUMNS)} FROM receipts "
        "WHERE timestamp >= ? AND timestamp < ? ORDER BY seq",
        _export_rows,
        ids=(0, 1),  # receipt_id, trace_id
    )
)
"""Params ``(since, until)``: every receipt column, oldest first, for ``ledger export``
(encoded from the row: no record is built and nothing stored is scrubbed again)."""


def _hour_totals(tables: MemoryTables, params: Row) -> Iterator[Row]:
    (since_hour,) = params
    acc: dict[tuple[str, str], list[float]] = {}
    for _, r in tables.rows(ROLLUP_HOURLY):
        row = tuple(r)
        if row[3] >= since_hour:
            values = acc.setdefault((row[0], row[1]), [0] * (len(_TOTALS) + len(_SUMS)))
            for i, name in enumerate((*_TOTALS, *_SUMS)):
                values[i] += row[_HOUR_IDX[name]]
    for key in sorted(acc):
        yield (*key, *acc[key])


_HOUR_IDX = {n: i for i, n in enumerate(ROLLUP_HOURLY.column_names)}
HOUR_TOTALS = register_query(
    Query(
        "ledger.hour_totals",
        "SELECT model_id, task, "
        + ", ".join(f"SUM({c})" for c in (*_TOTALS, *_SUMS))
        + " FROM rollup_hourly WHERE hour >= ? GROUP BY model_id, task ORDER BY model_id, task",
        _hour_totals,
    )
)
"""Params ``(hour,)``: :data:`CELL_TOTALS`' columns over the rollup hours from ``hour`` on
(the inference receipts booked at or after it: a late signal in its call's hour)."""


def _edge_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, hour = params[0], params[2]
    for _, r in tables.rows(Receipt.__table__):
        inside = r.timestamp >= since
        if r.kind != "inference":
            sign = int(inside)
        elif inside != (booked_at(r.timestamp, r.supersedes, r.superseded_at) >= hour):
            sign = 1 if inside else -1
        else:
            sign = 0
        if sign:
            yield (*(getattr(r, c) for c in _COLUMNS), sign)


_SIGNAL = "supersedes IS NOT NULL AND superseded_at IS NOT NULL AND kind = 'inference'"
_EDGE_SELECT = f"SELECT {', '.join(_COLUMNS)}, {{sign}} AS sign FROM receipts WHERE "
EDGE_ROWS = register_query(
    Query(
        "ledger.edge_rows",
        # Four disjoint sets, each read through an index: the other kinds since `since`;
        # the inference receipts booked at their own time in [since, hour) (the partial
        # hour); the late signals since `since` booked in a call's hour before `hour`; the
        # signals booked from `hour` on that were recorded before `since` (a signal dated
        # before its call: rare, but the rollups hold it and the scan would not). A unary
        # `+` keeps the planner off the index of the open-ended bound (every older signal).
        _EDGE_SELECT.format(sign=1)
        + "kind <> 'inference' AND +timestamp >= ? UNION ALL "
        + _EDGE_SELECT.format(sign=1)
        + "timestamp >= ? AND timestamp < ? AND kind = 'inference' "
        "AND (supersedes IS NULL OR superseded_at IS NULL) UNION ALL "
        + _EDGE_SELECT.format(sign=1)
        + f"supersedes IS NOT NULL AND timestamp >= ? AND +superseded_at < ? AND {_SIGNAL} "
        "UNION ALL "
        + _EDGE_SELECT.format(sign=-1)
        + f"supersedes IS NOT NULL AND superseded_at >= ? AND +timestamp < ? AND {_SIGNAL}",
        _edge_rows,
        ordered=False,
    )
)
"""Params :func:`edge_params`: what turns the rollup hours from ``hour`` on into the
receipts recorded since ``since`` (``hour`` is ``since`` rounded up to the hour): the
columns of :data:`OTHER_KIND_ROWS` then a sign (``1`` add the receipt, ``-1`` take it
back)."""


def edge_params(since: float, hour: int) -> Row:
    """Params of :data:`EDGE_ROWS` (``hour``: ``since`` rounded up to the hour)."""
    return (since, since, hour, since, hour, hour, since)
