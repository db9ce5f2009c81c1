"""The ledger's named queries: per (model, task) totals from the rollups, and the
receipts that rollups do not cover (kinds other than ``inference``)."""

from __future__ import annotations

from collections.abc import Iterator

from outcomes.records import Receipt
from outcomes.store import ROLLUP_CELLS, MemoryTables, Query, Row, register_query
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
