"""The components wing's named queries (run by every store; see ``outcomes.store.Query``)."""

from __future__ import annotations

from collections.abc import Iterator

from outcomes.components._records import OUTCOME_TOTALS, ComponentEvent
from outcomes.store import MemoryTables, Query, Row, register_query

_TABLE = ComponentEvent.__table__


def _outcome_rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    (outcomes,) = params
    wanted = set(outcomes)
    for _, e in tables.rows(_TABLE):
        if e.outcome in wanted:
            yield e.component_id, e.outcome, e.timestamp, e.session_id


OUTCOME_ROWS = register_query(
    Query(
        "components.outcome_rows",
        "SELECT component_id, outcome, timestamp, session_id FROM component_events "
        "WHERE outcome IN (?) ORDER BY seq",
        _outcome_rows,
    )
)
"""Params ``(outcomes,)`` (a sequence of outcome names): (component id, outcome,
timestamp, session id) of the matching events, in insertion order."""


def _outcome_counts(tables: MemoryTables, params: Row) -> Iterator[Row]:
    acc: dict[tuple[str, str], list[float]] = {}
    for _, e in tables.rows(_TABLE):
        entry = acc.get((e.component_id, e.outcome))
        if entry is None:
            acc[(e.component_id, e.outcome)] = [1, e.timestamp, e.timestamp]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], e.timestamp)
            entry[2] = max(entry[2], e.timestamp)
    for (cid, outcome), (n, first, last) in acc.items():
        yield cid, outcome, int(n), first, last


OUTCOME_COUNTS = register_query(
    Query(
        "components.outcome_counts",
        "SELECT component_id, outcome, COUNT(*), MIN(timestamp), MAX(timestamp) "
        "FROM component_events GROUP BY component_id, outcome",
        _outcome_counts,
        ordered=False,
    )
)
"""No params: per (component id, outcome), the number of events and the first and last
timestamps, in no particular order, grouped from every event: what
:data:`OUTCOME_TOTAL_ROWS` must equal (the statistics read that)."""


def _totals(tables: MemoryTables, params: Row) -> Iterator[Row]:
    for _, r in tables.rows(OUTCOME_TOTALS.table):
        yield tuple(r)


OUTCOME_TOTAL_ROWS = register_query(
    Query(
        "components.outcome_totals",
        f"SELECT {', '.join(OUTCOME_TOTALS.column_names)} FROM {OUTCOME_TOTALS.name}",
        _totals,
        ordered=False,
    )
)
"""No params: :data:`OUTCOME_COUNTS`' rows, read from the totals the store keeps
(``component_outcomes``) instead of grouping the events."""
