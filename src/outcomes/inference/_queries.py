"""The inference wing's named queries (run by every store; see ``outcomes.store.Query``)."""

from __future__ import annotations

from collections.abc import Iterator

from outcomes.inference._profiles import FOLD_FIELDS, fold_values_of
from outcomes.records import Receipt
from outcomes.store import MemoryTables, Query, Row, register_query


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
