"""The shadow wing's named queries (run by every store; see ``outcomes.store.Query``).

The calibration report reads observations either as streamed rows (SQLite and memory:
one vectorized pass beats SQLite's sorting ``GROUP BY``) or as per-bucket sums computed
by the database (PostgreSQL). Both answer from the same definitions, stated once here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from outcomes.shadow._records import DECISION_TOTALS, ShadowObservation
from outcomes.store import MemoryImpl, MemoryTables, Query, Row, register_query

FINE = 1_000
"""Aggregates are kept per score bucket of width 1/FINE: medians are resolved to the
mean score of their bucket and ECE bins never split a bucket."""
LOG_EPS = 1e-15
"""Scores are clipped to [LOG_EPS, 1 - LOG_EPS] inside the log loss."""

_TABLE = ShadowObservation.__table__
_SCORES = {"caller": "caller_confidence", "derived": "derived_confidence"}

_PAIRED = "outcome IS NOT NULL AND caller_confidence IS NOT NULL"


def _rows_sql(id_bytes: str) -> str:
    # The id only on paired rows, as UTF-8 bytes: the report hashes it into a cross-fit
    # fold (CRC-32 of the bytes) and needs nothing of it on other rows; decoding a
    # million ids into str and encoding them back was a third of the report's time.
    return (
        "SELECT namespace, source, COALESCE(caller_confidence, -1.0), derived_confidence, "
        f"COALESCE(CAST(outcome AS INTEGER), -1), CASE WHEN {_PAIRED} THEN {id_bytes} END "
        "FROM shadow_observations"
    )


_ROWS_SQL = _rows_sql("CAST(id AS BLOB)")
_ROWS_PG = _rows_sql("convert_to(id, 'UTF8')")


def _row(o: ShadowObservation) -> Row:
    paired = o.outcome is not None and o.caller_confidence is not None
    return (
        o.namespace,
        o.source,
        -1.0 if o.caller_confidence is None else o.caller_confidence,
        o.derived_confidence,
        -1 if o.outcome is None else int(o.outcome),
        o.id.encode("utf-8", "surrogatepass") if paired else None,
    )


def _rows(tables: MemoryTables, params: Row) -> Iterator[Row]:
    return (_row(o) for _, o in tables.rows(_TABLE))


def _rows_in(tables: MemoryTables, params: Row) -> Iterator[Row]:
    (namespace,) = params
    return (_row(o) for _, o in tables.rows(_TABLE) if o.namespace == namespace)


CALIBRATION_ROWS = register_query(
    Query(
        "shadow.calibration_rows",
        _ROWS_SQL,
        _rows,
        dialects={"postgresql": _ROWS_PG},
        ordered=False,
    )
)
"""No params: (namespace, source, caller or -1.0, derived, outcome as 1/0 or -1, id as
UTF-8 bytes on paired rows (labeled, caller score present) else ``NULL``) of every
observation, in no particular order."""

CALIBRATION_ROWS_IN = register_query(
    Query(
        "shadow.calibration_rows_in_namespace",
        _ROWS_SQL + " WHERE namespace = ?",
        _rows_in,
        dialects={"postgresql": _ROWS_PG + " WHERE namespace = ?"},
        ordered=False,
    )
)
"""Params ``(namespace,)``: :data:`CALIBRATION_ROWS` of one namespace."""

_Y = "CASE WHEN outcome THEN 1.0 ELSE 0.0 END"
_DIFF = (
    f"(derived_confidence - {_Y}) * (derived_confidence - {_Y}) "
    f"- (caller_confidence - {_Y}) * (caller_confidence - {_Y})"
)


_PAIRED_SQL = (
    f"SELECT namespace, source, id, caller_confidence, derived_confidence, {_Y} "
    f"FROM shadow_observations WHERE {_PAIRED}"
)


def _paired(tables: MemoryTables, namespace: str | None) -> Iterator[Row]:
    for _, o in tables.rows(_TABLE):
        if o.outcome is None or o.caller_confidence is None:
            continue
        if namespace is not None and o.namespace != namespace:
            continue
        y = 1.0 if o.outcome else 0.0
        yield o.namespace, o.source, o.id, o.caller_confidence, o.derived_confidence, y


PAIRED_ROWS = register_query(
    Query(
        "shadow.paired_rows",
        _PAIRED_SQL,
        lambda tables, params: _paired(tables, None),
        ordered=False,
    )
)
"""No params: (namespace, source, id, caller, derived, outcome as 1.0/0.0) of every paired
labeled observation (both scores and an outcome), in no particular order."""

PAIRED_ROWS_IN = register_query(
    Query(
        "shadow.paired_rows_in_namespace",
        _PAIRED_SQL + " AND namespace = ?",
        lambda tables, params: _paired(tables, params[0]),
        ordered=False,
    )
)
"""Params ``(namespace,)``: :data:`PAIRED_ROWS` of one namespace."""


def _buckets_sql(col: str, *, extra: bool, postgresql: bool) -> str:
    floor = f"FLOOR({col} * {FINE})" if postgresql else f"CAST({col} * {FINE} AS INTEGER)"
    bucket = f"CASE WHEN {col} >= 1 THEN {FINE - 1} ELSE {floor} END"
    lo, hi = repr(LOG_EPS), repr(1 - LOG_EPS)
    clip = f"CASE WHEN ps < {lo} THEN {lo} WHEN ps > {hi} THEN {hi} ELSE ps END"
    log_loss = "-(y * LN(c) + (1 - y) * LN(1 - c))"
    # The inner queries are computed once per row (OFFSET 0 stops inlining them).
    fence = " OFFSET 0" if postgresql else " LIMIT -1 OFFSET 0"
    more = (
        ", COUNT(outcome), SUM(CASE WHEN caller_confidence IS NULL THEN 1 ELSE 0 END)"
        ", COALESCE(SUM(d), 0), COALESCE(SUM(d * d), 0)"
        if extra
        else ""
    )
    # ps / y / d are NULL on rows that are not paired, so the sums skip them.
    return (
        f"SELECT namespace, source, b, COUNT(*), SUM(s), COUNT(ps), "
        f"COALESCE(SUM(ps), 0), COALESCE(SUM(y), 0), COALESCE(SUM(ps * (1 - ps)), 0), "
        f"COALESCE(SUM((ps - y) * (ps - y)), 0), COALESCE(SUM({log_loss}), 0){more} "
        f"FROM (SELECT namespace, source, s, ps, y, outcome, caller_confidence, d, b, "
        f"{clip} AS c FROM (SELECT namespace, source, {col} AS s, "
        f"CASE WHEN {_PAIRED} THEN {col} END AS ps, "
        f"CASE WHEN {_PAIRED} THEN {_Y} END AS y, outcome, caller_confidence, "
        f"CASE WHEN {_PAIRED} THEN {_DIFF} END AS d, {bucket} AS b "
        f"FROM shadow_observations WHERE {col} IS NOT NULL "
        f"AND (CAST(? AS TEXT) IS NULL OR namespace = ?){fence}) t1{fence}) t2 "
        f"GROUP BY namespace, source, b"
    )


def _bucket_sums(score: str, extra: bool) -> MemoryImpl:
    def run(tables: MemoryTables, params: Row) -> Iterator[Row]:
        namespace = params[0]
        acc: dict[tuple[str, str, int], list[float]] = {}
        for _, o in tables.rows(_TABLE):
            s = getattr(o, _SCORES[score])
            if s is None or (namespace is not None and o.namespace != namespace):
                continue
            b = FINE - 1 if s >= 1 else math.floor(s * FINE)
            sums = acc.setdefault((o.namespace, o.source, b), [0.0] * (12 if extra else 8))
            sums[0] += 1
            sums[1] += s
            if extra:
                sums[8] += o.outcome is not None
                sums[9] += o.caller_confidence is None
            if o.outcome is None or o.caller_confidence is None:
                continue
            y = 1.0 if o.outcome else 0.0
            c = min(max(s, LOG_EPS), 1 - LOG_EPS)
            for i, v in enumerate(
                (
                    1,
                    s,
                    y,
                    s * (1 - s),
                    (s - y) ** 2,
                    -(y * math.log(c) + (1 - y) * math.log(1 - c)),
                ),
                start=2,
            ):
                sums[i] += v
            if extra:
                d = (o.derived_confidence - y) ** 2 - (o.caller_confidence - y) ** 2
                sums[10] += d
                sums[11] += d * d
        for (ns, src, b), sums in acc.items():
            counts = {0, 2, 8, 9}
            yield (ns, src, b, *(int(v) if i in counts else v for i, v in enumerate(sums)))

    return run


def _buckets(score: str) -> Query:
    extra = score == "derived"
    col = _SCORES[score]
    return register_query(
        Query(
            f"shadow.calibration_buckets_{score}",
            _buckets_sql(col, extra=extra, postgresql=False),
            _bucket_sums(score, extra),
            dialects={"postgresql": _buckets_sql(col, extra=extra, postgresql=True)},
            ordered=False,
        )
    )


CALIBRATION_BUCKETS = {score: _buckets(score) for score in _SCORES}
"""Per score (``caller``, ``derived``), params ``(namespace or None, namespace or None)``:
per (namespace, source, fine bucket b) over the rows where that score is present:
count, sum of scores, paired count, and over paired rows the sums of score, outcome,
s(1-s), squared error and log loss; the ``derived`` query adds the labeled count, the
missing-caller count and the sum and sum of squares of the Brier difference."""


_TOTALS_SQL = f"SELECT {', '.join(DECISION_TOTALS.column_names)} FROM {DECISION_TOTALS.name}"


def _decision_totals(tables: MemoryTables, params: Row) -> Iterator[Row]:
    return (tuple(r) for _, r in tables.rows(DECISION_TOTALS.table))


DECISION_TOTAL_ROWS = register_query(
    Query("shadow.decision_totals", _TOTALS_SQL, _decision_totals, ordered=False)
)
"""No params: the rows of ``shadow_decision_totals``, one per (point, candidate), in no
particular order."""
