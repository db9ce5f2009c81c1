"""The dashboard's named queries over receipts (run by every store; see ``outcomes.store.Query``).

They group or pick receipts inside a time range, which the profile fold cannot answer.
Filters are positional parameters; an empty string for ``task``, ``project`` or ``model``
means "any" (a typed sentinel rather than ``NULL``: PostgreSQL cannot infer the type of a
bare ``? IS NULL`` parameter). Times are Unix seconds, ``since`` inclusive, ``until``
exclusive.

A superseding receipt (a late signal) adds no call: it takes back the outcome it
replaces and books its own, in the bucket of its own timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from outcomes.records import Receipt
from outcomes.store import MemoryTables, Query, Row, register_query

_FILTER = (
    "kind = 'inference' AND timestamp >= ? AND timestamp < ? "
    "AND (task = ? OR ? = '') AND (project_id = ? OR ? = '') AND (model_id = ? OR ? = '')"
)


def _filter_params(since: float, until: float, task: str, project: str, model: str) -> Row:
    """The eight values :data:`_FILTER` binds, in order."""
    return (since, until, task, task, project, project, model, model)


def _matching(tables: MemoryTables, f: Row) -> Iterator[tuple[int, Receipt]]:
    since, until, task, _, project, _, model, _ = f
    for seq, r in tables.rows(Receipt.__table__):
        if r.kind != "inference" or not since <= r.timestamp < until:
            continue
        if (task and r.task != task) or (project and r.project_id != project):
            continue
        if model and r.model_id != model:
            continue
        yield seq, r


_SERIES_SELECT = (
    "SELECT model_id, bucket, "
    "SUM(CASE WHEN supersedes IS NULL THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN success THEN 1 ELSE 0 END) "
    "- SUM(CASE WHEN superseded_success THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN NOT success THEN 1 ELSE 0 END) "
    "- SUM(CASE WHEN NOT superseded_success THEN 1 ELSE 0 END), "
    "SUM(COALESCE(quality, 0)) - SUM(COALESCE(superseded_quality, 0)), "
    "COUNT(quality) - COUNT(superseded_quality), "
    "SUM(CASE WHEN supersedes IS NULL AND latency_ms > 0 THEN latency_ms ELSE 0 END), "
    "SUM(CASE WHEN supersedes IS NULL AND latency_ms > 0 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN supersedes IS NULL THEN COALESCE(cost_usd, 0) ELSE 0 END) "
    # Bucketed in a subquery: PostgreSQL does not match a GROUP BY expression to the
    # SELECT's when each binds its own parameter.
    "FROM (SELECT model_id, supersedes, success, superseded_success, quality, "
    "superseded_quality, latency_ms, cost_usd, {bucket} AS bucket "
    f"FROM receipts WHERE {_FILTER}) AS picked GROUP BY model_id, bucket"
)


def _series(tables: MemoryTables, params: Row) -> Iterator[Row]:
    width = params[0]
    acc: dict[tuple[str, int], list[Any]] = {}
    for _, r in _matching(tables, params[1:9]):
        key = (r.model_id, int(r.timestamp // width))
        a = acc.setdefault(key, [0, 0, 0, 0.0, 0, 0.0, 0, 0.0])
        if r.supersedes is None:
            a[0] += 1
            if r.latency_ms > 0:
                a[5] += r.latency_ms
                a[6] += 1
            a[7] += r.cost_usd or 0.0
        a[1] += (r.success is True) - (r.superseded_success is True)
        a[2] += (r.success is False) - (r.superseded_success is False)
        a[3] += (r.quality or 0.0) - (r.superseded_quality or 0.0)
        a[4] += (r.quality is not None) - (r.superseded_quality is not None)
    for (model_id, bucket), a in acc.items():
        yield (model_id, bucket, *a)


SERIES = register_query(
    Query(
        "dashboard.series",
        _SERIES_SELECT.format(bucket="CAST(timestamp / ? AS INTEGER)"),
        _series,
        dialects={
            "postgresql": _SERIES_SELECT.format(bucket="CAST(FLOOR(timestamp / ?) AS BIGINT)")
        },
        ordered=False,
    )
)
"""Params ``(bucket_s, since, until, task, task, project, project, model, model)`` (see
:func:`series_params`): per
(model, bucket index): calls, successes, failures, quality sum, quality count, latency
sum (ms), latency count, cost sum (USD). Bucket ``b`` covers ``[b * bucket_s, (b + 1) *
bucket_s)``."""


def series_params(
    bucket_s: int, since: float, until: float, task: str, project: str, model: str
) -> Row:
    return (bucket_s, *_filter_params(since, until, task, project, model))


def _failed(r: Receipt) -> bool:
    return r.success is False and r.error is not None


def _routed(r: Receipt) -> bool:
    return r.supersedes is None and r.routing_reason != ""


def _recent(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, scan, task, _, project, _, model, _, only_failures, limit = params
    newest = sorted(
        ((r.timestamp, seq, r) for seq, r in tables.rows(Receipt.__table__)
         if since <= r.timestamp < until),
        key=lambda t: (t[0], t[1]),
        reverse=True,
    )[:scan]  # fmt: skip
    out = 0
    for _, _, r in newest:
        if r.kind != "inference" or (task and r.task != task):
            continue
        if (project and r.project_id != project) or (model and r.model_id != model):
            continue
        if not (_failed(r) if only_failures else _routed(r)):
            continue
        yield (r.timestamp, r.trace_id, r.model_id, r.task, r.project_id, r.routing_reason,
               r.propensity, r.success, r.error, r.latency_ms)  # fmt: skip
        out += 1
        if out >= limit:
            return


RECENT = register_query(
    Query(
        "dashboard.recent",
        "SELECT timestamp, trace_id, model_id, task, project_id, routing_reason, propensity, "
        "success, error, latency_ms FROM (SELECT seq, timestamp, trace_id, model_id, task, "
        "project_id, routing_reason, propensity, success, error, latency_ms, kind, supersedes "
        "FROM receipts "
        "WHERE timestamp >= ? AND timestamp < ? ORDER BY timestamp DESC, seq DESC LIMIT ?) "
        "AS newest WHERE kind = 'inference' AND (task = ? OR ? = '') "
        "AND (project_id = ? OR ? = '') AND (model_id = ? OR ? = '') AND CASE WHEN ? = 1 "
        "THEN (NOT success AND error IS NOT NULL) "
        "ELSE (supersedes IS NULL AND routing_reason <> '') END "
        "ORDER BY timestamp DESC, seq DESC LIMIT ?",
        _recent,
    )
)
"""Params :func:`recent_params`: among the ``scan`` newest receipts of the time range
(a bounded walk of the time index, whatever the store's size), the newest ``limit`` that
match the filters and are failures with an error (``only_failures`` 1) or first receipts
of routed calls (0), as (timestamp, trace_id, model_id, task, project_id,
routing_reason, propensity, success, error, latency_ms)."""


def recent_params(
    since: float, until: float, scan: int, task: str, project: str, model: str,
    *, only_failures: bool, limit: int,
) -> Row:  # fmt: skip
    return (since, until, scan, task, task, project, project, model, model,
            1 if only_failures else 0, limit)  # fmt: skip
