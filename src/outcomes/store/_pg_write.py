"""PostgreSQL's write path for receipts: two pipelined round trips around one ``COPY``.

A batch of receipt rows is written in the open transaction in three steps:

1. **One pipeline before.** The rollup lock, the month partitions the batch needs, the
   look-up of the batch's ids that are already stored and the stored ``ema_quality`` of
   its models are sent at once; while the server answers, Python folds the batch as if
   every row were new (the usual case) and sends the reads of the rollup rows the fold
   touches. A batch that repeats stored ids is folded again without them.
2. **The new rows**, by ``COPY`` straight into ``receipts`` (a handful of rows go by
   ``executemany`` with step 3 instead).
3. **One pipeline after**: the merged rollup rows and the new ``rollup_ema`` rows.

So a batch costs the server's work and about five waits (``BEGIN``, the first
pipeline, the ``COPY``, the second pipeline, ``COMMIT``), whatever the number of rollup
tables; the old path waited on each of a dozen statements in turn.

Why Python still merges the rollup rows rather than the server (``INSERT ... ON
CONFLICT DO UPDATE SET calls = t.calls + excluded.calls, ...``, tried): every stat
column merges by arithmetic PostgreSQL has, but the latency sketch is ``index:count``
text, and adding two of them in SQL (split, group, sum, re-join) cost the server 2.9 ms
per batch of 1000 receipts (24 rows, EXPLAIN ANALYZE) against 0.7 ms for the plain
upserts, more than reading the rows and merging them in Python. The merge needs the
previous writer's commit: the rollup lock is held from step 1 to the commit, as it is
for the stored-id look-up (ids reused at another ``timestamp``, which the partitioned
unique key cannot see, ``_partitions.py``) and the order-dependent EMA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outcomes.records import Receipt
from outcomes.store._rollup_rows import EMA_KEY
from outcomes.store._rollups import (
    INFERENCE,
    ROLLUP_EMA,
    UPSERTS,
    Delta,
    add_rows,
    chunks,
    select_keys_sql,
    unique_rows,
    upsert_sql,
)

_COLUMNS = Receipt.__table__.column_names
_ID, _TS = _COLUMNS.index("receipt_id"), _COLUMNS.index("timestamp")
_MODEL, _KIND = _COLUMNS.index("model_id"), _COLUMNS.index("kind")
_COPY = f"COPY receipts ({', '.join(_COLUMNS)}) FROM STDIN"
_INSERT = (
    f"INSERT INTO receipts ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('%s' for _ in _COLUMNS)}) "
    "ON CONFLICT (receipt_id, timestamp) DO NOTHING"
)
COPY_MIN_ROWS = 64
"""Batches of at least this many new receipts are written by ``COPY``; fewer go by
``executemany`` in the pipeline that follows (no round trip of their own)."""

_SEP = "\n"
# One index probe per id and partition. ``= ANY(array)`` reads the same, but on a month
# too new to have statistics the planner picks a sequential scan testing each row
# against the whole array (measured: 3-6x slower at 1000 ids on 50k rows); the lateral
# form cannot. The ids travel as one text split by the server: psycopg's dump of a
# 1000-element list cost 1.4 ms of client CPU per batch, the join nothing.
STORED_IDS = (
    "SELECT i.id FROM unnest({ids}) AS i(id) CROSS JOIN LATERAL "
    "(SELECT 1 FROM receipts AS r WHERE r.receipt_id = i.id LIMIT 1) AS found"
)
_IDS_JOINED = STORED_IDS.format(ids="string_to_array(%s, E'\\n')")
_IDS_ARRAY = STORED_IDS.format(ids="%s::text[]")
_EMA_OF = "SELECT model_id, task, value FROM rollup_ema WHERE model_id = ANY(%s::text[])"
_EMA_UPSERT = upsert_sql(ROLLUP_EMA, EMA_KEY).replace("?", "%s")
_UPSERT = {which: upsert_sql(t, k).replace("?", "%s") for which, (t, k) in UPSERTS.items()}


def send_stored_ids(cur: Any, ids: list[str]) -> None:
    """Send the look-up of which of ``ids`` are stored (read them with ``fetchall``)."""
    joined = _SEP.join(ids)
    if joined.count(_SEP) == len(ids) - 1:
        cur.execute(_IDS_JOINED, [joined])
    else:  # an id holding the separator: the array parameter, slower but exact
        cur.execute(_IDS_ARRAY, [ids])


class _Reads:
    """The stored rollup rows a delta touches, read in a pipeline: sent first,
    collected once the server has answered."""

    def __init__(self, conn: Any, delta: Delta) -> None:
        self.sent: list[tuple[str, int, Any]] = []
        for which, (table, key) in UPSERTS.items():
            for part in chunks(sorted(getattr(delta, which))):
                cur = conn.cursor()
                sql = select_keys_sql(table, key, len(part)).replace("?", "%s")
                cur.execute(sql, [v for k in part for v in k])
                self.sent.append((which, len(key), cur))

    def collect(self) -> dict[str, dict[tuple[Any, ...], Any]]:
        out: dict[str, dict[tuple[Any, ...], Any]] = {which: {} for which in UPSERTS}
        for which, width, cur in self.sent:
            add_rows(out[which], cur.fetchall(), width)
            cur.close()
        return out


def write_receipts(
    cur: Any,
    rows: list[tuple[Any, ...]],
    lock: Callable[[Any], None],
    ensure_partitions: Callable[[Any, list[float]], None],
) -> int:
    """Insert receipt rows (``Receipt.__table__`` order) into the partitioned
    ``receipts`` and fold the new ones into the rollups, in ``cur``'s open transaction
    (steps in the module docstring); returns how many were new. ``lock(cur)`` takes the
    rollup lock, ``ensure_partitions(cur, timestamps)`` creates missing months; both
    only send their statements."""
    conn = cur.connection
    first = unique_rows(rows)
    models = sorted({r[_MODEL] for r in first if r[_KIND] == INFERENCE})
    with conn.pipeline(), conn.cursor() as found, conn.cursor() as stored_ema:
        lock(cur)
        ensure_partitions(cur, [r[_TS] for r in first])
        send_stored_ids(found, [r[_ID] for r in first])
        stored_ema.execute(_EMA_OF, [models])
        delta = Delta.of(first)  # while the server looks the ids up
        reads = _Reads(conn, delta)
        stored = {str(r[0]) for r in found.fetchall()}
        ema = {(str(m), str(t)): float(v) for m, t, v in stored_ema.fetchall()}
        current = reads.collect()
    fresh = [r for r in first if r[_ID] not in stored] if stored else first
    if stored:  # the keys read are a superset of those the new rows touch
        delta = Delta.of(fresh)
    if len(fresh) >= COPY_MIN_ROWS:
        # A writer thread feeds the server while this one merges the rollup rows: with
        # the default writer, the rows wait in psycopg's buffer until the COPY ends.
        with cur.copy(_COPY, writer=_copy_writer(cur)) as copy:
            for row in fresh:
                copy.write_row(row)
            merged = _merged(delta, current, ema)
    else:
        merged = _merged(delta, current, ema)
    with conn.pipeline():
        if 0 < len(fresh) < COPY_MIN_ROWS:
            cur.executemany(_INSERT, fresh)
        for sql, upserts in merged:
            cur.executemany(sql, upserts)
    return len(fresh)


def _copy_writer(cur: Any) -> Any:
    from psycopg.copy import QueuedLibpqWriter

    return QueuedLibpqWriter(cur)


def _merged(
    delta: Delta, current: dict[str, dict[tuple[Any, ...], Any]], ema: dict[tuple[str, str], float]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """(upsert, rows) of every rollup table: ``delta`` added to the ``current`` rows."""
    if not delta:
        return []
    out = [(sql, delta.merged(current[which], which)) for which, sql in _UPSERT.items()]
    out.append((_EMA_UPSERT, delta.ema_rows(ema)))
    return out
