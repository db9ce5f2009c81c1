"""Profiles of the calls made since a time, from the rollups and the receipts at the edge.

``outcomes models --since 7d`` (and ``GET /v1/models?since=``) covers the calls whose
first receipt is at or after ``since``, with every receipt of theirs, late signals
included (:mod:`outcomes.inference._filter`). The rollups book each receipt in an hour:
a call's first receipt in its own hour, a superseding receipt in the hour of the receipt
it replaces (``superseded_at``). So the rollup hours from ``since`` rounded up to the
hour (``H``) hold nearly the answer; what differs is a few receipts at the edge:

- the first receipts in ``[since, H)``, which the hours leave out (added);
- the receipts of *edge calls*, whose receipts the hours may split wrongly; each is
  added when its call is selected and booked before ``H``, taken back when its call is
  not selected and booked from ``H`` on.

A call's receipts can be split wrongly only if it has a signal booked in ``[since, H)``,
a signal booked from ``H`` on but recorded before ``H`` (a clock that went back), or a
signal recorded from ``H`` on but booked before ``H`` (a late signal across ``H``): by
induction along the chain, since ``superseded_at`` repeats the timestamp of the receipt
it replaces, as every writer of receipts sets it. Those signals are read through the
two partial indexes on signals (index entries of the signals booked or recorded from
``H`` on, a few percent of the receipts since then), then their calls by trace.

What the rollups cannot give is kept honest: the newest receipt time of a profile cell
(``updated_at``) is looked up again in the receipts when a taken-back receipt was the
newest of its hour row; ``ema_quality``, an order-dependent average with no mergeable
form, is the whole history's (as ``outcomes models`` without ``--since`` reports it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from outcomes.inference._profiles import FOLD_FIELDS, ProfileState, fold_values_of
from outcomes.inference._queries import ROLLUP_EMA_ROWS, ROLLUP_RANGE_ROWS, range_params
from outcomes.records import Receipt
from outcomes.store import (
    ROLLUP_HALF_LIFE_S,
    MemoryTables,
    Query,
    Row,
    Store,
    project_of,
    register_query,
    stats_of,
)
from outcomes.store._pg_compact import TRACE_INDEX_WHERE
from outcomes.store._rollup_fold import booked_at
from outcomes.store._rollups import DAY_S, since_hour

_N = len(FOLD_FIELDS)
_TS = FOLD_FIELDS.index("timestamp")
_SUP = FOLD_FIELDS.index("supersedes")
_SUP_AT = FOLD_FIELDS.index("superseded_at")
_END = (2**53 // DAY_S) * DAY_S
"""The end of the rollup range read: after every clamped hour."""

_FIELDS = ", ".join(FOLD_FIELDS)
_INFERENCE = "inference"


def _heads(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, hour = params
    for _, r in tables.rows(Receipt.__table__):
        if r.kind == _INFERENCE and r.supersedes is None and since <= r.timestamp < hour:
            yield fold_values_of(r)


SINCE_HEADS = register_query(
    Query(
        "inference.since_heads",
        f"SELECT {_FIELDS} FROM receipts WHERE timestamp >= ? AND timestamp < ? "
        "AND kind = 'inference' AND supersedes IS NULL",
        _heads,
        ordered=False,
    )
)
"""Params ``(since, hour)``: fold rows (``FOLD_FIELDS``) of the first receipts of calls
in ``[since, hour)``."""


def _edge_traces(tables: MemoryTables, since: float, hour: int) -> set[Any]:
    traces = set()
    for _, r in tables.rows(Receipt.__table__):
        if r.supersedes is None or r.superseded_at is None:
            continue
        at, ts = r.superseded_at, r.timestamp
        if since <= at < hour or (at >= hour and ts < hour) or (ts >= hour and at < hour):
            traces.add(r.trace_id)
    return traces


def _edge_calls(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, hour = params[0], params[1]
    traces = _edge_traces(tables, since, hour)
    for _, r in tables.rows(Receipt.__table__):
        if r.kind == _INFERENCE and r.trace_id in traces:
            yield (*fold_values_of(r), r.trace_id)


_SIGNALS = "SELECT trace_id FROM receipts WHERE supersedes IS NOT NULL AND "
# The three kinds of signal that make a call an edge call (module docstring), each read
# through a partial index on signals: booked in [since, H); booked from H on, recorded
# before; recorded from H on, booked before. A unary `+` keeps the planner off the
# index of the open-ended bound.
_EDGE_TRACES = (
    f"{_SIGNALS}superseded_at >= ? AND superseded_at < ? UNION ALL "
    f"{_SIGNALS}superseded_at >= ? AND +timestamp < ? UNION ALL "
    f"{_SIGNALS}timestamp >= ? AND +superseded_at < ?"
)
_EDGE_SELECT = f"SELECT {_FIELDS}, trace_id FROM receipts WHERE kind = 'inference' AND "
EDGE_CALLS = register_query(
    Query(
        "inference.since_edge_calls",
        f"{_EDGE_SELECT}trace_id IN ({_EDGE_TRACES})",
        _edge_calls,
        # PostgreSQL's trace index leaves out the receipts whose id is their trace
        # (store/_pg_compact.py: a call's first receipt, found by its id), so
        # `trace_id IN (...)` alone read every receipt (375 ms at 1M, docs/scaling.md):
        # the calls' receipts are asked for in two parts, each served by its index.
        dialects={
            "postgresql": f"WITH edge AS MATERIALIZED ({_EDGE_TRACES}) "
            f"{_EDGE_SELECT}trace_id = receipt_id AND receipt_id IN (SELECT trace_id FROM edge) "
            f"UNION ALL {_EDGE_SELECT}{TRACE_INDEX_WHERE} "
            "AND trace_id IN (SELECT trace_id FROM edge)"
        },
        ordered=False,
        ids=(len(FOLD_FIELDS),),  # the trace id, in its text form on every store
    )
)
"""Params :func:`edge_params`: every receipt of the edge calls (module docstring), as
fold rows followed by the trace id."""


def edge_params(since: float, hour: int) -> Row:
    """Params of :data:`EDGE_CALLS` (``hour``: ``since`` rounded up to the hour)."""
    return (since, hour, hour, hour, hour, hour)


def _newest(tables: MemoryTables, params: Row) -> Iterator[Row]:
    model, task, project, since, until, since2 = params
    started = {
        r.trace_id
        for _, r in tables.rows(Receipt.__table__)
        if r.kind == _INFERENCE and r.supersedes is None and r.timestamp >= since2
    }
    best = None
    for _, r in tables.rows(Receipt.__table__):
        if (
            r.kind == _INFERENCE and r.model_id == model and r.task == task
            and (r.project_id or "") == project and since <= r.timestamp <= until
            and (r.supersedes is None or r.trace_id in started)
            and (best is None or r.timestamp > best)
        ):  # fmt: skip
            best = r.timestamp
    return iter([] if best is None else [(best,)])


_NEWEST = (
    "SELECT r.timestamp FROM receipts AS r WHERE r.kind = 'inference' "
    "AND r.model_id = ? AND r.task = ? AND COALESCE(r.project_id, '') = ? "
    "AND r.timestamp >= ? AND r.timestamp <= ? AND (r.supersedes IS NULL OR EXISTS ("
    "SELECT 1 FROM receipts AS f WHERE {trace} AND f.kind = 'inference' "
    "AND f.supersedes IS NULL AND f.timestamp >= ?)) ORDER BY r.timestamp DESC LIMIT 1"
)
NEWEST_SINCE = register_query(
    Query(
        "inference.since_newest",
        _NEWEST.format(trace="f.trace_id = r.trace_id"),
        _newest,
        # The call's first receipt by its id (its trace, as the tracker writes it) or
        # through the partial trace index (store/_pg_compact.py); `f.trace_id =
        # r.trace_id` alone could use neither: the planner costed a scan of the range per
        # signal (5e9 at 1M) and compiled the query (JIT: 340 of its 440 ms).
        dialects={
            "postgresql": _NEWEST.format(
                # The second part repeats TRACE_INDEX_WHERE, aliased.
                trace="((f.receipt_id = r.trace_id AND f.trace_id = r.trace_id) "
                "OR (f.trace_id = r.trace_id AND f.trace_id <> f.receipt_id))"
            )
        },
    )
)
"""Params ``(model, task, project_key, since, until, since)``: the newest receipt time in
``[since, until]`` of the cell among the calls first recorded at or after ``since``
(no row when there is none)."""


def _take_back(state: ProfileState, row: Row) -> bool:
    """Undo what folding the superseding receipt ``row`` booked (``fold_values``);
    ``False`` when its cell is not in the state (the rollups do not hold it)."""
    (model, task, project, ts, success, quality) = row[:6]
    sup_success, sup_quality, sup_at = row[_N - 3 : _N]
    st = state.parts.get((model, task, project))
    if st is None:
        return False
    h = state.half_life
    state.receipts -= 1
    st.book(success, quality, ts, -1, h)
    st.book(sup_success, sup_quality, sup_at if sup_at is not None else ts, 1, h)
    return True


def since_state(store: Store, since: float) -> ProfileState | None:
    """The profile state of the calls first recorded at or after ``since`` (module
    docstring), or ``None`` when the rollups cannot answer exactly (a call with two first
    receipts): the caller then folds the receipts."""
    since, hour = since_hour(since)
    state = ProfileState(half_life=ROLLUP_HALF_LIFE_S)
    for row in store.iter_query(ROLLUP_RANGE_ROWS, range_params(hour, _END)):
        st, n = stats_of(row[4:])
        key = (row[0], row[1], project_of(row[2]))
        cell = state.parts.get(key)
        if cell is None:
            state.parts[key] = st
        else:
            cell.merge(st)
        state.receipts += n
    fold = state.fold_values
    for row in store.iter_query(SINCE_HEADS, (since, hour)):
        fold(*row[:_N])
    calls: dict[Any, list[Row]] = defaultdict(list)
    for row in store.iter_query(EDGE_CALLS, edge_params(since, hour)):
        calls[row[_N]].append(row)
    newest_taken: dict[tuple[Any, ...], float] = {}
    for rows in calls.values():
        heads = [r for r in rows if r[_SUP] is None]
        if len(heads) > 1:
            return None
        chosen = any(float(r[_TS]) >= since for r in heads)
        for row in rows:
            if row[_SUP] is None and since <= float(row[_TS]) < hour:
                continue  # a first receipt SINCE_HEADS read
            sign = int(chosen) - int(booked_at(row[_TS], row[_SUP], row[_SUP_AT]) >= hour)
            if sign > 0:
                fold(*row[:_N])
            elif sign < 0:
                # A first receipt of an unselected call booked from H on cannot be (its
                # call would be selected); a cell the hours lack means they disagree.
                if row[_SUP] is None or not _take_back(state, row):
                    return None
                key = (row[0], row[1], row[2])
                newest_taken[key] = max(newest_taken.get(key, float(row[_TS])), float(row[_TS]))
    _fix_newest(store, state, since, newest_taken)
    state.ema.clear()
    state.task_ema.clear()
    for model, task, value in store.iter_query(ROLLUP_EMA_ROWS):
        if task:
            state.task_ema[(model, task)] = float(value)
        else:
            state.ema[model] = float(value)
    return state


def _fix_newest(
    store: Store, state: ProfileState, since: float, taken: dict[tuple[Any, ...], float]
) -> None:
    """Where a taken-back receipt may have been a cell's newest, look the cell's newest
    receipt up again (a cell left with no selected call is dropped)."""
    for key, newest in taken.items():
        st = state.parts.get(key)
        if st is None or newest < st.last_at:
            continue
        model, task, project = key
        found = store.query(NEWEST_SINCE, (model, task, project or "", since, st.last_at, since))
        if found:
            st.last_at = float(found[0][0])
        else:
            del state.parts[key]
