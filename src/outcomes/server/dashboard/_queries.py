"""The dashboard's named queries (run by every store; see ``outcomes.store.Query``).

``dashboard.series`` sums the hourly rollups per model and bucket (trends and traffic
shares, at a cost independent of the number of receipts); ``dashboard.recent`` picks the
newest matching receipts from a bounded walk of the time index (recent failures and
routing decisions, which no rollup keeps). Filters are positional parameters; an empty
string for ``task``, ``project`` or ``model`` means "any" (a typed sentinel rather than
``NULL``: PostgreSQL cannot infer the type of a bare ``? IS NULL`` parameter). Times are
Unix seconds, ``since`` inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from outcomes.records import Receipt
from outcomes.store import BUCKET_S, ROLLUP_HOURLY, MemoryTables, Query, Row, register_query
from outcomes.store._rollup_rows import STAT_COLUMNS, STAT_NAMES


def _series(tables: MemoryTables, params: Row) -> Iterator[Row]:
    width, since, until, task, _, project, _, model, _ = params
    acc: dict[tuple[str, int], list[Any]] = {}
    for _, r in tables.rows(ROLLUP_HOURLY):
        row = dict(zip(ROLLUP_HOURLY.column_names, r, strict=True))
        if not since <= row["hour"] < until:
            continue
        if (task and row["task"] != task) or (project and row["project_key"] != project):
            continue
        if model and row["model_id"] != model:
            continue
        a = acc.setdefault((row["model_id"], row["hour"] // width), [0] * len(_SUMMED))
        for i, name in enumerate(_SUMMED):
            a[i] += row[name]
    for (model_id, bucket), a in acc.items():
        yield (model_id, bucket, *a)


_SUMMED = (
    "calls", "successes", "failures", "quality_sum", "quality_n", "latency_ms_total",
    "latency_n", "cost_usd",
)  # fmt: skip

SERIES = register_query(
    Query(
        "dashboard.series",
        f"SELECT model_id, bucket, {', '.join(f'SUM({c})' for c in _SUMMED)} "
        # Bucketed in a subquery: PostgreSQL does not match a GROUP BY expression to the
        # SELECT's when each binds its own parameter.
        f"FROM (SELECT model_id, {', '.join(_SUMMED)}, hour / ? AS bucket FROM rollup_hourly "
        "WHERE hour >= ? AND hour < ? AND (task = ? OR ? = '') "
        "AND (project_key = ? OR ? = '') AND (model_id = ? OR ? = '')) AS picked "
        "GROUP BY model_id, bucket",
        _series,
        ordered=False,
    )
)
"""Params :func:`series_params`: from the hourly rollups (one row per model, task,
project and hour, whatever the number of receipts), per (model, bucket index): calls,
successes, failures, quality sum, quality count, latency sum (ms), latency count, cost
sum (USD). Bucket ``b`` covers ``[b * bucket_s, (b + 1) * bucket_s)``; ``bucket_s`` is a
whole number of hours and the range is rounded out to whole hours. A late signal counts
in the hour of the call it resolves."""


def series_params(
    bucket_s: int, since: float, until: float, task: str, project: str, model: str
) -> Row:
    low = int(since // BUCKET_S) * BUCKET_S
    high = math.ceil(until / BUCKET_S) * BUCKET_S
    return (bucket_s, low, high, task, task, project, project, model, model)


_MAXED = frozenset({"latency_max_s", "last_at"})
_LOGGED = frozenset({"dw_pos", "dwq_pos", "dw_neg", "dwq_neg", "ds_pos", "ds_neg", "df_pos",
                     "df_neg"})  # fmt: skip
_CELL = "model_id, task, project_key"


def combine(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Stat columns of several rollup rows of one cell merged column by column: sums,
    maxima, log-sum-exp of the decayed sums (NULL is minus infinity), sketches joined
    (their text decodes to the summed counts). What ``dashboard.cells`` computes in SQL."""
    out: list[Any] = []
    for name, column in zip(STAT_NAMES, zip(*rows, strict=True), strict=True):
        if name in _MAXED:
            out.append(max(column))
        elif name == "latency_sketch":
            out.append(",".join(c for c in column if c) or None)
        elif name in _LOGGED:
            logs = [float(c) for c in column if c is not None]
            top = max(logs, default=None)
            out.append(
                None if top is None else top + math.log(sum(math.exp(v - top) for v in logs))
            )
        else:
            out.append(sum(column))
    return tuple(out)


def _cells(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, _, _ = params
    cells: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for _, r in tables.rows(ROLLUP_HOURLY):
        if since <= r[3] < until:
            cells.setdefault((r[0], r[1], r[2]), []).append(tuple(r[4:]))
    for key, rows in cells.items():
        yield (*key, *combine(rows))


def _aggregate(name: str, kind: str, concat: str) -> str:
    if name in _MAXED:
        return f"MAX(h.{name})"
    if name == "latency_sketch":
        return f"{concat}(NULLIF(h.{name}, ''), ',')"
    if name in _LOGGED:
        # log-sum-exp against the cell's largest term; a term e^-700 below it counts 0.
        shifted = f"h.{name} - t.{name}"
        return f"MAX(h.{name}) + LN(SUM(CASE WHEN {shifted} < -700 THEN 0 ELSE EXP({shifted}) END))"
    return f"CAST(SUM(h.{name}) AS BIGINT)" if kind == "int" else f"SUM(h.{name})"


def _cells_sql(concat: str) -> str:
    # The cells' largest decayed terms first (a CTE: one grouped pass over the range),
    # then every hour row joined to its cell's (a window function sorted the whole range).
    tops = ", ".join(f"MAX({n}) AS {n}" for n in sorted(_LOGGED))
    aggs = ", ".join(_aggregate(n, k, concat) for n, k in STAT_COLUMNS)
    picked = "hour >= ? AND hour < ?"
    return (
        f"WITH t AS (SELECT {_CELL}, {tops} FROM rollup_hourly WHERE {picked} "
        f"GROUP BY {_CELL}) "
        f"SELECT h.model_id, h.task, h.project_key, {aggs} FROM rollup_hourly AS h "
        "JOIN t ON h.model_id = t.model_id AND h.task = t.task "
        f"AND h.project_key = t.project_key WHERE h.{picked} "
        "GROUP BY h.model_id, h.task, h.project_key"
    )


CELLS = register_query(
    Query(
        "dashboard.cells",
        _cells_sql("GROUP_CONCAT"),
        _cells,
        dialects={"postgresql": _cells_sql("string_agg")},
        ordered=False,
    )
)
"""Params :func:`cells_params`: the hourly rollup rows in that range merged per
cell in the database, as ``model_id, task, project_key`` then the stat columns (decode
with ``stats_of(row[3:])``): one row per cell whatever the number of hours, so a time
range's leaderboard costs one short query. The sketch column is the hours' sketches
joined in no set order (``NULL`` when empty); its decoded counts are what is defined.
SQLite needs ``exp``/``ln``: built in when compiled with math functions, else the
store registers them."""


def cells_params(since_hour: int, until_hour: int) -> Row:
    return (since_hour, until_hour, since_hour, until_hour)


def _failed(r: Receipt) -> bool:
    return r.success is False and r.error is not None


def _routed(r: Receipt) -> bool:
    return r.supersedes is None and r.routing_reason != ""


def _newest(tables: MemoryTables, since: float, until: float, scan: int) -> list[Any]:
    """The walk both queries start from: the ``scan`` newest receipts of the range, as
    (timestamp, seq, receipt), newest first."""
    return sorted(
        ((r.timestamp, seq, r) for seq, r in tables.rows(Receipt.__table__)
         if since <= r.timestamp < until),
        key=lambda t: (t[0], t[1]),
        reverse=True,
    )[:scan]  # fmt: skip


def _recent(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, scan, task, _, project, _, model, _, only_failures, limit = params
    newest = _newest(tables, since, until, scan)
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


def _outcomes(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, scan, task, _, project, _ = params
    newest = _newest(tables, since, until, scan)
    for ts, _, r in newest:
        if r.kind != "inference" or r.supersedes is not None:
            continue
        if (task and r.task != task) or (project and r.project_id != project):
            continue
        failed = _failed(r)
        yield (ts, r.model_id, 1 if failed else 0, r.error if failed else None)


OUTCOMES = register_query(
    Query(
        "dashboard.outcomes",
        "SELECT timestamp, model_id, CASE WHEN NOT success AND error IS NOT NULL THEN 1 ELSE 0 "
        "END, CASE WHEN NOT success THEN error END FROM ("
        "SELECT seq, timestamp, model_id, task, project_id, success, error, kind, supersedes "
        "FROM receipts WHERE timestamp >= ? AND timestamp < ? "
        "ORDER BY timestamp DESC, seq DESC LIMIT ?) AS newest "
        "WHERE kind = 'inference' AND supersedes IS NULL AND (task = ? OR ? = '') "
        "AND (project_id = ? OR ? = '') ORDER BY timestamp DESC, seq DESC",
        _outcomes,
    )
)
"""Params :func:`outcomes_params`: among the ``scan`` newest receipts of the time range
(the walk of ``dashboard.recent``), the first receipts of inference calls that match the
filters, newest first, as (timestamp, model_id, failed, error): ``failed`` is 1 for a
call that failed with an error text (what the breaker and the rate-limit rule count),
and ``error`` is only sent for those. Four short columns: the walk, not the transfer,
is what costs."""


def outcomes_params(since: float, until: float, scan: int, task: str, project: str) -> Row:
    return (since, until, scan, task, task, project, project)
