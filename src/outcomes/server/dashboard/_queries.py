"""The dashboard's named queries (run by every store; see ``outcomes.store.Query``).

``dashboard.series`` sums the hourly rollups per model and bucket (trends and traffic
shares, at a cost independent of the number of receipts); ``dashboard.recent`` picks the
newest matching receipts from a bounded walk of the time index (recent failures, which
no rollup keeps), and ``dashboard.outcomes`` every call's outcome from such a walk (the
routing page's decisions and cut-offs). Filters are positional parameters; an empty
string for ``task``, ``project`` or ``model`` means "any" (a typed sentinel rather than
``NULL``: PostgreSQL cannot infer the type of a bare ``? IS NULL`` parameter). Times are
Unix seconds, ``since`` inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from outcomes.inference._queries import RANGE_SQL as _RANGE
from outcomes.inference._queries import range_params, range_rows
from outcomes.records import Receipt
from outcomes.store import BUCKET_S, MemoryTables, Query, Row, register_query
from outcomes.store._rollup_rows import STAT_COLUMNS, STAT_NAMES
from outcomes.store._rollups import DAY_S


def _series(tables: MemoryTables, params: Row) -> Iterator[Row]:
    width, spans = params[0], tuple(params[1:7])
    task, _, project, _, model, _ = params[7:]
    acc: dict[tuple[str, int], list[Any]] = {}
    for row in range_rows(tables, spans):
        if (task and row["task"] != task) or (project and row["project_key"] != project):
            continue
        if model and row["model_id"] != model:
            continue
        a = acc.setdefault((row["model_id"], row["at"] // width), [0] * len(_SUMMED))
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
        f"FROM (SELECT model_id, {', '.join(_SUMMED)}, at / ? AS bucket FROM ({_RANGE}) AS r "
        "WHERE (task = ? OR ? = '') "
        "AND (project_key = ? OR ? = '') AND (model_id = ? OR ? = '')) AS picked "
        "GROUP BY model_id, bucket",
        _series,
        ordered=False,
    )
)
"""Params :func:`series_params`: from the rollups (one row per model, task, project and
hour, or day when the bucket is whole days; whatever the number of receipts), per
(model, bucket index): calls,
successes, failures, quality sum, quality count, latency sum (ms), latency count, cost
sum (USD). Bucket ``b`` covers ``[b * bucket_s, (b + 1) * bucket_s)``; ``bucket_s`` is a
whole number of hours and the range is rounded out to whole hours. A late signal counts
in the hour of the call it resolves."""


def series_params(
    bucket_s: int, since: float, until: float, task: str, project: str, model: str
) -> Row:
    low = int(since // BUCKET_S) * BUCKET_S
    high = math.ceil(until / BUCKET_S) * BUCKET_S
    spans = range_params(low, high, days=bucket_s % DAY_S == 0)
    return (bucket_s, *spans, task, task, project, project, model, model)


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
    cells: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for r in range_rows(tables, params):
        key = (r["model_id"], r["task"], r["project_key"])
        cells.setdefault(key, []).append(tuple(r[n] for n in STAT_NAMES))
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
    # then every row joined to its cell's (a window function sorted the whole range).
    tops = ", ".join(f"MAX({n}) AS {n}" for n in sorted(_LOGGED))
    aggs = ", ".join(_aggregate(n, k, concat) for n, k in STAT_COLUMNS)
    return (
        f"WITH r AS ({_RANGE}), t AS (SELECT {_CELL}, {tops} FROM r GROUP BY {_CELL}) "
        f"SELECT h.model_id, h.task, h.project_key, {aggs} FROM r AS h "
        "JOIN t ON h.model_id = t.model_id AND h.task = t.task "
        "AND h.project_key = t.project_key "
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
"""Params :func:`cells_params`: the rollup rows of that range (whole days from
``rollup_daily``, the edges' hours from ``rollup_hourly``) merged per cell in the
database, as ``model_id, task, project_key`` then the stat columns (decode with
``stats_of(row[3:])``): one row per cell whatever the number of hours, so a time
range's leaderboard costs one short query. The sketch column is the rows' sketches
joined in no set order (``NULL`` when empty); its decoded counts are what is defined.
SQLite needs ``exp``/``ln``: built in when compiled with math functions, else the
store registers them."""


def cells_params(since_hour: int, until_hour: int) -> Row:
    return range_params(since_hour, until_hour)


def _failed(r: Receipt) -> bool:
    return r.success is False and r.error is not None


def _newest(
    tables: MemoryTables, since: float, until: float, scan: int, *, failures: bool = False
) -> list[Any]:
    """The walk both queries start from: the ``scan`` newest receipts of the range (of
    its failures with ``failures``), as (timestamp, seq, receipt), newest first."""
    return sorted(
        ((r.timestamp, seq, r) for seq, r in tables.rows(Receipt.__table__)
         if since <= r.timestamp < until and (not failures or _failed(r))),
        key=lambda t: (t[0], t[1]),
        reverse=True,
    )[:scan]  # fmt: skip


def _recent(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, scan, task, _, project, _, model, _, limit = params
    newest = _newest(tables, since, until, scan, failures=True)
    out = 0
    for _, _, r in newest:
        if r.kind != "inference" or (task and r.task != task):
            continue
        if (project and r.project_id != project) or (model and r.model_id != model):
            continue
        yield (r.timestamp, r.trace_id, r.model_id, r.task, r.project_id, r.routing_reason,
               r.propensity, r.success, r.error, r.latency_ms)  # fmt: skip
        out += 1
        if out >= limit:
            return


_RECENT_SQL = (
    "SELECT r.timestamp, r.trace_id, r.model_id, r.task, r.project_id, r.routing_reason, "
    "r.propensity, r.success, r.error, r.latency_ms FROM (SELECT seq, timestamp FROM (SELECT seq, "
    "timestamp, model_id, task, project_id, kind FROM receipts "
    # The failures' partial index (core.0005) serves this walk from the index alone
    # (it holds every column the filters read); its WHERE repeats the index's
    # condition term for term, so both engines match it. Only the kept rows are read.
    "WHERE NOT success AND error IS NOT NULL "
    "AND timestamp >= ? AND timestamp < ? ORDER BY timestamp DESC, seq DESC LIMIT ?) "
    "AS walked WHERE kind = 'inference' AND (task = ? OR ? = '') "
    "AND (project_id = ? OR ? = '') AND (model_id = ? OR ? = '') "
    "ORDER BY timestamp DESC, seq DESC LIMIT ?) AS kept JOIN receipts AS r "
    # Back through the same partial index: PostgreSQL indexes seq and timestamp by block
    # ranges only (pg.0002, pg.0003); the failures' index finds the partition and the row
    # by (timestamp, seq), once the join repeats its condition.
    "ON r.timestamp = kept.timestamp AND r.seq = kept.seq "
    "AND NOT r.success AND r.error IS NOT NULL "
    "ORDER BY r.timestamp DESC, r.seq DESC"
)
RECENT = register_query(
    Query(
        "dashboard.recent",
        _RECENT_SQL,
        _recent,
        ids=(1,),  # trace_id
    )
)
"""Params :func:`recent_params`: among the ``scan`` newest failures with an error of the
time range (a bounded walk of the failures' partial index, whatever the store's size),
the newest ``limit`` that match the filters (a model's recent failures), as
(timestamp, trace_id, model_id, task, project_id, routing_reason, propensity, success,
error, latency_ms)."""


def recent_params(
    since: float, until: float, scan: int, task: str, project: str, model: str, *, limit: int
) -> Row:
    return (since, until, scan, task, task, project, project, model, model, limit)


def _outcomes(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, scan, task, _, project, _ = params
    newest = _newest(tables, since, until, scan)
    for ts, _, r in newest:
        if r.kind != "inference" or r.supersedes is not None:
            continue
        if (task and r.task != task) or (project and r.project_id != project):
            continue
        failed = _failed(r)
        yield (ts, r.model_id, 1 if failed else 0, r.error if failed else None, r.trace_id,
               r.task, r.routing_reason, r.propensity, r.success)  # fmt: skip


OUTCOMES = register_query(
    Query(
        "dashboard.outcomes",
        "SELECT timestamp, model_id, CASE WHEN NOT success AND error IS NOT NULL THEN 1 ELSE 0 "
        "END, CASE WHEN NOT success THEN error END, trace_id, task, routing_reason, propensity, "
        "success FROM (SELECT seq, timestamp, model_id, task, project_id, success, error, kind, "
        "supersedes, trace_id, routing_reason, propensity FROM receipts "
        "WHERE timestamp >= ? AND timestamp < ? "
        "ORDER BY timestamp DESC, seq DESC LIMIT ?) AS newest "
        "WHERE kind = 'inference' AND supersedes IS NULL AND (task = ? OR ? = '') "
        "AND (project_id = ? OR ? = '') ORDER BY timestamp DESC, seq DESC",
        _outcomes,
        ids=(4,),  # trace_id
    )
)
"""Params :func:`outcomes_params`: among the ``scan`` newest receipts of the time range
(the walk of ``dashboard.recent``), the first receipts of inference calls that match the
filters, newest first, as (timestamp, model_id, failed, error, trace_id, task,
routing_reason, propensity, success): ``failed`` is 1 for a call that failed with an
error text (what the breaker and the rate-limit rule count), and ``error`` is only sent
for those. The routing page reads both its cut-offs and its decisions (the routed calls
among these) from this one walk: the walk, not the transfer, is what costs."""


def outcomes_params(since: float, until: float, scan: int, task: str, project: str) -> Row:
    return (since, until, scan, task, task, project, project)
